import { InvalidArgumentError } from 'commander';
import { tokenizerLocationProblem } from '../config/tokenizer-location.js';

/** commander parser for `--tokenizer <dir>`: the same form check as data.tokenizer in a run config. */
export function tokenizerLocation(value: string): string {
  const problem = tokenizerLocationProblem(value);
  if (problem) throw new InvalidArgumentError(problem);
  return value;
}
