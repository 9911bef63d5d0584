import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { before, describe, it } from 'node:test';
import { resolveRunConfig } from '../../src/config/index.js';
import { SECRET_KEYS } from '../../src/log/redact.js';
import {
  ENV_VARS, HEALTH_PATHS, MANIFEST_HELPER_VARS, PORTS, SECRETS, envVarSpec, envVarsReadBy, requiredEnvVars, secretEnvVars,
  type FiberProcess,
} from '../../src/ops/env-contract.js';
import { EXIT_TEMPFAIL, EXIT_USAGE } from '../../src/cli/main.js';
import { QUEUE_PREFIX, TASKS_QUEUE } from '../../src/queue/keys.js';
import { K8S_DIR, OVERLAYS, id, kubectl, parseObjects, readObjects, readSnapshot, renderWithKubectl, type K8sObject, type OverlayName } from './render.js';
import { schemaError } from './schema.js';
import { unknownFieldProblems } from './strict-fields.js';

/** Container name -> the fiber process it runs. Containers not listed (redis) are third-party. */
const PROCESS_OF_CONTAINER: Record<string, FiberProcess> = { ps: 'ps', worker: 'worker', pretrain: 'pretrain' };
const JOB_FILES = readdirSync(resolve(K8S_DIR, 'jobs')).filter((f) => f.endsWith('.yaml')).map((f) => `jobs/${f}`);
const SECRET_TEMPLATE = 'secrets/secrets.template.yaml';

const rendered = new Map<OverlayName, K8sObject[]>();

before(() => {
  const k = kubectl();
  for (const overlay of OVERLAYS) {
    const snapshot = readSnapshot(overlay);
    const body = snapshot.replace(/^#.*\n/, '');
    if ('path' in k) {
      // The committed rendering must be what kustomize makes of k8s/ today.
      const fresh = renderWithKubectl(k.path, overlay);
      assert.equal(body, fresh, `k8s/rendered/${overlay}.yaml is stale: run \`npm run k8s:render\` and commit it`);
    } else {
      console.log(`# k8s/${overlay}: ${k.reason}; skipping only the kustomize rendering step and checking the committed k8s/rendered/${overlay}.yaml`);
    }
    rendered.set(overlay, parseObjects(body, `k8s/rendered/${overlay}.yaml`));
  }
});

function objects(overlay: OverlayName): K8sObject[] {
  const list = rendered.get(overlay);
  assert.ok(list, `overlay ${overlay} was rendered`);
  return list;
}

function find(list: K8sObject[], kind: string, name: string): K8sObject {
  const o = list.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `${kind}/${name} is present`);
  return o;
}

/** Objects that carry a pod template, with the template's pod spec. */
function podSpecs(list: K8sObject[]): Array<{ owner: K8sObject; template: K8sObject; spec: K8sObject }> {
  return list.filter((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind))
    .map((owner) => ({ owner, template: owner.spec.template, spec: owner.spec.template.spec }));
}

/** Everything a cluster gets from one overlay plus the pretrain Jobs created against it. */
function workloads(overlay: OverlayName): K8sObject[] {
  return [...objects(overlay), ...JOB_FILES.flatMap((f) => readObjects(f))];
}

describe('k8s manifests: schema', () => {
  for (const overlay of OVERLAYS) {
    it(`${overlay}: every rendered object is valid against the Kubernetes API schema`, () => {
      const list = objects(overlay);
      assert.ok(list.length >= 14, `rendered ${list.length} objects`);
      for (const o of list) assert.equal(schemaError(o), undefined, `${overlay} ${id(o)}`);
      for (const o of list) if (o.kind !== 'Namespace') assert.equal(o.metadata.namespace, 'fiber', `${id(o)} in namespace fiber`);
    });
  }

  it('the pretrain Jobs and the Secret templates are valid too', () => {
    for (const file of [...JOB_FILES, SECRET_TEMPLATE]) {
      const list = readObjects(file);
      assert.ok(list.length > 0, file);
      for (const o of list) assert.equal(schemaError(o), undefined, `${file} ${id(o)}`);
    }
    assert.deepEqual(JOB_FILES.sort(), ['jobs/pretrain-coarse.yaml', 'jobs/pretrain-fine.yaml']);
  });

  it('rejects a broken object (the validator is really checking)', () => {
    const worker = structuredClone(find(objects('gpu'), 'Deployment', 'fiber-worker'));
    worker.spec.template.spec.containers[0].ports[0].containerPort = 'nine';
    assert.match(schemaError(worker) ?? '', /containerPort must be integer/);
    delete worker.spec.selector;
    assert.match(schemaError(worker) ?? '', /selector/);
  });

  it('has the objects issue 6 asks for', () => {
    for (const overlay of OVERLAYS) {
      const list = objects(overlay);
      const kinds = new Set(list.map((o) => `${o.kind}/${o.metadata.name}`));
      for (const want of ['Namespace/fiber', 'ServiceAccount/fiber', 'ConfigMap/fiber-config', 'ConfigMap/fiber-run', 'ConfigMap/fiber-redis-config',
        'Service/fiber-redis', 'StatefulSet/fiber-redis', 'Service/fiber-ps', 'StatefulSet/fiber-ps', 'Deployment/fiber-worker',
        'NetworkPolicy/fiber-default-deny-ingress', 'NetworkPolicy/fiber-redis', 'NetworkPolicy/fiber-ps', 'NetworkPolicy/fiber-worker',
        'PodDisruptionBudget/fiber-ps']) {
        assert.ok(kinds.has(want), `${overlay} has ${want}`);
      }
    }
  });
});

describe('k8s manifests: security', () => {
  for (const overlay of OVERLAYS) {
    it(`${overlay}: pods run non-root, read-only, without capabilities or a service-account token`, () => {
      const list = workloads(overlay);
      assert.equal(find(list, 'ServiceAccount', 'fiber').automountServiceAccountToken, false);
      const pods = podSpecs(list);
      assert.equal(pods.length, 5, 'redis, ps, worker, two pretrain Jobs');
      for (const { owner, spec } of pods) {
        const where = id(owner);
        assert.equal(spec.serviceAccountName, 'fiber', where);
        assert.equal(spec.automountServiceAccountToken, false, `${where}: no SA token`);
        assert.equal(spec.securityContext?.runAsNonRoot, true, `${where}: runAsNonRoot`);
        assert.ok(spec.securityContext?.runAsUser > 0, `${where}: non-zero uid`);
        assert.equal(spec.securityContext?.seccompProfile?.type, 'RuntimeDefault', `${where}: seccomp`);
        assert.notEqual(spec.hostNetwork, true, where);
        for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
          const sc = c.securityContext ?? {};
          assert.equal(sc.readOnlyRootFilesystem, true, `${where}/${c.name}: readOnlyRootFilesystem`);
          assert.equal(sc.allowPrivilegeEscalation, false, `${where}/${c.name}: allowPrivilegeEscalation`);
          assert.deepEqual(sc.capabilities?.drop, ['ALL'], `${where}/${c.name}: drop ALL`);
          assert.equal(sc.capabilities?.add, undefined, `${where}/${c.name}: adds nothing`);
          assert.notEqual(sc.privileged, true, `${where}/${c.name}`);
          assert.notEqual(sc.runAsUser, 0, `${where}/${c.name}`);
          const tmp = c.volumeMounts?.find((m: K8sObject) => m.mountPath === '/tmp');
          assert.ok(tmp, `${where}/${c.name}: /tmp is mounted`);
          assert.ok(spec.volumes.find((v: K8sObject) => v.name === tmp.name)?.emptyDir, `${where}/${c.name}: /tmp is an emptyDir`);
          assert.ok(c.resources?.limits?.memory, `${where}/${c.name}: memory limit`);
        }
      }
      assert.equal(find(list, 'Namespace', 'fiber').metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
    });
  }

  it('overlays ship no Secret; every value in the Secret templates is a placeholder', () => {
    for (const overlay of OVERLAYS) {
      assert.deepEqual(objects(overlay).filter((o) => o.kind === 'Secret').map(id), [], `${overlay}: applying an overlay never overwrites real Secrets`);
    }
    const templates = readObjects(SECRET_TEMPLATE);
    assert.ok(templates.every((o) => o.kind === 'Secret'));
    for (const s of templates) {
      assert.equal(s.data, undefined, `${id(s)}: placeholders are in stringData, nothing base64-encoded hides a value`);
      for (const [key, value] of Object.entries(s.stringData ?? {})) {
        assert.match(String(value), /^<REPLACE: [^>]+>$/, `${id(s)} ${key} is a placeholder`);
      }
    }
    // Exactly the Secrets and keys of the contract.
    const got = Object.fromEntries(templates.map((s) => [s.metadata.name, Object.keys(s.stringData ?? {}).sort()]));
    const want = Object.fromEntries(Object.values(SECRETS).map((s) => [s.name, Object.values(s.keys).map(String).sort()]));
    assert.deepEqual(got, want);
  });

  it('every secret env var of the contract is redacted from logs', () => {
    for (const v of secretEnvVars()) assert.ok((SECRET_KEYS as readonly string[]).includes(v.name), `${v.name} in src/log/redact.ts SECRET_KEYS`);
  });

  it('NetworkPolicies let only fiber pods reach Redis and the PS tensor port', () => {
    for (const overlay of OVERLAYS) {
      const list = objects(overlay);
      const deny = find(list, 'NetworkPolicy', 'fiber-default-deny-ingress');
      assert.deepEqual(deny.spec.podSelector, {});
      assert.deepEqual(deny.spec.policyTypes, ['Ingress']);
      assert.equal(deny.spec.ingress, undefined, 'default deny allows nothing');
      const onlyFiber = (name: string, port: number) => {
        const np = find(list, 'NetworkPolicy', name);
        const rules = np.spec.ingress.filter((r: K8sObject) => r.ports.some((p: K8sObject) => p.port === port));
        assert.equal(rules.length, 1, `${name}: one rule for ${port}`);
        assert.deepEqual(rules[0].from, [{ podSelector: { matchLabels: { 'app.kubernetes.io/part-of': 'fiber' } } }], `${name}: ${port} only from fiber pods in the namespace`);
        return np;
      };
      const redisPolicy = onlyFiber('fiber-redis', PORTS.redis);
      const psPolicy = onlyFiber('fiber-ps', PORTS.psTensor);
      // The policies select the pods they protect.
      assert.deepEqual(redisPolicy.spec.podSelector.matchLabels, find(list, 'StatefulSet', 'fiber-redis').spec.selector.matchLabels);
      assert.deepEqual(psPolicy.spec.podSelector.matchLabels, find(list, 'StatefulSet', 'fiber-ps').spec.selector.matchLabels);
      // Every fiber pod carries the label the policies trust, so it can reach them.
      for (const { owner, template } of podSpecs(workloads(overlay))) {
        assert.equal(template.metadata.labels['app.kubernetes.io/part-of'], 'fiber', `${id(owner)} pods are labelled part-of=fiber`);
      }
    }
  });
});

describe('k8s manifests: probes, ports and metrics', () => {
  for (const overlay of OVERLAYS) {
    it(`${overlay}: PS and worker probe /healthz and /readyz on the metrics port and are scraped there`, () => {
      for (const { owner, template, spec } of podSpecs(objects(overlay))) {
        const c = spec.containers[0];
        const process = PROCESS_OF_CONTAINER[c.name];
        if (process !== 'ps' && process !== 'worker') continue;
        const where = `${overlay} ${id(owner)}`;
        const metricsPort = c.ports.find((p: K8sObject) => p.name === 'metrics');
        assert.equal(metricsPort?.containerPort, PORTS.metrics, `${where}: metrics port`);
        for (const [probe, path] of [['livenessProbe', HEALTH_PATHS.liveness], ['readinessProbe', HEALTH_PATHS.readiness], ['startupProbe', HEALTH_PATHS.liveness]] as const) {
          assert.equal(c[probe]?.httpGet?.path, path, `${where}: ${probe} path`);
          assert.ok(c[probe].httpGet.port === 'metrics' || c[probe].httpGet.port === PORTS.metrics, `${where}: ${probe} on the metrics port`);
        }
        const a = template.metadata.annotations ?? {};
        assert.equal(a['prometheus.io/scrape'], 'true', where);
        assert.equal(a['prometheus.io/port'], String(PORTS.metrics), where);
        assert.equal(a['prometheus.io/path'], HEALTH_PATHS.metrics, where);
        assert.equal(envValue(c, 'FIBER_METRICS_PORT'), String(PORTS.metrics), `${where}: FIBER_METRICS_PORT matches the container port`);
        // SIGTERM checkpoints (PS) and drains (worker): give them time.
        assert.ok(spec.terminationGracePeriodSeconds >= 300, `${where}: terminationGracePeriodSeconds`);
        // A stalled heartbeat must eventually fail liveness: the probe can fail, and restarts the container.
        assert.ok(c.livenessProbe.failureThreshold * c.livenessProbe.periodSeconds <= 600, `${where}: restart within 10 min of /healthz turning 503`);
      }
    });
  }

  it('the PS tensor port, the headless Service and the advertised host agree', () => {
    for (const overlay of OVERLAYS) {
      const list = objects(overlay);
      const sts = find(list, 'StatefulSet', 'fiber-ps');
      const svc = find(list, 'Service', 'fiber-ps');
      const c = sts.spec.template.spec.containers[0];
      assert.equal(svc.spec.clusterIP, 'None', 'headless');
      assert.equal(svc.spec.publishNotReadyAddresses, true);
      assert.equal(sts.spec.serviceName, svc.metadata.name);
      assert.deepEqual(svc.spec.selector, sts.spec.selector.matchLabels);
      assert.equal(c.ports.find((p: K8sObject) => p.name === 'tensor')?.containerPort, PORTS.psTensor);
      assert.deepEqual(svc.spec.ports.map((p: K8sObject) => [p.name, p.port]), [['tensor', PORTS.psTensor], ['metrics', PORTS.metrics]]);
      assert.equal(envValue(c, 'FIBER_PS_PORT'), String(PORTS.psTensor));
      assert.equal(envValue(c, 'FIBER_PS_ADVERTISE_HOST'), `$(POD_NAME).${svc.metadata.name}.$(POD_NAMESPACE).svc.cluster.local`);
      assert.deepEqual(c.args, ['ps'], 'shard index from the pod ordinal (HOSTNAME), shards from FIBER_PS_SHARDS');
      // S in the ConfigMap is the number of pods.
      assert.equal(find(list, 'ConfigMap', 'fiber-config').data.FIBER_PS_SHARDS, String(sts.spec.replicas), `${overlay}: FIBER_PS_SHARDS = replicas`);
      const pdb = find(list, 'PodDisruptionBudget', 'fiber-ps');
      assert.deepEqual(pdb.spec.selector.matchLabels, sts.spec.selector.matchLabels);
      assert.equal(pdb.spec.maxUnavailable, 1);
    }
  });
});

describe('k8s manifests: the env contract (src/ops/env-contract.ts)', () => {
  for (const overlay of OVERLAYS) {
    it(`${overlay}: each fiber container sets only contract variables, every required one, from the right source`, () => {
      const list = workloads(overlay);
      const config = find(list, 'ConfigMap', 'fiber-config').data as Record<string, string>;
      const seen = new Set<FiberProcess>();
      for (const { owner, spec } of podSpecs(list)) {
        for (const c of spec.containers) {
          const process = PROCESS_OF_CONTAINER[c.name];
          if (!process) continue;
          seen.add(process);
          const where = `${overlay} ${id(owner)}/${c.name}`;
          assert.equal(c.envFrom, undefined, `${where}: explicit env only, so this test sees every variable`);
          const env: K8sObject[] = c.env ?? [];
          const names = env.map((e) => e.name);
          assert.equal(new Set(names).size, names.length, `${where}: no duplicate variables`);
          const allowed = new Set([...envVarsReadBy(process), ...MANIFEST_HELPER_VARS]);
          for (const n of names) assert.ok(allowed.has(n), `${where} sets ${n}, which ${process} does not read (add it to the contract or remove it)`);
          for (const n of requiredEnvVars(process)) assert.ok(names.includes(n), `${where} must set ${n}`);
          for (const e of env) {
            if (MANIFEST_HELPER_VARS.includes(e.name)) {
              assert.ok(e.valueFrom?.fieldRef, `${where}: ${e.name} comes from the downward API`);
              assert.ok(env.some((other) => String(other.value ?? '').includes(`$(${e.name})`)), `${where}: helper ${e.name} is used`);
              continue;
            }
            const spec = envVarSpec(e.name)!;
            switch (spec.source.kind) {
              case 'secret':
                assert.deepEqual(e.valueFrom?.secretKeyRef, { name: spec.source.secret, key: spec.source.key }, `${where}: ${e.name} from Secret ${spec.source.secret}/${spec.source.key}`);
                break;
              case 'config': {
                const ref = e.valueFrom?.configMapKeyRef;
                assert.equal(ref?.name, 'fiber-config', `${where}: ${e.name} from ConfigMap fiber-config`);
                assert.equal(ref.key, e.name, `${where}: ConfigMap key = variable name`);
                if (ref.optional !== true) assert.ok(e.name in config, `${where}: ${e.name} is a key of fiber-config (or optional)`);
                if (spec.requiredFor.includes(process)) assert.notEqual(ref.optional, true, `${where}: required ${e.name} must not be optional`);
                break;
              }
              case 'downward':
                assert.ok(e.valueFrom?.fieldRef, `${where}: ${e.name} from the downward API`);
                break;
              case 'literal':
                assert.equal(typeof e.value, 'string', `${where}: ${e.name} is a literal`);
                break;
            }
          }
        }
      }
      assert.deepEqual([...seen].sort(), ['pretrain', 'ps', 'worker']);
      // Every ConfigMap key is a contract variable some process reads.
      for (const key of Object.keys(config)) assert.ok(envVarSpec(key)?.source.kind === 'config', `fiber-config key ${key} is a config variable of the contract`);
    });
  }

  it('the contract is consistent with itself', () => {
    const names = ENV_VARS.map((v) => v.name);
    assert.equal(new Set(names).size, names.length);
    for (const v of ENV_VARS) {
      for (const p of v.requiredFor) assert.ok(v.readBy.includes(p), `${v.name}: required for ${p} but not read by it`);
      if (v.source.kind === 'secret') {
        const secret = Object.values(SECRETS).find((s) => s.name === (v.source as { secret: string }).secret);
        assert.ok(secret && (Object.values(secret.keys) as string[]).includes(v.source.key), `${v.name}: secret key in SECRETS`);
      }
    }
    assert.equal(envVarSpec('FIBER_METRICS_PORT')?.defaultValue, String(PORTS.metrics));
    assert.equal(envVarSpec('FIBER_PS_PORT')?.defaultValue, String(PORTS.psTensor));
  });

  it('every k8s/base manifest header lists the variables and ports its containers use', () => {
    const dir = resolve(K8S_DIR, 'base');
    for (const file of [...readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => `base/${f}`), ...JOB_FILES]) {
      const text = readFileSync(resolve(K8S_DIR, file), 'utf8');
      const header = text.split('\n').filter((l) => l.startsWith('#')).join('\n');
      for (const o of parseObjects(text, file)) {
        const spec = o.spec?.template?.spec;
        if (!spec) continue;
        for (const c of spec.containers) {
          for (const e of c.env ?? []) assert.ok(header.includes(e.name), `${file} header mentions ${e.name}`);
          for (const p of c.ports ?? []) assert.ok(header.includes(String(p.containerPort)), `${file} header mentions port ${p.containerPort}`);
        }
      }
    }
  });
});

describe('k8s manifests: overlays', () => {
  it('gpu: GPU workers with tolerations, node selector, fiber-gpu image and a big memory-backed /dev/shm; fiber-base', () => {
    const list = objects('gpu');
    const worker = find(list, 'Deployment', 'fiber-worker').spec.template.spec;
    const c = worker.containers[0];
    assert.equal(c.resources.limits['nvidia.com/gpu'], 1);
    assert.equal(c.resources.requests['nvidia.com/gpu'], 1);
    assert.deepEqual(worker.tolerations, [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    assert.equal(worker.nodeSelector['nvidia.com/gpu.present'], 'true');
    assert.match(c.image, /\/fiber-gpu:/);
    assert.match(find(list, 'StatefulSet', 'fiber-ps').spec.template.spec.containers[0].image, /\/fiber:/, 'the PS needs no CUDA image');
    assertShm(worker, '16Gi');
    assert.equal(runConfig(list).preset, 'fiber-base');
    assert.equal(find(list, 'ConfigMap', 'fiber-config').data.FIBER_S3_ENDPOINT, undefined, 'AWS S3: no endpoint');
  });

  it('cpu: no GPU resource or toleration, small resources, MinIO endpoint; fiber-tiny', () => {
    const list = objects('cpu');
    const worker = find(list, 'Deployment', 'fiber-worker').spec.template.spec;
    const c = worker.containers[0];
    assert.equal(c.resources.limits['nvidia.com/gpu'], undefined);
    assert.equal(c.resources.requests['nvidia.com/gpu'], undefined);
    assert.equal(worker.tolerations, undefined);
    assert.equal(worker.nodeSelector, undefined);
    assert.equal(c.image, 'fiber:0.1.0');
    assertShm(worker, '256Mi');
    assert.equal(runConfig(list).preset, 'fiber-tiny');
    assert.match(find(list, 'ConfigMap', 'fiber-config').data.FIBER_S3_ENDPOINT, /^http:\/\/minio\./);
    const memory = (s: string) => Number(s.replace(/Gi$/, '')) * 1024 || Number(s.replace(/Mi$/, ''));
    for (const { owner, spec } of podSpecs(list)) {
      for (const k of spec.containers) assert.ok(memory(k.resources.limits.memory) <= 2048, `${id(owner)} fits a laptop cluster`);
    }
  });

  for (const overlay of OVERLAYS) {
    it(`${overlay}: Redis keeps BullMQ's data: AOF, noeviction below the memory limit, password from the Secret`, () => {
      const list = objects(overlay);
      const conf: string = find(list, 'ConfigMap', 'fiber-redis-config').data['redis.conf'];
      const lines = new Map(conf.trim().split('\n').map((l) => [l.split(' ')[0]!, l.slice(l.indexOf(' ') + 1)]));
      assert.equal(lines.get('appendonly'), 'yes');
      assert.equal(lines.get('appendfsync'), 'everysec');
      assert.equal(lines.get('maxmemory-policy'), 'noeviction');
      assert.equal(lines.get('include'), '/tmp/redis-auth.conf');
      const sts = find(list, 'StatefulSet', 'fiber-redis');
      const c = sts.spec.template.spec.containers[0];
      const limitMi = /Gi$/.test(c.resources.limits.memory) ? parseFloat(c.resources.limits.memory) * 1024 : parseFloat(c.resources.limits.memory);
      assert.ok(parseFloat(lines.get('maxmemory')!) < limitMi, `${overlay}: maxmemory below the container limit`);
      assert.doesNotMatch(JSON.stringify([c.command, c.args]), /requirepass [^%]/, 'no password on the command line');
      assert.deepEqual(c.env.find((e: K8sObject) => e.name === 'REDIS_PASSWORD').valueFrom.secretKeyRef, { name: SECRETS.redis.name, key: SECRETS.redis.keys.password });
      assert.equal(sts.spec.volumeClaimTemplates[0].metadata.name, 'data');
      assert.ok(c.volumeMounts.some((m: K8sObject) => m.name === 'data' && m.mountPath === '/data'));
      assert.equal(new URL(find(list, 'ConfigMap', 'fiber-config').data.FIBER_REDIS_URL).password, '', 'no password in the URL');
    });
  }

  it('gpu-keda: GPU workers scale to zero on the BullMQ tasks queue, KEDA authenticated by the Redis Secret', () => {
    const list = objects('gpu-keda');
    const so = find(list, 'ScaledObject', 'fiber-worker');
    const worker = find(list, 'Deployment', so.spec.scaleTargetRef.name);
    assert.equal(so.spec.scaleTargetRef.kind, worker.kind);
    assert.equal(so.spec.minReplicaCount, 0, 'no GPU held between runs');
    assert.equal(so.spec.maxReplicaCount, find(objects('gpu'), 'Deployment', 'fiber-worker').spec.replicas, 'at most the gpu overlay\'s worker count');
    const redisService = find(list, 'Service', 'fiber-redis');
    const lists = so.spec.triggers.map((t: K8sObject) => {
      assert.equal(t.type, 'redis');
      assert.equal(t.metadata.address, `${redisService.metadata.name}.fiber.svc.cluster.local:${PORTS.redis}`);
      const auth = find(list, 'TriggerAuthentication', t.authenticationRef.name);
      assert.deepEqual(auth.spec.secretTargetRef, [{ parameter: 'password', name: SECRETS.redis.name, key: SECRETS.redis.keys.password }]);
      return t.metadata.listName;
    });
    // BullMQ's own key names for the queue the coordinator fills (src/queue/keys.ts).
    assert.deepEqual(lists, [`${QUEUE_PREFIX}:${TASKS_QUEUE}:wait`, `${QUEUE_PREFIX}:${TASKS_QUEUE}:active`]);
    const np = find(list, 'NetworkPolicy', 'fiber-redis-keda');
    assert.deepEqual(np.spec.ingress, [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'keda' } } }], ports: [{ port: PORTS.redis, protocol: 'TCP' }] }]);
    assert.equal(list.filter((o) => o.kind === 'Deployment').length, 1);
  });

  it('the pretrain Jobs run `fiber pretrain --stage S --config` on the mounted run config, and fail fast on exit 2', () => {
    for (const file of JOB_FILES) {
      const [job] = readObjects(file);
      assert.ok(job);
      const stage = /pretrain-(\w+)\.yaml$/.exec(file)![1];
      const spec = job.spec.template.spec;
      const c = spec.containers[0];
      assert.deepEqual(c.args, ['pretrain', '--stage', stage, '--config', '/etc/fiber/run.yaml']);
      const mount = c.volumeMounts.find((m: K8sObject) => m.mountPath === '/etc/fiber');
      assert.equal(spec.volumes.find((v: K8sObject) => v.name === mount.name).configMap.name, 'fiber-run');
      assert.equal(spec.restartPolicy, 'Never');
      // The exit codes src/cli/main.ts decides: never retry a usage error, retry a service not up yet.
      assert.deepEqual(job.spec.podFailurePolicy.rules, [
        { action: 'FailJob', onExitCodes: { containerName: 'pretrain', operator: 'In', values: [EXIT_USAGE] } },
        { action: 'Ignore', onExitCodes: { containerName: 'pretrain', operator: 'In', values: [EXIT_TEMPFAIL] } },
        { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
      ]);
      assert.ok(job.spec.activeDeadlineSeconds > 0, 'retries on 75 are bounded by the deadline');
      assert.equal(job.metadata.generateName, `fiber-pretrain-${stage}-`);
    }
  });
});

function envValue(container: K8sObject, name: string): string | undefined {
  return container.env?.find((e: K8sObject) => e.name === name)?.value;
}

function assertShm(podSpec: K8sObject, size: string): void {
  const c = podSpec.containers[0];
  const mount = c.volumeMounts.find((m: K8sObject) => m.mountPath === '/dev/shm');
  assert.ok(mount, '/dev/shm mounted');
  const volume = podSpec.volumes.find((v: K8sObject) => v.name === mount.name);
  assert.deepEqual(volume.emptyDir, { medium: 'Memory', sizeLimit: size });
}

/** The overlay's run.yaml, resolved through fiber's own config boundary (unknown keys are errors). */
function runConfig(list: K8sObject[]): { preset: string } {
  const text: string = find(list, 'ConfigMap', 'fiber-run').data['run.yaml'];
  const file = parseObjects(text, 'run.yaml')[0] as unknown as Record<string, unknown>;
  const config = resolveRunConfig({ file });
  assert.match(JSON.stringify(config.data), /s3:\/\//);
  return config as unknown as { preset: string };
}

describe('k8s manifests: no unknown fields', () => {
  it('every object of both overlays, the Jobs and the Secret templates uses only API fields (type-checked)', () => {
    const all = [
      ...OVERLAYS.flatMap((overlay) => objects(overlay).map((object) => ({ label: `${overlay} ${id(object)}`, object }))),
      ...[...JOB_FILES, SECRET_TEMPLATE].flatMap((file) => readObjects(file).map((object) => ({ label: `${file} ${id(object)}`, object }))),
    ];
    assert.deepEqual(unknownFieldProblems(all), []);
  });

  it('catches a misspelt field deep in a pod template', () => {
    const worker = structuredClone(find(objects('cpu'), 'Deployment', 'fiber-worker'));
    const sc = worker.spec.template.spec.containers[0].securityContext;
    sc.readOnlyRootFileSystem = sc.readOnlyRootFilesystem;
    delete sc.readOnlyRootFilesystem;
    const problems = unknownFieldProblems([{ label: 'typo', object: worker }]);
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.object, 'typo');
    assert.match(problems[0]!.message, /readOnlyRootFileSystem/);
  });
});
