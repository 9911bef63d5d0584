export * from './run-config.js';
export { resolveRunConfig, parseRunConfig, type RunConfigSources } from './parse-run-config.js';
export { loadConfigFile } from './load-config-file.js';
export { configHash, canonicalJson } from './config-hash.js';
export { PRESET_NAMES, DEFAULT_PRESET, type PresetName } from './presets.js';
export { runConfigSchema } from './run-config-schema.js';
export { STAGE_NAMES } from './stage.js';
export { DEFAULT_TOKENIZER } from './tokenizer-location.js';
export { parseStoredRunConfig } from './stored-run-config.js';
