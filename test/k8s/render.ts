import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../helpers/cli.js';

export const OVERLAYS = ['gpu', 'cpu', 'gpu-keda'] as const;
export type OverlayName = (typeof OVERLAYS)[number];

/** A parsed Kubernetes object; fields are checked by the tests, so it is loosely typed. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type K8sObject = Record<string, any> & { apiVersion: string; kind: string; metadata: Record<string, any> & { name?: string; generateName?: string; namespace?: string } };

export const K8S_DIR = resolve(REPO_ROOT, 'k8s');

/** k8s/rendered/<overlay>.yaml: `kubectl kustomize k8s/overlays/<overlay>`, committed (npm run k8s:render). */
export function snapshotPath(overlay: OverlayName): string {
  return resolve(K8S_DIR, 'rendered', `${overlay}.yaml`);
}

let kubectlProbe: { path: string } | { reason: string } | undefined;

/** kubectl with its built-in kustomize, or why not. Looked up once per process. */
export function kubectl(): { path: string } | { reason: string } {
  if (kubectlProbe) return kubectlProbe;
  const path = process.env.KUBECTL ?? 'kubectl';
  try {
    execFileSync(path, ['version', '--client'], { stdio: 'pipe', timeout: 20_000 });
    kubectlProbe = { path };
  } catch (err) {
    kubectlProbe = { reason: `kubectl not usable (${(err as Error).message.split('\n')[0]})` };
  }
  return kubectlProbe;
}

/** Render an overlay with `kubectl kustomize` (offline: local files only). */
export function renderWithKubectl(kubectlPath: string, overlay: OverlayName): string {
  return execFileSync(kubectlPath, ['kustomize', resolve(K8S_DIR, 'overlays', overlay)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
}

/** The committed rendering of an overlay. */
export function readSnapshot(overlay: OverlayName): string {
  const path = snapshotPath(overlay);
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`npm run k8s:render\``);
  return readFileSync(path, 'utf8');
}

/** Parse a multi-document YAML stream into objects, failing on any YAML error. */
export function parseObjects(text: string, source: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors[0]!.message}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${source}: a document is not an object`);
    out.push(value as K8sObject);
  }
  return out;
}

/** Read and parse a YAML file under k8s/. */
export function readObjects(relativePath: string): K8sObject[] {
  return parseObjects(readFileSync(resolve(K8S_DIR, relativePath), 'utf8'), relativePath);
}

/** "Kind/name" for messages. */
export function id(o: K8sObject): string {
  return `${o.kind}/${o.metadata?.name ?? o.metadata?.generateName ?? '?'}`;
}
