import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import ts from 'typescript';
import { REPO_ROOT } from '../helpers/cli.js';
import type { K8sObject } from './render.js';

/**
 * Unknown-field check, the part kubernetes-models' runtime validators leave out: each object is
 * written as a TypeScript object literal typed with kubernetes-models' interface for its kind, and
 * type-checked. Excess-property checks then reject any field the API does not have, at any depth
 * (a `readOnlyRootFileSystem` typo, a probe field in the wrong place), and wrong types too.
 */
const TYPES: Record<string, { module: string; name: string }> = {
  'v1/ConfigMap': { module: 'kubernetes-models/v1/ConfigMap', name: 'IConfigMap' },
  'v1/Namespace': { module: 'kubernetes-models/v1/Namespace', name: 'INamespace' },
  'v1/Secret': { module: 'kubernetes-models/v1/Secret', name: 'ISecret' },
  'v1/Service': { module: 'kubernetes-models/v1/Service', name: 'IService' },
  'v1/ServiceAccount': { module: 'kubernetes-models/v1/ServiceAccount', name: 'IServiceAccount' },
  'apps/v1/Deployment': { module: 'kubernetes-models/apps/v1/Deployment', name: 'IDeployment' },
  'apps/v1/StatefulSet': { module: 'kubernetes-models/apps/v1/StatefulSet', name: 'IStatefulSet' },
  'batch/v1/Job': { module: 'kubernetes-models/batch/v1/Job', name: 'IJob' },
  'networking.k8s.io/v1/NetworkPolicy': { module: 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy', name: 'INetworkPolicy' },
  'policy/v1/PodDisruptionBudget': { module: 'kubernetes-models/policy/v1/PodDisruptionBudget', name: 'IPodDisruptionBudget' },
  // KEDA's CRDs (k8s/overlays/gpu-keda): our own interfaces, the TypeScript source in test/k8s/ (from dist/test/k8s/.strict-<pid>/).
  'keda.sh/v1alpha1/ScaledObject': { module: '../../../../test/k8s/keda-types.js', name: 'IScaledObject' },
  'keda.sh/v1alpha1/TriggerAuthentication': { module: '../../../../test/k8s/keda-types.js', name: 'ITriggerAuthentication' },
};

export interface FieldProblem { readonly object: string; readonly message: string }

/** Type-check every object; returns one problem per TypeScript diagnostic, or [] when all fields exist. */
export function unknownFieldProblems(objects: ReadonlyArray<{ label: string; object: K8sObject }>): FieldProblem[] {
  // Inside the repository so that module resolution finds node_modules.
  const dir = resolve(REPO_ROOT, 'dist', 'test', 'k8s', `.strict-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const file = resolve(dir, 'objects.ts');
  const imports = new Set<string>();
  const labels: string[] = [];
  const body: string[] = [];
  objects.forEach(({ label, object }, i) => {
    const t = TYPES[`${object.apiVersion}/${object.kind}`];
    if (!t) throw new Error(`${label}: no type for ${object.apiVersion} ${object.kind}; add it to test/k8s/strict-fields.ts`);
    imports.add(`import type { ${t.name} } from '${t.module}';`);
    labels.push(label);
    body.push(`export const o${i}: ${t.name} = ${JSON.stringify(object, null, 1)};`);
  });
  writeFileSync(file, [...imports, ...body].join('\n'));
  try {
    const program = ts.createProgram([file], {
      strict: true, noEmit: true, skipLibCheck: true, types: [],
      module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022,
    });
    return ts.getPreEmitDiagnostics(program).map((d) => {
      const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
      let object = '(program)';
      if (d.file && d.start !== undefined) {
        const text = d.file.getFullText();
        const before = text.slice(0, d.start);
        const m = [...before.matchAll(/export const o(\d+):/g)].at(-1);
        if (m) object = labels[Number(m[1])] ?? object;
      }
      return { object, message };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
