/**
 * Seeded randomness for the data path. Every random choice (shuffle, flip, scale, MLM mask,
 * negative categories) is drawn from a generator seeded by a hash of integers such as
 * (seed, step, slot, sample), so a retried task on another machine draws the same numbers.
 */

/** 32-bit avalanche mix (murmur3 finalizer): a cheap, well-spread integer hash. */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash a tuple of integers (each taken modulo 2^32 in two halves, so large steps are safe). */
export function hashInts(...values: number[]): number {
  let h = 0x9e3779b9;
  for (const v of values) {
    const lo = v >>> 0;
    const hi = Math.floor(v / 4294967296) >>> 0;
    h = mix32(h ^ lo) + 0x632be5ab;
    h = mix32(h ^ hi);
  }
  return h >>> 0;
}

/** Hash a string (FNV-1a then mixed), e.g. a dataset name or sample key. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

/** A small seeded generator (mulberry32): uniform floats in [0, 1) and integers in [0, n). */
export interface Rng {
  next(): number;
  int(n: number): number;
}

export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n) };
}
