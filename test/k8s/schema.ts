import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { K8sObject } from './render.js';

/**
 * Schema validation with kubernetes-models (tommy351/kubernetes-models-ts): the Kubernetes
 * OpenAPI schemas compiled to ajv validators and shipped in the package, so it works offline.
 * It checks types, enums, required fields and formats; it does not reject unknown fields, which
 * the tests below cover for the fields fiber relies on.
 */
type Validatable = { validate(): void };
const MODELS: Record<string, new (data: never) => Validatable> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'batch/v1/Job': Job,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'keda.sh/v1alpha1/ScaledObject': class { constructor(private readonly o: K8sObject) {} validate() { validateScaledObject(this.o); } },
  'keda.sh/v1alpha1/TriggerAuthentication': class { constructor(private readonly o: K8sObject) {} validate() { validateTriggerAuthentication(this.o); } },
};

/** KEDA ships no offline schema: the required fields and types of its CRDs that fiber's objects use. */
function validateScaledObject(o: K8sObject): void {
  const spec = o.spec;
  if (!o.metadata?.name) throw new Error('metadata.name is required');
  if (typeof spec?.scaleTargetRef?.name !== 'string') throw new Error('spec.scaleTargetRef.name must be string');
  for (const k of ['minReplicaCount', 'maxReplicaCount', 'pollingInterval', 'cooldownPeriod', 'idleReplicaCount']) {
    if (spec[k] !== undefined && (!Number.isInteger(spec[k]) || spec[k] < 0)) throw new Error(`spec.${k} must be integer >= 0`);
  }
  if ((spec.minReplicaCount ?? 0) > (spec.maxReplicaCount ?? 100)) throw new Error('spec.minReplicaCount must be <= maxReplicaCount');
  if (!Array.isArray(spec.triggers) || spec.triggers.length === 0) throw new Error('spec.triggers must be a non-empty array');
  for (const t of spec.triggers) {
    if (typeof t.type !== 'string') throw new Error('spec.triggers[].type must be string');
    for (const [k, v] of Object.entries(t.metadata ?? {})) if (typeof v !== 'string') throw new Error(`spec.triggers[].metadata.${k} must be string`);
  }
}

function validateTriggerAuthentication(o: K8sObject): void {
  if (!o.metadata?.name) throw new Error('metadata.name is required');
  for (const r of o.spec?.secretTargetRef ?? []) {
    for (const k of ['parameter', 'name', 'key']) if (typeof r[k] !== 'string') throw new Error(`spec.secretTargetRef[].${k} must be string`);
  }
}

/** Validate one object against its API schema; returns the error message, or undefined when valid. */
export function schemaError(o: K8sObject): string | undefined {
  const Model = MODELS[`${o.apiVersion}/${o.kind}`];
  if (!Model) return `no schema for ${o.apiVersion} ${o.kind}: add it to test/k8s/schema.ts`;
  try {
    new Model(o as never).validate();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
