/**
 * The model's public surface, for the parameter server, the worker and the data layer.
 * Importing this loads TensorFlow.js (lazy-import it from CLI code).
 */
export { selectBackend, chooseBackend, BACKEND_NAMES, type BackendChoice, type BackendName } from './backend.js';
export { MODEL_PRESETS, MODEL_PRESET_NAMES, type FiberModelConfig, type ModelPresetName } from './model-config.js';
export { paramSpecs, countParams, numel, type ParamSpec, type ParamGroup, type ParamComponent, type Stage } from './param-spec.js';
export { initParams, ROBERTA_PAD_ID } from './init-params.js';
export { FiberModel, checkWeights } from './fiber-model.js';
export { lossAndGrads, type LossAndGrads } from './loss-and-grads.js';
export { MLM_IGNORE, ROBERTA_SPECIAL_IDS, isFineBatch, batchShapeProblems, type CoarseBatch, type FineBatch, type ModelBatch } from './batch.js';
export { readSafetensors, writeSafetensors, type SafeTensor, type SafeDtype, type SafeData } from './safetensors.js';
export { exportWeights, importWeights } from './weight-io.js';
export { importPretrained, type PretrainedSource, type PretrainedImport } from './import-pretrained.js';
export { timmSwinStateDictKeys, type TimmSwinLayout } from './timm-swin-keys.js';
export { hfRobertaStateDictKeys, type HfRobertaModel } from './hf-roberta-keys.js';
export type { StateDictKey } from './state-dict-key.js';
export { forwardOutputs } from './forward-outputs.js';
export { encode, type EncoderMode } from './fiber-encoder.js';
export { modelLayout, type ModelLayout, type FusedPair } from './fusion-layout.js';
