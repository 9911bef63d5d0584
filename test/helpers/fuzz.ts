/** Seeded fuzzing helpers: the same seed gives the same cases on every machine and every run. */

/** mulberry32: a small, fast, seedable PRNG in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A copy of `bytes` damaged one of several ways: random bytes overwritten, a cut, a slice
 * duplicated, or a run of digits turned into a huge number (lengths and offsets in text formats).
 */
export function mutate(bytes: Uint8Array, rnd: () => number): Buffer {
  const b = Buffer.from(bytes);
  const at = Math.floor(rnd() * b.length);
  switch (Math.floor(rnd() * 4)) {
    case 0:
      for (let k = 1 + Math.floor(rnd() * 8); k > 0; k--) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      return b;
    case 1:
      return b.subarray(0, at);
    case 2:
      return Buffer.concat([b.subarray(0, at), b.subarray(Math.floor(rnd() * b.length)), b.subarray(at)]);
    default: {
      const text = b.toString('latin1');
      const digits = [...text.matchAll(/\d+/g)];
      if (digits.length === 0) return b;
      const m = digits[Math.floor(rnd() * digits.length)]!;
      const big = ['99999999999', '-1', '0', '4294967296', '1e308'][Math.floor(rnd() * 5)]!;
      return Buffer.from(text.slice(0, m.index) + big + text.slice(m.index! + m[0].length), 'latin1');
    }
  }
}

/** `p`, or a rejection naming the case when it does not settle in `ms` (a hang is a failure). */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<T>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms (hang)`)), ms); })]).finally(() => clearTimeout(timer));
}
