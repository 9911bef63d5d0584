/** What `fiber demo` was asked to do, validated at the CLI boundary. */
export interface DemoOptions {
  /** Gradient workers started as children. */
  readonly workers: number;
  /** Parameter-server shards started as children. */
  readonly shards: number;
  /** Optimizer steps of the coarse stage. */
  readonly coarseSteps: number;
  /** Optimizer steps of the fine stage. */
  readonly fineSteps: number;
  /** A packed dataset (the `--out` of `fiber data pack` or `fiber data synth`) instead of the generated one. */
  readonly data?: string;
  /** Folder for the data, checkpoints, logs and report. */
  readonly out: string;
  readonly seed: number;
  /** Images generated for training (ignored with `data`). */
  readonly trainImages: number;
  /** Held-out images generated for evaluation (ignored with `data`). */
  readonly evalImages: number;
  /** `--chaos`: SIGKILL a random worker or shard (not ps-0) every `everySeconds`, seeded. */
  readonly chaos?: { readonly everySeconds: number; readonly seed: number };
}

/** Sized so that both stages finish in a few minutes on 2 cores (BENCHMARKS.md, "fiber demo"). */
export const DEMO_DEFAULTS = {
  workers: 2, shards: 2, coarseSteps: 80, fineSteps: 90, out: './fiber-demo', seed: 0, trainImages: 512, evalImages: 64,
} as const;
