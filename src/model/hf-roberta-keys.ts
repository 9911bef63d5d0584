import type { FiberModelConfig } from './model-config.js';
import type { StateDictKey } from './state-dict-key.js';

/**
 * Which Hugging Face class saved the file: `masked-lm` is RobertaForMaskedLM (the published
 * roberta-base: `roberta.` prefix, no pooler, `lm_head`), `base` is RobertaModel (no prefix,
 * with the pooler).
 */
export type HfRobertaModel = 'masked-lm' | 'base';

export interface HfRobertaKeyOptions {
  readonly model?: HfRobertaModel;
  /** Default: RobertaModel has one, RobertaForMaskedLM does not (add_pooling_layer=False). */
  readonly pooler?: boolean;
}

const POSITION_IDS = 'buffer: position ids, computed from the input ids (persistent in transformers < 4.31)';
const POOLER = 'RoBERTa pooler: FIBER never reads it (reference §1.1)';
const LM_HEAD = 'RoBERTa MLM head: FIBER trains its own mlm_score head from scratch';
const TIED = 'tied copy (lm_head.decoder.weight = word embeddings, lm_head.decoder.bias = lm_head.bias); newer savers drop it';

/**
 * Every tensor of transformers' RobertaModel / RobertaForMaskedLM state_dict at fiber's text
 * sizes, in state_dict order (own tensors before children's): roberta-base is fiber-base's text
 * side (12 x 768, FFN 3072, vocab 50265, 514 positions, 1 token type). Buffers, the pooler and the
 * LM head are listed with the reason fiber skips them.
 */
export function hfRobertaStateDictKeys(config: FiberModelConfig, opts: HfRobertaKeyOptions = {}): StateDictKey[] {
  const model = opts.model ?? 'masked-lm';
  const pooler = opts.pooler ?? model === 'base';
  const pre = model === 'masked-lm' ? 'roberta.' : '';
  const h = config.textHidden;
  const keys: StateDictKey[] = [];
  const f32 = (name: string, shape: number[], ignore?: string) => keys.push({ name, shape, dtype: 'F32', ...(ignore ? { ignore } : {}) });
  const linear = (name: string, out: number, inp: number, ignore?: string) => {
    f32(`${name}.weight`, [out, inp], ignore);
    f32(`${name}.bias`, [out], ignore);
  };
  const norm = (name: string, ignore?: string) => {
    f32(`${name}.weight`, [h], ignore);
    f32(`${name}.bias`, [h], ignore);
  };
  keys.push({ name: `${pre}embeddings.position_ids`, shape: [1, config.maxPositions], dtype: 'I64', ignore: POSITION_IDS });
  f32(`${pre}embeddings.word_embeddings.weight`, [config.vocabSize, h]);
  f32(`${pre}embeddings.position_embeddings.weight`, [config.maxPositions, h]);
  f32(`${pre}embeddings.token_type_embeddings.weight`, [1, h]);
  norm(`${pre}embeddings.LayerNorm`);
  for (let l = 0; l < config.textLayers; l++) {
    const p = `${pre}encoder.layer.${l}`;
    linear(`${p}.attention.self.query`, h, h);
    linear(`${p}.attention.self.key`, h, h);
    linear(`${p}.attention.self.value`, h, h);
    linear(`${p}.attention.output.dense`, h, h);
    norm(`${p}.attention.output.LayerNorm`);
    linear(`${p}.intermediate.dense`, config.textIntermediate, h);
    linear(`${p}.output.dense`, h, config.textIntermediate);
    norm(`${p}.output.LayerNorm`);
  }
  if (pooler) linear(`${pre}pooler.dense`, h, h, POOLER);
  if (model === 'masked-lm') {
    f32('lm_head.bias', [config.vocabSize], LM_HEAD);
    linear('lm_head.dense', h, h, LM_HEAD);
    norm('lm_head.layer_norm', LM_HEAD);
    f32('lm_head.decoder.weight', [config.vocabSize, h], TIED);
    f32('lm_head.decoder.bias', [config.vocabSize], TIED);
  }
  return keys;
}

/** The reference's name of a HF RoBERTa tensor, before the `text_transformer.` prefix. */
export function hfToReferenceName(name: string): string {
  return name.startsWith('roberta.') ? name.slice('roberta.'.length) : name;
}
