import assert from 'node:assert/strict';

/**
 * A rough XML well-formedness check, enough for generated SVG: every tag closes in order, and no
 * raw `<` or stray `&` is left in text or attributes (each would mean a string went unescaped).
 */
export function assertWellFormedXml(xml: string): void {
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (let m = tag.exec(xml); m; m = tag.exec(xml)) {
    assertText(xml.slice(last, m.index));
    for (const [, value] of m[3]!.matchAll(/="([^"]*)"/g)) assertText(value!);
    last = tag.lastIndex;
    const [, closing, name, , selfClosing] = m;
    if (selfClosing) continue;
    if (closing) assert.equal(stack.pop(), name, `</${name}> closes the wrong element`);
    else stack.push(name!);
  }
  assertText(xml.slice(last));
  assert.deepEqual(stack, [], 'unclosed elements');
}

function assertText(text: string): void {
  assert.ok(!text.includes('<'), `raw < in text: ${text.slice(0, 80)}`);
  assert.ok(!/&(?!(amp|lt|gt|quot|#39);)/.test(text), `unescaped & in: ${text.slice(0, 80)}`);
}

/** Every inline <svg>…</svg> of an HTML page. */
export function svgsOf(html: string): string[] {
  return [...html.matchAll(/<svg[\s\S]*?<\/svg>/g)].map((m) => m[0]);
}

/** src= / href= values that reach outside the page (a self-contained report has none). */
export function externalRefs(html: string): string[] {
  return [...html.matchAll(/\b(?:src|href)\s*=\s*["']?\s*((?:https?:)?\/\/[^"'\s>]*)/gi)].map((m) => m[1]!);
}
