/*
 * The fields fiber uses of KEDA's CRDs (keda.sh/v1alpha1, KEDA 2.x), written from KEDA's
 * ScaledObject and TriggerAuthentication specs: kubernetes-models ships no CRD types, so these
 * interfaces are what test/k8s/strict-fields.ts type-checks the rendered objects against
 * (an unknown or misspelt field is a type error) and what schema.ts validates.
 */
interface ObjectMeta { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }

export interface IScaledObject {
  apiVersion: 'keda.sh/v1alpha1';
  kind: 'ScaledObject';
  metadata: ObjectMeta;
  spec: {
    scaleTargetRef: { apiVersion?: string; kind?: string; name: string; envSourceContainerName?: string };
    minReplicaCount?: number;
    maxReplicaCount?: number;
    idleReplicaCount?: number;
    pollingInterval?: number;
    cooldownPeriod?: number;
    triggers: Array<{
      type: string;
      name?: string;
      metadata: Record<string, string>;
      authenticationRef?: { name: string; kind?: 'TriggerAuthentication' | 'ClusterTriggerAuthentication' };
    }>;
  };
}

export interface ITriggerAuthentication {
  apiVersion: 'keda.sh/v1alpha1';
  kind: 'TriggerAuthentication';
  metadata: ObjectMeta;
  spec: { secretTargetRef?: Array<{ parameter: string; name: string; key: string }> };
}
