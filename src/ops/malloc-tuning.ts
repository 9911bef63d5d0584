/**
 * glibc malloc settings for fiber's service processes (`fiber ps`, `fiber worker`), read by glibc
 * at process start, so they are set where processes are started: the Dockerfiles' ENV, the
 * demo's children, bench/ps.
 *
 * Why: every socket read allocates a fresh 64 KB buffer. A 64 MB push is 1,024 of them, and they
 * are freed in batches by V8's GC. With glibc's default trim threshold, the heap top is then
 * handed back to the OS. So the next push faults every page in again: 16,000 page faults and
 * ~250 ms of kernel time for 64 MB, measured on a shard (BENCHMARKS.md, bench/ps's baseline
 * row). Keeping up to 256 MB of freed heap, and growing it in steps of as much, makes the reads
 * reuse warm pages. The cost is at most 256 MB of address space a process does not return.
 */
export const MALLOC_TUNING: Readonly<Record<string, string>> = {
  MALLOC_TRIM_THRESHOLD_: String(256 << 20),
  MALLOC_TOP_PAD_: String(256 << 20),
};

/** `env` with the malloc settings added, leaving any the user set alone. */
export function withMallocTuning(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...MALLOC_TUNING, ...env };
}

/** The settings missing from `env` where they matter (glibc, i.e. Linux); [] elsewhere. */
export function missingMallocTuning(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): string[] {
  if (platform !== 'linux') return [];
  return Object.keys(MALLOC_TUNING).filter((k) => env[k] === undefined);
}
