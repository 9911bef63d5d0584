import type { OptimizerConfig } from '../config/index.js';
import { warmupSteps } from '../config/index.js';

/**
 * LR factor (multiplies optimizer.lr) for the update that turns version `step` into `step + 1`.
 * Pure. Matches the reference schedules:
 *  - coarse: HF get_polynomial_decay_schedule_with_warmup(power 1, end 0): step/W during warmup,
 *    then linear from 1 to 0 at totalSteps (reference §2.3);
 *  - fine: maskrcnn WarmupMultiStepLR: linear warmup from warmupStartFactor to 1 over W steps, then
 *    x gamma at each milestone * totalSteps (reference §3.4);
 *  - cosine: half-cosine from 1 to 0 after warmup; constant: 1 after warmup.
 */
export function lrFactor(step: number, opt: OptimizerConfig): number {
  const warm = warmupSteps(opt);
  const total = opt.totalSteps;
  if (step < warm) {
    const progress = step / warm;
    return opt.warmupStartFactor + (1 - opt.warmupStartFactor) * progress;
  }
  switch (opt.schedule) {
    case 'constant':
      return 1;
    case 'linear':
      return total > warm ? Math.max(0, (total - step) / (total - warm)) : 0;
    case 'cosine': {
      const progress = total > warm ? Math.min(1, (step - warm) / (total - warm)) : 1;
      return 0.5 * (1 + Math.cos(Math.PI * progress));
    }
    case 'multistep': {
      const passed = opt.milestones.filter((m) => step >= Math.floor(m * total)).length;
      return opt.gamma ** passed;
    }
  }
}
