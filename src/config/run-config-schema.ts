import { z } from 'zod';
import { MODEL_PRESET_NAMES } from '../model/model-config.js';
import { RECOMPUTE_MODES } from '../model/ops/block-call.js';
import { tokenizerLocationProblem } from './tokenizer-location.js';

/**
 * The run config's one source of truth: field types, ranges and descriptions. Types are inferred
 * from it (run-config.ts), docs/config.md is generated from it, and every field is required here
 * because defaults come from presets (presets.ts), never from scattered `?? x` in the code.
 */

const posInt = () => z.number().int().positive();
const nonNegInt = () => z.number().int().nonnegative();
const positive = () => z.number().positive();
const fraction = () => z.number().min(0).max(1);


export const modelSchema = z.strictObject({
  preset: z.enum(MODEL_PRESET_NAMES).describe('Model size preset the other model fields start from'),
  imageEmbedDim: posInt().describe('Swin patch-embedding width C; stage i has C*2^i channels'),
  imageDepths: z.tuple([posInt(), posInt(), posInt(), posInt()]).describe('Swin blocks per stage'),
  imageHeads: z.tuple([posInt(), posInt(), posInt(), posInt()]).describe('Swin attention heads per stage'),
  imageSize: posInt().multipleOf(32).describe('Square image side in pixels of the coarse stage (reference: 384, bicubic, no augmentation); it sets the Swin window (imageSize/32) of both stages. Fine images keep their aspect (data.fine.minSizes, maxSize)'),
  mlpRatio: positive().describe('Swin MLP hidden width as a multiple of C'),
  textHidden: posInt().describe('RoBERTa hidden size'),
  textLayers: posInt().describe('RoBERTa layers'),
  textHeads: posInt().describe('RoBERTa attention heads'),
  textIntermediate: posInt().describe('RoBERTa feed-forward width'),
  vocabSize: posInt().describe('Vocabulary size (RoBERTa byte-level BPE: 50265)'),
  maxPositions: posInt().describe('Learned text positions including RoBERTa\'s padding offset of 2'),
  numFusionLayers: z.number().int().min(2).describe('Fused layer pairs: the top k-2 Swin stage-3 blocks and both stage-4 blocks, with the top k text layers'),
  crossHidden: posInt().describe('Width of the ITC and fusion projections and poolers'),
  fpnChannels: posInt().describe('FPN and detection-head channels (fine stage)'),
  fineTowerDepth: posInt().describe('DyConv layers in the fine head\'s DyHead tower (reference: 6)'),
  fineAnchorStrides: positive().describe('Side of the fine head\'s anchors in strides of their FPN level (reference RPN.ANCHOR_SIZES / ANCHOR_STRIDE: 8, i.e. 64 px on P3 up to 1024 px on P7)'),
  dropout: z.number().min(0).lt(1).describe('Dropout on text hidden states and attention probabilities'),
  dropPath: z.number().min(0).lt(1).describe('Swin stochastic-depth rate'),
  recompute: z.enum(RECOMPUTE_MODES).describe('Activation recomputation: none keeps every activation for the backward pass; blocks keeps only each Swin block\'s and RoBERTa layer\'s inputs and recomputes its forward in the backward pass (same gradients to the bit, about a third more compute, a fraction of the memory)'),
});

const shardsSchema = z.array(z.string().min(1)).describe('Webdataset shard URLs (s3://, file://, http(s)://) with brace expansion, e.g. s3://bucket/cc3m/{000000..000331}.tar');
const weightsSchema = z.array(positive()).describe('Sampling weight per entry of shards (empty: proportional to size)');
const sampleChunkSchema = posInt().optional().describe('Neighbouring samples the epoch shuffle keeps together (absent or 1: every sample shuffled on its own). A task of n samples then reads about n / sampleChunk ranged GETs instead of n (fiber-base coarse at 16: 4 GETs per 64-sample task). Changes the data order, so set it before a run starts');

export const coarseDataSchema = z.strictObject({
  shards: shardsSchema,
  weights: weightsSchema,
  maxTextLen: posInt().describe('Tokens per caption including <s> and </s> (reference: 40)'),
  mlmProbability: z.number().gt(0).lt(1).describe('Share of non-special tokens masked for MLM (80% <mask>, 10% random, 10% kept)'),
  sampleChunk: sampleChunkSchema,
});

export const fineDataSchema = z.strictObject({
  shards: shardsSchema,
  weights: weightsSchema,
  minSizes: z.array(posInt()).min(1).describe('Shorter-side sizes sampled per image (multi-scale training; reference 480-800); evaluation uses the largest'),
  maxSize: posInt().describe('Cap on the longer side in pixels (reference 1333); batches pad to their largest image, rounded up to 32'),
  maxTextLen: posInt().describe('Tokens per query (reference: 256)'),
  flipProbability: fraction().describe('Horizontal flip probability; flips boxes and swaps left/right in the caption'),
  sampleChunk: sampleChunkSchema,
});

// One key for the whole run, not per stage: the fine stage starts from the coarse weights, whose
// embedding rows mean the coarse stage's token ids.
export const tokenizerSchema = z.string().superRefine((value, ctx) => {
  const problem = tokenizerLocationProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
}).describe('Tokenizer of both stages: "default" (GPT-2 BPE with RoBERTa\'s special ids; only for models trained from scratch) or a folder/URL (local path, file://, s3://, http(s)://) holding a Hugging Face tokenizer.json, or vocab.json + merges.txt (e.g. roberta-base\'s, to start from pretrained RoBERTa)');

export const batchSchema = z.strictObject({
  globalBatch: posInt().describe('Samples per optimizer step, whatever the number of workers'),
  microBatch: posInt().describe('Samples per forward/backward pass; gradients accumulate over micro-batches'),
  tasksPerStep: posInt().describe('Gradient tasks a step is split into (T); the unit of work a worker takes'),
  staleness: nonNegInt().describe('Bounded staleness: step v may be computed on parameters up to this many versions old (0: synchronous, exact)'),
});

export const optimizerSchema = z.strictObject({
  lr: positive().describe('Base learning rate (backbones)'),
  betas: z.tuple([fraction(), fraction()]).describe('AdamW betas'),
  eps: positive().describe('AdamW epsilon'),
  weightDecay: z.number().min(0).describe('Decoupled weight decay; never applied to biases, norms, gates or the temperature'),
  lrMultFusion: positive().describe('LR multiplier for fusion modules (cross-attention and gates)'),
  lrMultHead: positive().describe('LR multiplier for the heads'),
  lrMultText: positive().describe('LR multiplier for the text backbone (fine stage reference: 0.1)'),
  lrMultBias: positive().describe('LR multiplier for biases (fine stage reference: 2)'),
  schedule: z.enum(['linear', 'multistep', 'cosine', 'constant']).describe('Decay after warmup: linear to 0, steps at milestones, cosine to 0, or constant'),
  totalSteps: posInt().describe('Optimizer steps in the stage'),
  warmupSteps: nonNegInt().nullable().describe('Linear warmup length in steps (null: use warmupFraction)'),
  warmupFraction: fraction().describe('Warmup length as a share of totalSteps, used when warmupSteps is null'),
  warmupStartFactor: fraction().describe('LR factor at step 0 of the warmup'),
  milestones: z.array(z.number().gt(0).lt(1)).describe('multistep: fractions of totalSteps where the LR is multiplied by gamma'),
  gamma: z.number().gt(0).max(1).describe('multistep: LR factor at each milestone'),
  gradClipNorm: z.number().min(0).describe('Global gradient-norm clipping threshold (0: off)'),
});

export const checkpointSchema = z.strictObject({
  uri: z.string().min(1).describe('Prefix for checkpoints (s3://bucket/prefix, file:///path or a local path); the run name is appended'),
  everySteps: posInt().describe('Write a checkpoint every K steps (and at the end of each stage)'),
  keepLast: posInt().describe('Checkpoints kept per stage; older ones are deleted after a newer one is complete'),
});

export const evalSchema = z.strictObject({
  everySteps: nonNegInt().describe('Evaluate each checkpoint whose step is a multiple of this, and the final one, on the held-out shards (0: never); a worker runs it beside training'),
  coarseShards: z.array(z.string().min(1)).describe('Held-out coarse shards for zero-shot retrieval (R@1/5/10) of coarse checkpoints'),
  fineShards: z.array(z.string().min(1)).describe('Held-out grounding shards for phrase-grounding accuracy@0.5 of fine checkpoints'),
  limit: posInt().describe('Samples evaluated per evaluation (the first ones of the shards)'),
});

export const runConfigSchema = z.strictObject({
  preset: z.enum(MODEL_PRESET_NAMES).describe('Run preset the defaults came from'),
  seed: nonNegInt().describe('Seeds parameter init, sample order, augmentation, masking, negatives and dropout'),
  model: modelSchema,
  data: z.strictObject({ tokenizer: tokenizerSchema, coarse: coarseDataSchema, fine: fineDataSchema }),
  batch: z.strictObject({ coarse: batchSchema, fine: batchSchema }),
  optimizer: z.strictObject({ coarse: optimizerSchema, fine: optimizerSchema }),
  checkpoint: checkpointSchema,
  eval: evalSchema,
});
