import type { EvalResult } from '../eval/eval-result.js';

/** The human view of `fiber eval`: a small table of scores beside their chance levels. Pure. */
export function renderEvalResult(r: EvalResult): string[] {
  const lines = [`${r.task}  ${r.preset} ${r.stage} checkpoint${r.step !== null ? ` step ${r.step}` : ''}  ${r.resolved}`];
  if (r.task === 'retrieval') {
    lines.push(`N = ${r.n} image-caption pairs (first caption per image)`, ...recallTable(r, ''));
    if (r.rerank !== null) lines.push(`ITM re-ranking of each query's ITC top ${r.rerank}:`, ...recallTable(r, 'itm_'));
  } else {
    lines.push(`N = ${r.n} phrases in ${r.samples} captions${r.images !== undefined ? ` of ${r.images} images` : ''}`);
    for (const [key, score] of Object.entries(r.scores)) {
      const random = key.startsWith('R@') ? 'a uniformly random ranking of the anchors' : 'a uniformly random anchor';
      const note = r.chance[key] !== undefined ? `chance ${fmt(r.chance[key])} (${random})` : key.startsWith('oracle') ? 'the best any anchor of these boxes could do' : '';
      lines.push(`${key.padEnd(12)} ${fmt(score)}   ${note}`);
    }
  }
  const skipped = Object.entries(r.skipped);
  lines.push(`skipped: ${skipped.length ? skipped.map(([k, v]) => `${k} ${v}`).join(', ') : 'none'}`);
  lines.push(`${r.seconds.toFixed(1)} s`);
  return lines;
}

function recallTable(r: EvalResult, prefix: string): string[] {
  const row = (label: string, values: Record<string, number>, dir: string) => `${label.padEnd(14)} ${[1, 5, 10].map((k) => fmt(values[`${prefix}${dir}_r${k}`]).padStart(6)).join(' ')}`;
  return [
    `${''.padEnd(14)} ${['R@1', 'R@5', 'R@10'].map((h) => h.padStart(6)).join(' ')}`,
    row('image -> text', r.scores, 'i2t'),
    row('text -> image', r.scores, 't2i'),
    row('chance', r.chance, 'i2t'),
    `mean recall    ${fmt(r.scores[`${prefix}r_mean`])}  (chance ${fmt(r.chance[`${prefix}r_mean`])})`,
  ];
}

function fmt(v: number | undefined): string {
  return v === undefined ? '-' : v.toFixed(3);
}
