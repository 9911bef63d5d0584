;; AdamW on wasm SIMD (f64x2), the same arithmetic as adamwUpdate in adamw.ts, bit for bit:
;; float32 in, IEEE float64 maths in the same order (wasm never fuses a multiply-add), each
;; result rounded to float32 where the JS version stores it. Two elements per iteration; an odd
;; last element on scalars. Pointers are byte offsets into the module's own memory, where the
;; caller copies one block of each array at a time (adamw-simd.ts).
;;
;; After an edit: npm run wasm:adamw (writes adamw-simd-wasm.ts; a test checks the two agree).
(module
  (memory (export "memory") 4)
  (func (export "adamw")
    (param $p i32) (param $m i32) (param $v i32) (param $g i32) (param $n i32)
    (param $scale f64) (param $b1 f64) (param $b2 f64) (param $c1 f64) (param $c2 f64)
    (param $decay f64) (param $step f64) (param $sbc2 f64) (param $eps f64)
    (local $i i32) (local $end i32)
    (local $G v128) (local $M v128) (local $V v128)
    (local $S v128) (local $B1 v128) (local $B2 v128) (local $C1 v128) (local $C2 v128)
    (local $D v128) (local $ST v128) (local $SB v128) (local $E v128)
    (local $gs f64) (local $ms f64) (local $vs f64)
    (local.set $S (f64x2.splat (local.get $scale)))
    (local.set $B1 (f64x2.splat (local.get $b1)))
    (local.set $B2 (f64x2.splat (local.get $b2)))
    (local.set $C1 (f64x2.splat (local.get $c1)))
    (local.set $C2 (f64x2.splat (local.get $c2)))
    (local.set $D (f64x2.splat (local.get $decay)))
    (local.set $ST (f64x2.splat (local.get $step)))
    (local.set $SB (f64x2.splat (local.get $sbc2)))
    (local.set $E (f64x2.splat (local.get $eps)))
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -2)) (i32.const 2)))
    (block $done
      (loop $pairs
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $G (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $g) (local.get $i)))) (local.get $S)))
        (local.set $M (f32x4.demote_f64x2_zero (f64x2.add
          (f64x2.mul (local.get $B1) (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $m) (local.get $i)))))
          (f64x2.mul (local.get $C1) (local.get $G)))))
        (local.set $V (f32x4.demote_f64x2_zero (f64x2.add
          (f64x2.mul (local.get $B2) (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $v) (local.get $i)))))
          (f64x2.mul (f64x2.mul (local.get $C2) (local.get $G)) (local.get $G)))))
        (v128.store64_lane 0 (i32.add (local.get $m) (local.get $i)) (local.get $M))
        (v128.store64_lane 0 (i32.add (local.get $v) (local.get $i)) (local.get $V))
        (local.set $M (f64x2.promote_low_f32x4 (local.get $M)))
        (local.set $V (f64x2.promote_low_f32x4 (local.get $V)))
        (v128.store64_lane 0 (i32.add (local.get $p) (local.get $i)) (f32x4.demote_f64x2_zero (f64x2.sub
          (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $p) (local.get $i)))) (local.get $D))
          (f64x2.div (f64x2.mul (local.get $ST) (local.get $M))
            (f64x2.add (f64x2.div (f64x2.sqrt (local.get $V)) (local.get $SB)) (local.get $E))))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $pairs)))
    ;; An odd last element: the same arithmetic on scalars.
    (if (i32.and (local.get $n) (i32.const 1))
      (then
        (local.set $gs (f64.mul (f64.promote_f32 (f32.load (i32.add (local.get $g) (local.get $i)))) (local.get $scale)))
        (local.set $ms (f64.promote_f32 (f32.demote_f64 (f64.add
          (f64.mul (local.get $b1) (f64.promote_f32 (f32.load (i32.add (local.get $m) (local.get $i)))))
          (f64.mul (local.get $c1) (local.get $gs))))))
        (local.set $vs (f64.promote_f32 (f32.demote_f64 (f64.add
          (f64.mul (local.get $b2) (f64.promote_f32 (f32.load (i32.add (local.get $v) (local.get $i)))))
          (f64.mul (f64.mul (local.get $c2) (local.get $gs)) (local.get $gs))))))
        (f32.store (i32.add (local.get $m) (local.get $i)) (f32.demote_f64 (local.get $ms)))
        (f32.store (i32.add (local.get $v) (local.get $i)) (f32.demote_f64 (local.get $vs)))
        (f32.store (i32.add (local.get $p) (local.get $i)) (f32.demote_f64 (f64.sub
          (f64.mul (f64.promote_f32 (f32.load (i32.add (local.get $p) (local.get $i)))) (local.get $decay))
          (f64.div (f64.mul (local.get $step) (local.get $ms))
            (f64.add (f64.div (f64.sqrt (local.get $vs)) (local.get $sbc2)) (local.get $eps)))))))))
)
