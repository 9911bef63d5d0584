import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/model/backend.js';
import { FiberModel } from '../../src/model/fiber-model.js';
import { encode } from '../../src/model/fiber-encoder.js';
import { DropoutContext } from '../../src/model/ops/nn.js';
import { makeCoarseBatch, TINY } from './fixtures.js';
await selectBackend();
const model = FiberModel.init(TINY, 'coarse', 0);
const batch = makeCoarseBatch(TINY, 4, 8, 1);
const px = tf.tensor4d(batch.pixelValues, [4, 3, 64, 64]);
const ids = tf.tensor2d(batch.inputIds, [4, 8], 'int32');
const mask = tf.tensor2d(batch.attentionMask, [4, 8], 'int32');
for (const mode of ['image', 'text', 'fusion'] as const) {
  for (let r = 0; r < 3; r++) {
    const t = performance.now();
    const prof = await tf.profile(() => tf.tidy(() => { const o = encode(TINY, model.params, { pixelValues: px, inputIds: ids, attentionMask: mask }, mode, new DropoutContext(false, 0)); (o.imageTokens ?? o.textTokens)!.dataSync(); }));
    if (r === 2) {
      const byName = new Map<string, number>();
      for (const k of prof.kernels) byName.set(k.name, (byName.get(k.name) ?? 0) + (k.kernelTimeMs as number));
      console.log(mode, (performance.now() - t).toFixed(1), 'ms', prof.kernels.length, 'kernels', [...byName].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([n, v]) => `${n}:${v.toFixed(1)}`).join(' '));
    }
  }
}
