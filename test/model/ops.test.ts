import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/model/backend.js';
import { concatKeepingNothing } from '../../src/model/ops/concat-keeping-nothing.js';
import { conv2d } from '../../src/model/ops/conv2d.js';
import { crossEntropy } from '../../src/model/ops/cross-entropy.js';
import { gatherRows } from '../../src/model/ops/gather-rows.js';
import { linear, matmul2d } from '../../src/model/ops/matmul.js';
import { gelu, l2Normalize } from '../../src/model/ops/nn.js';

before(async () => {
  await selectBackend();
});

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol * (1 + Math.abs(b[i]!)), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

test('matmul2d forward and gradients equal tf.matMul', () => {
  const a = tf.randomNormal([5, 7], 0, 1, 'float32', 1) as tf.Tensor2D;
  const b = tf.randomNormal([7, 3], 0, 1, 'float32', 2) as tf.Tensor2D;
  const ours = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(matmul2d(x as tf.Tensor2D, y as tf.Tensor2D))))([a, b]);
  const stock = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D))))([a, b]);
  close(matmul2d(a, b).dataSync(), tf.matMul(a, b).dataSync(), 1e-5, 'value');
  close(ours[0]!.dataSync(), stock[0]!.dataSync(), 1e-4, 'dA');
  close(ours[1]!.dataSync(), stock[1]!.dataSync(), 1e-4, 'dB');
  // linear = x W^T + b with W in PyTorch [out, in] layout.
  const w = tf.tensor2d([[1, 0], [0, 2], [1, 1]]);
  close(linear(tf.tensor2d([[3, 4]]), w, tf.tensor1d([0, 0, 1])).dataSync(), [3, 8, 8], 0, 'linear');
});

test('gatherRows gradient sums duplicate indices (scatterND, no UnsortedSegmentSum)', () => {
  const table = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
  const idx = tf.tensor2d([[2, 0], [2, 2]], [2, 2], 'int32');
  assert.deepEqual(Array.from(gatherRows(table, idx).dataSync()), [5, 6, 1, 2, 5, 6, 5, 6]);
  const g = tf.grad((t: tf.Tensor) => tf.sum(gatherRows(t, idx)))(table);
  assert.deepEqual(Array.from(g.dataSync()), [1, 1, 0, 0, 3, 3]);
});

test('crossEntropy matches -log softmax, has gradient (softmax - onehot)/N, and is 0 with no rows', () => {
  const logits = tf.tensor2d([[1, 2, 3], [0, 0, 0]]);
  const labels = tf.tensor1d([2, 1], 'int32');
  const lse = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
  close([crossEntropy(logits, labels).dataSync()[0]!], [((lse - 3) + Math.log(3)) / 2], 1e-6, 'ce');
  const g = tf.grad((z: tf.Tensor) => crossEntropy(z as tf.Tensor2D, labels))(logits);
  const sm = tf.softmax(logits).arraySync() as number[][];
  close(g.dataSync(), [sm[0]![0]! / 2, sm[0]![1]! / 2, (sm[0]![2]! - 1) / 2, 1 / 6, (1 / 3 - 1) / 2, 1 / 6], 1e-6, 'grad');
  const empty = crossEntropy(tf.zeros([0, 5]) as tf.Tensor2D, tf.zeros([0], 'int32') as tf.Tensor1D);
  assert.equal(empty.dataSync()[0], 0);
});

test('conv2d (im2col) equals tf.conv2d for 3x3 stride 1 and 2, and 1x1', () => {
  const x = tf.randomNormal([2, 5, 6, 3], 0, 1, 'float32', 3);
  const w = tf.randomNormal([4, 3, 3, 3], 0, 1, 'float32', 4); // PyTorch [out, in, kh, kw]
  const hwio = tf.transpose(w, [2, 3, 1, 0]) as tf.Tensor4D;
  const xp = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]) as tf.Tensor4D;
  close(conv2d(x, w, undefined, 1).dataSync(), tf.conv2d(xp, hwio, 1, 'valid').dataSync(), 1e-4, 'stride 1');
  close(conv2d(x, w, undefined, 2).dataSync(), tf.conv2d(xp, hwio, 2, 'valid').dataSync(), 1e-4, 'stride 2');
  const w1 = tf.randomNormal([4, 3, 1, 1], 0, 1, 'float32', 5);
  close(conv2d(x, w1, undefined).dataSync(), tf.conv2d(x as tf.Tensor4D, tf.transpose(w1, [2, 3, 1, 0]) as tf.Tensor4D, 1, 'valid').dataSync(), 1e-4, '1x1');
});

test('conv2d as a recomputed node (large column matrices) gives the same value and gradients to the bit', () => {
  const x = tf.randomNormal([2, 5, 6, 3], 0, 1, 'float32', 13), w = tf.randomNormal([4, 3, 3, 3], 0, 1, 'float32', 14), bias = tf.randomNormal([4], 0, 1, 'float32', 15);
  for (const stride of [1, 2] as const) {
    const dy = tf.randomNormal([2, Math.ceil(5 / stride), Math.ceil(6 / stride), 4], 0, 1, 'float32', 16);
    const run = (above: number) => tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => conv2d(a, b, c, stride, above))([x, w, bias], dy);
    const kept = run(Infinity), replayed = run(0);
    kept.forEach((g, i) => assert.deepEqual(replayed[i]!.dataSync(), g.dataSync(), `stride ${stride}, gradient ${i}`));
    assert.deepEqual(tf.tidy(() => conv2d(x, w, bias, stride, 0).dataSync()), tf.tidy(() => conv2d(x, w, bias, stride, Infinity).dataSync()));
    tf.dispose([dy, ...kept, ...replayed]);
  }
  tf.dispose([x, w, bias]);
});

test('concatKeepingNothing: tf.concat\'s value and gradients to the bit, without keeping its inputs for the backward pass', () => {
  const parts = [tf.randomNormal([2, 3, 4], 0, 1, 'float32', 6), tf.randomNormal([2, 3, 2], 0, 1, 'float32', 7), tf.randomNormal([2, 3, 5], 0, 1, 'float32', 8)];
  const w = tf.randomNormal([2, 3, 11], 0, 1, 'float32', 9);
  let held = 0; // tensors alive when the backward pass starts (what the tape kept), counted from `base`
  let base = 0;
  const probe = tf.customGrad((...args: unknown[]) => {
    const [t] = args as [tf.Tensor];
    return { value: tf.add(t, 0), gradFunc: (dy) => { held = tf.memory().numTensors - base; return [tf.add(dy as tf.Tensor, 0)]; } };
  });
  // The parts are made inside f (as conv2d's shifted copies are), so only the tape could keep them.
  const f = (cat: (xs: tf.Tensor[], axis: number) => tf.Tensor) => (...xs: tf.Tensor[]) => tf.sum(probe(tf.mul(cat(xs.map((x) => tf.mul(x, 2)), 2), w)));
  const run = (cat: (xs: tf.Tensor[], axis: number) => tf.Tensor) => {
    base = tf.memory().numTensors;
    return { grads: tf.grads(f(cat))(parts), held };
  };
  const stock = run((xs, axis) => tf.concat(xs, axis)), ours = run(concatKeepingNothing);
  parts.forEach((_, i) => assert.deepEqual(ours.grads[i]!.dataSync(), stock.grads[i]!.dataSync(), `gradient ${i}`));
  assert.equal(ours.held, stock.held - parts.length, 'the three parts are not kept');
  assert.deepEqual(tf.tidy(() => concatKeepingNothing(parts, 2).dataSync()), tf.tidy(() => tf.concat(parts, 2).dataSync()));
  tf.dispose([...parts, w, ...stock.grads, ...ours.grads]);
});

test('l2Normalize gives unit rows and a finite gradient on an all-zero row', () => {
  const x = tf.tensor2d([[3, 4], [0, 0]]);
  close(l2Normalize(x).dataSync(), [0.6, 0.8, 0, 0], 1e-6, 'value');
  const g = tf.grad((t: tf.Tensor) => tf.sum(l2Normalize(t)))(x);
  assert.ok(Array.from(g.dataSync()).every(Number.isFinite));
});

test('linear\'s backward pass leaves no packed copy of the weight on the wasm heap (XNNPACK caches one per right-hand operand)', () => {
  // A fresh process, so the heap's high-water mark is this test's: 24 weights of 16 MB, each
  // through one linear backward. Packed copies kept alive with the weights would add 384 MB.
  const matmul = new URL('../../src/model/ops/matmul.js', import.meta.url).href;
  const backend = new URL('../../src/model/backend.js', import.meta.url).href;
  const script = `
    import * as tf from '@tensorflow/tfjs';
    const { chooseBackend } = await import(${JSON.stringify(backend)});
    const { linear } = await import(${JSON.stringify(matmul)});
    await chooseBackend('wasm');
    const heap = () => tf.backend().wasm.HEAPU8.byteLength / 2 ** 20;
    const ws = Array.from({ length: 24 }, (_, i) => tf.variable(tf.randomNormal([2048, 2048], 0, 1, 'float32', i)));
    const x = tf.randomNormal([64, 2048], 0, 1, 'float32', 99);
    const before = heap();
    for (const w of ws) tf.dispose(tf.grads((a, b) => tf.sum(linear(a, b)))([x, w]));
    console.log(JSON.stringify({ grewMB: heap() - before }));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: new URL('../../..', import.meta.url).pathname });
  assert.equal(child.status, 0, child.stderr);
  const { grewMB } = JSON.parse(child.stdout.trim().split('\n').pop()!) as { grewMB: number };
  assert.ok(grewMB < 128, `the heap grew ${grewMB} MB over 24 linear backward passes (384 MB would mean a packed copy per weight)`);
});

test('gelu: the plain erf composition\'s value and gradient to the bit, whole and in row chunks (a 36 MB input)', () => {
  const plain = (t: tf.Tensor) => tf.mul(tf.mul(t, 0.5), tf.add(tf.erf(tf.mul(t, Math.SQRT1_2)), 1));
  for (const shape of [[3, 5, 8], [2, 1100, 4096]]) {
    const x = tf.randomNormal(shape, 0, 2, 'float32', 17), w = tf.randomNormal(shape, 0, 1, 'float32', 18);
    // x is read by the GELU only, as after a linear layer.
    const f = (g: (t: tf.Tensor) => tf.Tensor) => (a: tf.Tensor) => tf.sum(tf.mul(g(tf.mul(a, 1.5)), w));
    const [want] = tf.grads(f(plain))([x]), [got] = tf.grads(f(gelu))([x]);
    assert.ok(tf.tidy(() => tf.all(tf.equal(got!, want!)).dataSync()[0] === 1), `gradient, shape ${shape}`);
    assert.ok(tf.tidy(() => tf.all(tf.equal(gelu(x), plain(x))).dataSync()[0] === 1), `value, shape ${shape}`);
    tf.dispose([x, w, want!, got!]);
  }
});
