/**
 * One entry of a published PyTorch state dict (timm's Swin, Hugging Face's RoBERTa): what a
 * pretrained file laid out by that library holds, in its own names and shapes, so an import can
 * tell "missing", "unexpected" and "known but not used by fiber" apart.
 */
export interface StateDictKey {
  readonly name: string;
  /** PyTorch shape: Linear [out, in], Conv2d [out, in, kh, kw]. */
  readonly shape: readonly number[];
  /** Parameters are float; index buffers (relative_position_index, position_ids) are int64. */
  readonly dtype: 'F32' | 'I64';
  /**
   * Why an import skips this tensor (a buffer fiber recomputes, a head FIBER replaces, a tied
   * copy). Absent: a backbone tensor fiber loads, which a file must therefore contain. A tensor
   * with a reason is optional: files saved by other library versions drop some of them.
   */
  readonly ignore?: string;
}
