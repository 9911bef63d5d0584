import * as tf from '@tensorflow/tfjs';
import type { CoarseBatch } from './batch.js';
import { MLM_IGNORE } from './batch.js';
import { fusionFeatures, itcImageFeature, itcTemperature, itcTextFeature, itmLogits, mlmLogits } from './coarse-heads.js';
import { encode, encodeImagePrefix, encodeTextPrefix, type ImagePrefix } from './fiber-encoder.js';
import type { FiberModelConfig } from './model-config.js';
import { crossEntropy } from './ops/cross-entropy.js';
import { gatherRows } from './ops/gather-rows.js';
import { matmul2d } from './ops/matmul.js';
import type { GradSink } from './ops/grad-sink.js';
import { DropoutContext } from './ops/nn.js';
import { stopGradient } from './ops/stop-gradient.js';
import { TEXT_PREFIX } from './param-spec.js';
import { param, type ParamTensors } from './params.js';
import { deriveSeed, SeededRng } from './seeded-rng.js';

/*
 * Coarse objectives (reference §2.1): loss = ITC + ITM + MLM, equal weights.
 * Letters: B batch, L text length, S image side, Hc crossHidden, V vocabulary.
 */

export interface CoarseLosses {
  readonly itc: tf.Scalar;
  readonly itm: tf.Scalar;
  readonly mlm: tf.Scalar;
  readonly total: tf.Scalar;
}

/** Rows `index` [n] of a batch-major tensor [B, ...] -> [n, ...], with the wasm-safe gather gradient. */
function gatherBatch(t: tf.Tensor, index: tf.Tensor1D): tf.Tensor {
  const rest = t.shape.slice(1);
  return gatherRows(t.reshape([t.shape[0]!, -1]), index).reshape([index.shape[0], ...rest]);
}

/** Tensors of a CoarseBatch. */
export function coarseBatchTensors(batch: CoarseBatch): { pixels: tf.Tensor; ids: tf.Tensor; mask: tf.Tensor; mlmIds: tf.Tensor } {
  const b = batch.numSamples, s = batch.imageSize, l = batch.textLength;
  return {
    pixels: tf.tensor4d(batch.pixelValues, [b, 3, s, s]),
    ids: tf.tensor2d(batch.inputIds, [b, l], 'int32'),
    mask: tf.tensor2d(batch.attentionMask, [b, l], 'int32'),
    mlmIds: tf.tensor2d(batch.mlmInputIds, [b, l], 'int32'),
  };
}

/**
 * For each row of `sim` [B, B] (as data), draws one column other than the diagonal with
 * probability softmax(row) (ALBEF/FIBER hard negatives: diagonal weight 0). Pure given the rng.
 */
export function sampleHardNegatives(sim: Float32Array, b: number, rng: SeededRng): Int32Array {
  const out = new Int32Array(b);
  for (let i = 0; i < b; i++) {
    const row = sim.subarray(i * b, (i + 1) * b);
    let max = -Infinity;
    for (let j = 0; j < b; j++) if (j !== i && row[j]! > max) max = row[j]!;
    const w = new Float64Array(b);
    for (let j = 0; j < b; j++) w[j] = j === i ? 0 : Math.exp(row[j]! - max) + 1e-9;
    out[i] = rng.categorical(w);
  }
  return out;
}

/**
 * The three coarse losses for one micro-batch; randomness (dropout, ITM negatives) comes only
 * from `seed`. Differences from the reference, on purpose (docs/model.md): ITC uses in-batch
 * negatives only (no 4096-entry feature queue, which is cross-step state), and ITM negatives
 * are drawn from the micro-batch. With B = 1 there is no negative: ITM is then computed on the
 * positive pair alone.
 */
export function coarseLosses(config: FiberModelConfig, params: ParamTensors, batch: CoarseBatch, seed: number, training: boolean, gradSink?: GradSink): CoarseLosses {
  const b = batch.numSamples;
  const drop = new DropoutContext(training, deriveSeed(seed, 'dropout'), gradSink);
  const { pixels, ids, mask, mlmIds } = coarseBatchTensors(batch);
  // One lookup for the clean and the corrupted ids: the word-embedding gradient (a dense
  // [V, T] scatter) is then built once per step instead of once per text pass.
  const wordTable = param(params, `${TEXT_PREFIX}embeddings.word_embeddings.weight`);
  const [words, mlmWords] = tf.split(gatherRows(wordTable, tf.concat([ids, mlmIds], 0)), 2, 0) as [tf.Tensor, tf.Tensor]; // [B, L, T] each

  // Image stages before fusion never see text, and text layers before fusion never see the
  // image: compute each prefix once and reuse it in the ITC, ITM and MLM passes (the reference
  // recomputes them, 5 image passes per sample). Dropout masks in the prefixes are then shared.
  const imgPre = encodeImagePrefix(config, params, pixels, drop);
  const txtPre = encodeTextPrefix(config, params, ids, mask, drop, words);

  // ITC on the dual encoder.
  const imageOnly = encode(config, params, { imagePrefix: imgPre }, 'image', drop);
  const textOnly = encode(config, params, { textPrefix: txtPre, attentionMask: mask }, 'text', drop);
  const fi = itcImageFeature(params, imageOnly.imageTokens!); // [B, Hc]
  const ft = itcTextFeature(params, textOnly.textTokens!, mask); // [B, Hc]
  const temp = itcTemperature(params);
  // As the reference (objectives.py compute_itc, from ALBEF): each direction scores its own side
  // against a detached copy of the other, so image->text moves only the image features and
  // text->image only the text features; the temperature gets both directions' gradient.
  const simI2T = tf.div(matmul2d(fi as tf.Tensor2D, tf.transpose(stopGradient(ft)) as tf.Tensor2D), temp) as tf.Tensor2D; // [B, B]
  const simT2I = tf.div(matmul2d(ft as tf.Tensor2D, tf.transpose(stopGradient(fi)) as tf.Tensor2D), temp) as tf.Tensor2D; // [B, B]
  const diag = tf.range(0, b, 1, 'int32') as tf.Tensor1D;
  const itc = tf.div(tf.add(crossEntropy(simI2T, diag), crossEntropy(simT2I, diag)), 2) as tf.Scalar;

  // ITM: [img, img, img_neg] x [txt, txt_neg, txt], labels [1]*B + [0]*2B.
  let itmImage: ImagePrefix = imgPre, itmText = txtPre, itmMask = mask;
  let labels = new Int32Array(b).fill(1);
  if (b > 1) {
    const rng = new SeededRng(deriveSeed(seed, 'itm'));
    const negText = sampleHardNegatives(simI2T.dataSync() as Float32Array, b, rng); // for image i, a hard text
    const negImage = sampleHardNegatives(simT2I.dataSync() as Float32Array, b, rng); // for text i, a hard image
    const nt = tf.tensor1d(negText, 'int32'), ni = tf.tensor1d(negImage, 'int32');
    itmImage = { tokens: tf.concat([imgPre.tokens, imgPre.tokens, gatherBatch(imgPre.tokens, ni)], 0), stageMaps: [] };
    itmText = tf.concat([txtPre, gatherBatch(txtPre, nt), txtPre], 0);
    itmMask = tf.concat([mask, tf.gather(mask, nt), mask], 0);
    labels = new Int32Array(3 * b);
    labels.fill(1, 0, b);
  }
  const fusedItm = encode(config, params, { imagePrefix: itmImage, textPrefix: itmText, attentionMask: itmMask }, 'fusion', drop);
  const itmCls = fusionFeatures(params, fusedItm.imageTokens!, fusedItm.textTokens!).clsFeats;
  const itm = crossEntropy(itmLogits(params, itmCls) as tf.Tensor2D, tf.tensor1d(labels, 'int32'));

  // MLM on the fusion path with the paired image, logits at masked positions only.
  const positions: number[] = [];
  const targets: number[] = [];
  batch.mlmLabels.forEach((label, i) => {
    if (label !== MLM_IGNORE) {
      positions.push(i);
      targets.push(label);
    }
  });
  let mlm: tf.Scalar;
  if (positions.length === 0) {
    // Nothing masked: contributes exactly 0 (the reference's CE would be 0/0 = NaN, §6).
    mlm = tf.scalar(0);
  } else {
    const fusedMlm = encode(config, params, { imagePrefix: imgPre, inputIds: mlmIds, attentionMask: mask, wordEmbeds: mlmWords }, 'fusion', drop);
    const { textFeats } = fusionFeatures(params, fusedMlm.imageTokens!, fusedMlm.textTokens!);
    const logits = mlmLogits(params, textFeats, Int32Array.from(positions)) as tf.Tensor2D;
    mlm = crossEntropy(logits, tf.tensor1d(Int32Array.from(targets), 'int32'));
  }
  const total = tf.addN([itc, itm, mlm]) as tf.Scalar;
  return { itc, itm, mlm, total };
}
