import { writeFileSync } from 'node:fs';
import { renderConfigReference } from './config-reference.js';

// `npm run docs`: regenerate docs/config.md.
const out = process.argv[2] ?? 'docs/config.md';
writeFileSync(out, renderConfigReference());
process.stdout.write(`wrote ${out}\n`);
