// The Holdfast stack program: stack config in, components wired, stack outputs out. index.ts runs it
// under the Pulumi CLI; tools/offline.ts runs it under mocks for `npm run render` and the tests.
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { HoldfastConfig } from "./config";
import { SentinelRedis } from "./components/redis";

/** What operators and the holdfast stack commands read from a stack (`pulumi stack output --json`). */
export interface HoldfastOutputs {
  stack: string;
  namespace: string;
  kubeContext: string;
  redis: {
    statefulSet: string;
    sentinelStatefulSet: string;
    sentinelEndpoint: string;
    sentinels: string;
    masterName: string;
    secretName: string;
    claimNames: string[];
    storageClassName: string;
  };
  backupPrefix: string;
  jobsImage: pulumi.Input<string>;
}

/**
 * Builds every resource of a stack.
 * @param config the stack's configuration (see config.ts and Pulumi.yaml).
 */
export function holdfastStack(config: HoldfastConfig): HoldfastOutputs {
  const provider = new k8s.Provider("kubernetes", {
    context: config.kubeContext || undefined,
    enableServerSideApply: true,
  });

  // The namespace holds the data volumes' claims: deleting it would delete them, so it is protected.
  const namespace = new k8s.core.v1.Namespace(
    "namespace",
    {
      metadata: {
        name: config.namespace,
        labels: { "app.kubernetes.io/part-of": "holdfast", "holdfast.dev/stack": config.stack },
      },
    },
    { provider, protect: true, retainOnDelete: true },
  );

  const jobsImage = config.jobsImage;
  const redis = new SentinelRedis(
    "redis",
    {
      namespace: config.namespace,
      redisImage: config.redisImage,
      jobsImage,
      masterName: config.redisMasterName,
      replicas: config.redisReplicas,
      sentinels: config.sentinelReplicas,
      quorum: config.sentinelQuorum,
      downAfterMilliseconds: config.downAfterMilliseconds,
      failoverTimeoutMilliseconds: config.failoverTimeoutMilliseconds,
      minReplicasToWrite: config.minReplicasToWrite,
      minReplicasMaxLag: config.minReplicasMaxLag,
      storageClassName: config.storageClassName || undefined,
      storageSize: config.redisStorageSize,
      cpuRequest: config.redisCpuRequest,
      cpuLimit: config.redisCpuLimit,
      memoryLimit: config.redisMemoryLimit,
      sentinelMemoryLimit: config.sentinelMemoryLimit,
      zones: config.zones,
      strictScheduling: config.strictScheduling,
      allowedNamespaces: config.allowedNamespaces,
    },
    { provider, dependsOn: [namespace] },
  );

  return {
    stack: config.stack,
    namespace: config.namespace,
    kubeContext: config.kubeContext,
    redis: {
      statefulSet: redis.statefulSetName,
      sentinelStatefulSet: redis.sentinelStatefulSetName,
      sentinelEndpoint: redis.sentinelEndpoint,
      sentinels: redis.sentinelAddresses,
      masterName: redis.masterName,
      secretName: redis.secretName,
      claimNames: redis.claimNames,
      storageClassName: redis.storageClassName,
    },
    backupPrefix: config.backupPrefix,
    jobsImage,
  };
}
