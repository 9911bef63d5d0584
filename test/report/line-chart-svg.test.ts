import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lineChartSvg, type ChartPoint } from '../../src/report/line-chart-svg.js';
import { assertWellFormedXml } from './markup.js';

const opts = { title: 'coarse losses', xLabel: 'step', yLabel: 'loss' };
const line = (n: number, f: (i: number) => number): ChartPoint[] => Array.from({ length: n }, (_, i) => [i + 1, f(i)]);

describe('lineChartSvg', () => {
  it('is well-formed SVG with axes, tick labels, title and every series in the legend', () => {
    const svg = lineChartSvg([
      { label: 'itc (raw)', points: line(50, (i) => 3 / (i + 1) + 0.1), faint: true },
      { label: 'itc', points: line(50, (i) => 3 / (i + 1)) },
      { label: 'mlm', points: line(50, (i) => 5 - i / 20) },
    ], opts);
    assertWellFormedXml(svg);
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="760" height="360"/);
    for (const text of ['coarse losses', '>step<', '>loss<', '>itc (raw)<', '>itc<', '>mlm<']) assert.ok(svg.includes(text), text);
    assert.equal((svg.match(/<path /g) ?? []).length, 3);
    assert.match(svg, />0<\/text>/, 'y tick labels');
    assert.match(svg, />50<\/text>/, 'x tick labels');
  });

  it('escapes markup in the title, axis labels and series labels', () => {
    const svg = lineChartSvg([{ label: 'a<b>&"c"', points: line(3, (i) => i) }], { title: '<script>alert(1)</script>', xLabel: 'x & y', yLabel: "it's" });
    assertWellFormedXml(svg);
    assert.ok(!svg.includes('<script>'));
    assert.ok(svg.includes('a&lt;b&gt;&amp;&quot;c&quot;'));
    assert.ok(svg.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
    assert.ok(svg.includes('x &amp; y'));
  });

  it('an empty chart says "no data"; one point is drawn as a dot; none of it throws', () => {
    for (const series of [[], [{ label: 'x', points: [] }], [{ label: 'x', points: [[1, NaN]] as ChartPoint[] }]]) {
      const svg = lineChartSvg(series, opts);
      assertWellFormedXml(svg);
      assert.match(svg, /no data/);
    }
    const one = lineChartSvg([{ label: 'lr', points: [[7, 1e-4]] }], opts);
    assertWellFormedXml(one);
    assert.equal((one.match(/<circle /g) ?? []).length, 1);
    assert.ok(!one.includes('NaN'));
  });

  it('skips NaN and Infinity points as gaps, and non-positive values on a log axis', () => {
    const pts: ChartPoint[] = [[1, 1], [2, 2], [3, NaN], [4, 4], [5, Infinity], [6, 6], [7, 7]];
    const svg = lineChartSvg([{ label: 'x', points: pts }], opts);
    assertWellFormedXml(svg);
    assert.ok(!/NaN|Infinity/.test(svg));
    assert.equal((svg.match(/<path /g) ?? []).length, 2, '[1,2] and [6,7] are lines; [4] alone is a dot');
    assert.equal((svg.match(/<circle /g) ?? []).length, 1);

    const log = lineChartSvg([{ label: 'x', points: [[1, 0], [2, 10], [3, 1], [4, -1], [5, 0.1]] }], { ...opts, logY: true });
    assertWellFormedXml(log);
    assert.match(log, /\(log scale\)/);
    assert.match(log, />0\.1<\/text>/);
    assert.ok(!/NaN|Infinity/.test(log));
  });

  it('downsamples long series but keeps their spikes', () => {
    const pts = line(100_000, (i) => (i === 54_321 ? 100 : 1 + (i % 7) / 10));
    const svg = lineChartSvg([{ label: 'x', points: pts }], { ...opts, maxPoints: 500 });
    const d = /<path d="([^"]+)"/.exec(svg)![1]!;
    const vertices = d.split(/[ML]/).filter(Boolean).length;
    assert.ok(vertices <= 500, `${vertices} vertices`);
    assert.match(svg, />100<\/text>/, 'the spike still sets the y range');
  });
});
