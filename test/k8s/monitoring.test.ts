import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { before, describe, it } from 'node:test';
import { z } from 'zod';
import { createFiberMetrics } from '../../src/ops/metrics.js';
import { K8S_DIR, kubectl, parseObjects, type K8sObject } from './render.js';
import { schemaError } from './schema.js';

/**
 * k8s/monitoring (PodMonitor, PrometheusRule, Grafana dashboard) against the Prometheus
 * Operator's CRD fields and against the series fiber really exports: every metric name an alert
 * or a panel queries is read from a live FiberMetrics registry, never listed by hand.
 */
const SNAPSHOT = resolve(K8S_DIR, 'rendered', 'monitoring.yaml');
let objects: K8sObject[] = [];

before(() => {
  const snapshot = readFileSync(SNAPSHOT, 'utf8');
  const body = snapshot.replace(/^#.*\n/, '');
  const k = kubectl();
  if ('path' in k) {
    const fresh = execFileSync(k.path, ['kustomize', resolve(K8S_DIR, 'monitoring')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    assert.equal(body, fresh, 'k8s/rendered/monitoring.yaml is stale: run `npm run k8s:render` and commit it');
  } else {
    console.log(`# k8s/monitoring: ${k.reason}; checking the committed k8s/rendered/monitoring.yaml`);
  }
  objects = parseObjects(body, 'k8s/rendered/monitoring.yaml');
});

const find = (kind: string) => {
  const o = objects.find((x) => x.kind === kind);
  assert.ok(o, `k8s/monitoring renders a ${kind}`);
  return o;
};

// The monitoring.coreos.com/v1 fields these objects use, strict: a misspelt field fails.
const metadata = z.object({ name: z.string().min(1), namespace: z.literal('fiber'), labels: z.record(z.string(), z.string()).optional() }).strict();
const duration = z.string().regex(/^(\d+(ms|s|m|h|d|w|y))+$/);
const podMonitorSchema = z.object({
  apiVersion: z.literal('monitoring.coreos.com/v1'), kind: z.literal('PodMonitor'), metadata,
  spec: z.object({
    selector: z.object({
      matchLabels: z.record(z.string(), z.string()).optional(),
      matchExpressions: z.array(z.object({ key: z.string(), operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']), values: z.array(z.string()).optional() }).strict()).optional(),
    }).strict(),
    podMetricsEndpoints: z.array(z.object({ port: z.string(), path: z.string().startsWith('/'), interval: duration }).strict()).min(1),
  }).strict(),
}).strict();
const ruleSchema = z.object({
  alert: z.string().regex(/^[A-Z][A-Za-z0-9]+$/), expr: z.string().min(1), for: duration.optional(),
  labels: z.object({ severity: z.enum(['info', 'warning', 'critical']) }).strict(),
  annotations: z.object({ summary: z.string().min(1), description: z.string().min(1) }).strict(),
}).strict();
const prometheusRuleSchema = z.object({
  apiVersion: z.literal('monitoring.coreos.com/v1'), kind: z.literal('PrometheusRule'), metadata,
  spec: z.object({ groups: z.array(z.object({ name: z.string(), rules: z.array(ruleSchema).min(1) }).strict()).min(1) }).strict(),
}).strict();

/** Every series name fiber's registry exposes (histograms as _bucket/_sum/_count), with its label names. */
function exportedSeries(): Map<string, Set<string>> {
  const metrics = createFiberMetrics({ process: 'ps', labels: { shard: '0' } });
  const out = new Map<string, Set<string>>();
  const common = ['process', 'shard', 'worker'];
  for (const m of metrics.registry.getMetricsAsArray()) {
    const { name, type, labelNames = [] } = m as unknown as { name: string; type: string; labelNames?: string[] };
    const labels = new Set([...common, ...labelNames]);
    if (type === 'histogram') {
      out.set(`${name}_bucket`, new Set([...labels, 'le']));
      out.set(`${name}_sum`, labels);
      out.set(`${name}_count`, labels);
    } else out.set(name, labels);
  }
  metrics.close();
  return out;
}

/** Problems with the fiber_* names and label matchers in a PromQL expression. */
function unknownSeries(expr: string, exported: Map<string, Set<string>>): string[] {
  const problems: string[] = [];
  for (const m of expr.matchAll(/\b(fiber_[a-z0-9_]+)(\{([^}]*)\})?/g)) {
    const labels = exported.get(m[1]!);
    if (!labels) {
      problems.push(`${m[1]} is not exported`);
      continue;
    }
    for (const matcher of (m[3] ?? '').split(',').map((x) => x.trim()).filter(Boolean)) {
      const key = /^([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/.exec(matcher)?.[1];
      if (!key || !labels.has(key)) problems.push(`${m[1]} has no label in ${matcher}`);
    }
  }
  return problems;
}

describe('k8s/monitoring', () => {
  const exported = exportedSeries();

  it('the checker itself rejects a series or a label fiber does not export', () => {
    assert.deepEqual(unknownSeries('rate(fiber_made_up_total[5m]) + fiber_train_step{nope="x"}', exported), ['fiber_made_up_total is not exported', 'fiber_train_step has no label in nope="x"']);
    assert.deepEqual(unknownSeries('fiber_train_loss{run=~"$run",objective="total"}', exported), []);
  });

  it('the PodMonitor scrapes the metrics port of every PS and worker pod', () => {
    const pm = podMonitorSchema.parse(find('PodMonitor'));
    const values = pm.spec.selector.matchExpressions?.find((e) => e.key === 'app.kubernetes.io/name')?.values ?? [];
    for (const [file, name] of [['ps.yaml', 'fiber-ps'], ['worker.yaml', 'fiber-worker']] as const) {
      const workload = parseObjects(readFileSync(resolve(K8S_DIR, 'base', file), 'utf8'), file).find((o) => o.kind === 'StatefulSet' || o.kind === 'Deployment')!;
      assert.equal(workload.spec.template.metadata.labels['app.kubernetes.io/name'], name);
      assert.ok(values.includes(name), `the PodMonitor selects ${name}`);
      const ports = workload.spec.template.spec.containers.flatMap((c: { ports?: Array<{ name: string }> }) => c.ports?.map((p) => p.name) ?? []);
      for (const ep of pm.spec.podMetricsEndpoints) assert.ok(ports.includes(ep.port), `${name} has a container port named ${ep.port}`);
    }
    assert.equal(pm.spec.podMetricsEndpoints[0]!.path, '/metrics');
  });

  it('the alert rules are well formed, cover the asked-for cases and query only exported series', () => {
    const rule = prometheusRuleSchema.parse(find('PrometheusRule'));
    const rules = rule.spec.groups.flatMap((g) => g.rules);
    assert.deepEqual(rules.map((r) => r.alert).sort(), ['FiberNoLiveWorkers', 'FiberNoProgress', 'FiberTaskErrorRate', 'FiberWorkersLost']);
    for (const r of rules) {
      assert.deepEqual(unknownSeries(r.expr, exported), [], r.alert);
      assert.equal(r.expr.split('(').length, r.expr.split(')').length, `${r.alert}: balanced parentheses`);
    }
  });

  it('the Grafana dashboard ConfigMap is loaded by the sidecar and every panel queries exported series', () => {
    const cm = find('ConfigMap');
    assert.equal(schemaError(cm), undefined);
    assert.equal(cm.metadata.labels?.grafana_dashboard, '1');
    const dashboard = JSON.parse(cm.data['fiber-dashboard.json'] as string) as {
      uid: string; panels: Array<{ title: string; gridPos: object; targets: Array<{ expr: string; refId: string }> }>;
      templating: { list: Array<{ name: string; definition?: string }> };
    };
    assert.equal(dashboard.uid, 'fiber-training');
    const exprs = dashboard.panels.flatMap((p) => {
      assert.ok(p.targets.length > 0 && p.gridPos, `${p.title} has queries and a place`);
      return p.targets.map((t) => [p.title, t.expr] as const);
    });
    for (const [title, expr] of [...exprs, ...dashboard.templating.list.filter((v) => v.definition).map((v) => [v.name, v.definition!] as const)]) {
      assert.deepEqual(unknownSeries(expr, exported), [], title);
    }
    const queried = new Set(exprs.flatMap(([, e]) => [...e.matchAll(/\bfiber_[a-z0-9_]+/g)].map((m) => m[0])));
    for (const name of ['fiber_train_step', 'fiber_train_loss', 'fiber_train_learning_rate', 'fiber_train_samples_per_second', 'fiber_goodput_ratio', 'fiber_step_time_seconds_total', 'fiber_eval_score', 'fiber_workers']) {
      assert.ok(queried.has(name), `a panel shows ${name}`);
    }
    // The same file as in the repository (configMapGenerator embeds it verbatim).
    assert.equal(cm.data['fiber-dashboard.json'], readFileSync(resolve(K8S_DIR, 'monitoring', 'fiber-dashboard.json'), 'utf8'));
  });
});
