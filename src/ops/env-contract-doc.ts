import { ENV_VARS, MANIFEST_HELPER_VARS, PORTS, SECRETS, type EnvVarSpec } from './env-contract.js';

const cell = (s: string) => s.replace(/\|/g, '\\|');

function source(v: EnvVarSpec): string {
  switch (v.source.kind) {
    case 'secret': return `Secret \`${v.source.secret}\`, key \`${v.source.key}\``;
    case 'config': return 'ConfigMap `fiber-config`';
    case 'downward': return 'downward API';
    case 'literal': return 'literal in the manifest';
  }
}

/** The env contract as Markdown (docs/ops.md embeds it; test/ops/env-contract-doc.test.ts keeps it current). */
export function renderEnvContractMarkdown(): string {
  const lines = [
    '| variable | read by | required for | set from | default | meaning |',
    '| --- | --- | --- | --- | --- | --- |',
    ...ENV_VARS.map((v) => `| \`${v.name}\` | ${v.readBy.join(', ')} | ${v.requiredFor.join(', ') || '-'} | ${source(v)} | ${v.defaultValue ? `\`${v.defaultValue}\`` : '-'} | ${cell(v.description)} |`),
    '',
    `Helper variables (only for \`$(VAR)\` expansion in manifests): ${MANIFEST_HELPER_VARS.map((n) => `\`${n}\``).join(', ')}.`,
    '',
    `Ports: ${Object.entries(PORTS).map(([k, p]) => `${k} ${p}`).join(', ')}.`,
    '',
    `Secrets: ${Object.values(SECRETS).map((s) => `\`${s.name}\` (${Object.values(s.keys).map((k) => `\`${k}\``).join(', ')})`).join(', ')}.`,
  ];
  return lines.join('\n');
}
