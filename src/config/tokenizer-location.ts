/** The value of data.tokenizer that means the registry-shipped GPT-2-derived vocabulary. */
export const DEFAULT_TOKENIZER = 'default';

/**
 * Why `value` cannot be a data.tokenizer location, or undefined when its form is fine. Only the
 * form is checked here (the config boundary does no I/O); whether the files exist and fit the
 * model is checked where the run first reads them (docs/data.md, "Tokenizer").
 */
export function tokenizerLocationProblem(value: string): string | undefined {
  if (value === DEFAULT_TOKENIZER) return undefined;
  if (value.trim() !== value || value === '') return 'must be "default" or a folder/URL, without surrounding spaces';
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]?.toLowerCase();
  if (scheme !== undefined && !['s3', 'file', 'http', 'https'].includes(scheme)) {
    return `unsupported scheme ${scheme}://; accepted: "default", s3://, file://, http://, https:// or a local path`;
  }
  if (scheme === 's3' && !/^s3:\/\/[^/]+/i.test(value)) return 'names no bucket; write s3://bucket/prefix';
  const last = value.replace(/\/+$/, '').split('/').pop() ?? '';
  if (last === 'vocab.json' || last === 'merges.txt') {
    return `${last} is one of the two files; give the folder that holds vocab.json and merges.txt`;
  }
  return undefined;
}
