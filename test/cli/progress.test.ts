import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createProgress } from '../../src/cli/progress.js';

function sink(isTTY: boolean): NodeJS.WriteStream & { text: string } {
  const s = { isTTY, columns: 80, text: '', write(chunk: string) { s.text += chunk; return true; } };
  return s as unknown as NodeJS.WriteStream & { text: string };
}

describe('createProgress', () => {
  it('off a terminal: a plain line per tenth of a known total, and one at the end', () => {
    const out = sink(false);
    const p = createProgress('indexing', 'shards', { stream: out, env: {}, now: () => 0 });
    for (let i = 0; i <= 20; i++) p.update(i, 20);
    p.finish();
    p.finish();
    const lines = out.text.trim().split('\n');
    assert.equal(lines.length, 11, out.text);
    assert.equal(lines.at(-1), 'fiber: indexing [########################] 20/20 shards (100%)');
    assert.doesNotMatch(out.text, /\r|\x1b/);
  });

  it('off a terminal without a total: a line per interval', () => {
    const out = sink(false);
    let t = 0;
    const p = createProgress('eval encode', 'samples', { stream: out, env: {}, now: () => t, plainEveryMs: 1000 });
    for (let i = 1; i <= 30; i++) {
      t += 100;
      p.update(i);
    }
    p.finish();
    assert.deepEqual(out.text.trim().split('\n'), ['fiber: eval encode: 10 samples', 'fiber: eval encode: 20 samples', 'fiber: eval encode: 30 samples', 'fiber: eval encode: 30 samples']);
  });

  it('on a terminal: a bar redrawn in place, then a newline', () => {
    const out = sink(true);
    const p = createProgress('packing', 'samples', { stream: out, env: {}, now: () => 0 });
    p.update(5, 10);
    p.update(10, 10);
    p.finish();
    assert.match(out.text, /^\r\x1b\[2Kpacking \[#{12}\.{12}\] 5\/10 samples \(50%\)\r\x1b\[2K.*100%\)\n$/s);
  });
});
