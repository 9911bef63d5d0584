/** Poll until `check` returns a value (not undefined), or throw after timeoutMs. */
export async function pollUntil<T>(check: () => Promise<T | undefined>, opts: { intervalMs: number; timeoutMs: number; what: string; signal?: AbortSignal }): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (opts.signal?.aborted) throw new Error(`${opts.what}: aborted`);
    if (Date.now() > deadline) throw new Error(`${opts.what}: timed out after ${opts.timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, opts.intervalMs));
  }
}
