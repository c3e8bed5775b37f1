// LanceDbStore in its three storage modes, run offline under Pulumi mocks: every Kubernetes object is
// validated against the Kubernetes schema, and the data-safety properties are asserted per mode.
import * as k8s from "@pulumi/kubernetes";
import { HoldfastConfig, readConfigSchema, readStackFile, validateConfig } from "../../config";
import { OfflineRun, runOffline } from "../../tools/offline";
import { isKubernetesObject, RenderedObject, toObject } from "../../tools/render";
import { schemaProblems } from "../../test/support/k8s-schema";
import { findResource, resourcesOfType, stackRun } from "../../test/support/stack";
import { admits, type NetworkPolicyObject } from "../../test/support/network-policy";
import { LanceDbStore, LanceDbStoreArgs, checkLanceDbArgs, liveDatasetKey } from ".";
import { LANCEDB_CLIENT_LABEL, LanceDbMode } from "../../core/lancedb";

const T = {
  statefulSet: "kubernetes:apps/v1:StatefulSet",
  storageClass: "kubernetes:storage.k8s.io/v1:StorageClass",
  pv: "kubernetes:core/v1:PersistentVolume",
  pvc: "kubernetes:core/v1:PersistentVolumeClaim",
  fileSystem: "aws:efs/fileSystem:FileSystem",
  mountTarget: "aws:efs/mountTarget:MountTarget",
  accessPoint: "aws:efs/accessPoint:AccessPoint",
  backupPolicy: "aws:efs/backupPolicy:BackupPolicy",
};

const BASE: LanceDbStoreArgs = {
  namespace: "holdfast",
  mode: "ebs",
  appImage: "registry.example.com/your-team/lancedb-app:1.4.2",
  jobsImage: "ghcr.io/holdfast/holdfast-jobs:0.1.0",
  env: { LOG_LEVEL: "info" },
  efs: { subnetIds: ["subnet-a", "subnet-b", "subnet-c"], securityGroupId: "sg-efs" },
  s3: { bucket: "holdfast-backups", prefix: "prod", region: "us-east-1" },
  roleArn: "arn:aws:iam::123456789012:role/holdfast-lancedb",
  zones: ["us-east-1a", "us-east-1b"],
  allowedNamespaces: ["apps"],
};

/** Creates just the component (and a Kubernetes provider) offline. */
function renderStore(args: Partial<LanceDbStoreArgs>): Promise<OfflineRun> {
  return runOffline("test", { "aws:region": "us-east-1" }, () => {
    const provider = new k8s.Provider("kubernetes", {});
    const store = new LanceDbStore("lancedb", { ...BASE, ...args }, { provider });
    return {
      mode: store.mode,
      statefulSet: store.statefulSetName,
      replicas: store.replicas,
      service: store.serviceEndpoint,
      claimNames: store.claimNames,
      leaseName: store.leaseName,
      dataPath: store.dataPath,
      datasetUri: store.datasetUri,
      storageClassName: store.storageClassName,
      efsFileSystemId: store.efsFileSystemId,
    };
  });
}

function objects(run: OfflineRun): RenderedObject[] {
  return run.resources.filter(isKubernetesObject).map(toObject);
}

function object(run: OfflineRun, kind: string, name: string): RenderedObject {
  const found = objects(run).filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0];
}

/* eslint-disable @typescript-eslint/no-explicit-any */
type Obj = Record<string, any>;
const podSpec = (run: OfflineRun): Obj => (object(run, "StatefulSet", "lancedb").spec as Obj).template.spec;
const app = (run: OfflineRun): Obj => podSpec(run).containers.find((c: Obj) => c.name === "app");
const env = (c: Obj): Record<string, unknown> =>
  Object.fromEntries((c.env as Obj[]).map((e) => [e.name, e.value ?? e.valueFrom]));
/* eslint-enable @typescript-eslint/no-explicit-any */

const runs: Partial<Record<LanceDbMode, OfflineRun>> = {};
beforeAll(async () => {
  for (const mode of ["ebs", "efs", "s3"] as const) runs[mode] = await renderStore({ mode });
});

describe.each(["ebs", "efs", "s3"] as const)("mode %s", (mode) => {
  const run = () => runs[mode]!;

  test("every Kubernetes object is valid against the Kubernetes schema", () => {
    const problems = objects(run()).flatMap((o) =>
      schemaProblems(o).map((p) => `${o.kind}/${o.metadata.name}: ${p}`),
    );
    expect(problems).toEqual([]);
    expect(objects(run()).length).toBeGreaterThanOrEqual(5);
  });

  test("is a holdfast:lancedb:LanceDbStore component; every object carries the recommended labels", () => {
    expect(findResource(run(), "holdfast:lancedb:LanceDbStore", "lancedb").custom).toBe(false);
    for (const o of objects(run()))
      expect({ o: `${o.kind}/${o.metadata.name}`, labels: o.metadata.labels }).toMatchObject({
        labels: {
          "app.kubernetes.io/name": "lancedb",
          "app.kubernetes.io/instance": "lancedb",
          "app.kubernetes.io/part-of": "holdfast",
          "app.kubernetes.io/managed-by": "pulumi",
        },
      });
  });

  test("the StatefulSet is protected, kept on delete, and keeps its claims", () => {
    const sts = findResource(run(), T.statefulSet, "lancedb-store");
    expect([sts.protect, sts.retainOnDelete]).toEqual([true, true]);
    expect(sts.inputs.spec.persistentVolumeClaimRetentionPolicy).toEqual({
      whenDeleted: "Retain",
      whenScaled: "Retain",
    });
    expect(sts.inputs.spec.replicas).toBe(mode === "ebs" ? 1 : 2);
    expect(run().outputs.replicas).toBe(mode === "ebs" ? 1 : 2);
  });

  test("restricted security context on the pod and every container, read-only root", () => {
    const spec = podSpec(run());
    expect(spec.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(spec.automountServiceAccountToken).toBe(false);
    const containers = [...(spec.initContainers ?? []), ...spec.containers];
    expect(containers.map((c: { name: string }) => c.name)).toEqual(
      mode === "ebs" ? ["app"] : ["elector", "app"],
    );
    for (const c of containers)
      expect(c.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
      });
  });

  test("probes on every container; the application gets no API credentials", () => {
    const spec = podSpec(run());
    for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
      expect(c.readinessProbe).toBeDefined();
      expect(c.livenessProbe).toBeDefined();
    }
    expect(app(run()).readinessProbe).toMatchObject({ tcpSocket: { port: 8000 } });
    expect(app(run()).volumeMounts.map((m: { mountPath: string }) => m.mountPath)).not.toContain(
      "/var/run/secrets/kubernetes.io/serviceaccount",
    );
  });

  test("a disruption budget of one pod, and a Service of ready pods only", () => {
    expect(object(run(), "PodDisruptionBudget", "lancedb").spec).toMatchObject({
      maxUnavailable: 1,
      unhealthyPodEvictionPolicy: "AlwaysAllow",
    });
    const service = object(run(), "Service", "lancedb").spec as {
      publishNotReadyAddresses?: boolean;
      selector: object;
    };
    expect(service.publishNotReadyAddresses).toBeUndefined();
    expect(service.selector).toEqual({
      "app.kubernetes.io/name": "lancedb",
      "app.kubernetes.io/instance": "lancedb",
      "app.kubernetes.io/component": "store",
    });
    expect(object(run(), "Service", "lancedb-headless").spec).toMatchObject({
      clusterIP: "None",
      publishNotReadyAddresses: true,
    });
    expect(run().outputs.service).toBe("lancedb.holdfast.svc.cluster.local:8000");
  });

  test("a NetworkPolicy admits to the application's port only pods labelled as its clients, in its namespace and the allowed ones", () => {
    const np = object(run(), "NetworkPolicy", "lancedb") as unknown as NetworkPolicyObject;
    const target = {
      namespace: "holdfast",
      labels: (object(run(), "StatefulSet", "lancedb").spec as Obj).template.metadata.labels,
    };
    const client = { [LANCEDB_CLIENT_LABEL]: "true" };
    expect(admits([np], { namespace: "holdfast", labels: client }, target, 8000)).toBe(true);
    expect(admits([np], { namespace: "apps", labels: client }, target, 8000)).toBe(true);
    expect(admits([np], { namespace: "holdfast", labels: { app: "web" } }, target, 8000)).toBe(false);
    expect(admits([np], { namespace: "elsewhere", labels: client }, target, 8000)).toBe(false);
    expect(admits([np], { namespace: "holdfast", labels: client }, target, 8086)).toBe(false);
    expect(LANCEDB_CLIENT_LABEL).toBe("holdfast.dev/lancedb-client");
  });

  if (mode === "ebs") {
    test("ebs: one pod on a ReadWriteOnce volume of a created Retain, encrypted, expandable class", () => {
      const sc = findResource(run(), T.storageClass, "lancedb-storage");
      expect([sc.protect, sc.retainOnDelete]).toEqual([true, true]);
      expect(sc.inputs).toMatchObject({
        metadata: { name: "holdfast-lancedb-retain" },
        provisioner: "ebs.csi.aws.com",
        parameters: { encrypted: "true" },
        reclaimPolicy: "Retain",
        allowVolumeExpansion: true,
      });
      const sts = object(run(), "StatefulSet", "lancedb").spec as Obj;
      expect(sts.volumeClaimTemplates).toEqual([
        expect.objectContaining({
          spec: {
            accessModes: ["ReadWriteOnce"],
            storageClassName: "holdfast-lancedb-retain",
            resources: { requests: { storage: "20Gi" } },
          },
        }),
      ]);
      expect(app(run()).volumeMounts).toContainEqual({ name: "data", mountPath: "/app/lancedb_data" });
      expect(env(app(run())).LANCEDB_URI).toBe("/app/lancedb_data");
      expect(sts.updateStrategy).toEqual({ type: "RollingUpdate" });
      expect(podSpec(run()).readinessGates).toBeUndefined();
      expect(run().outputs).toMatchObject({
        claimNames: ["data-lancedb-0"],
        leaseName: "",
        storageClassName: "holdfast-lancedb-retain",
      });
      expect(objects(run()).filter((o) => o.kind === "Role")).toEqual([]);
    });
  } else {
    test(`${mode}: a readiness gate on the leader condition, set by a native election sidecar`, () => {
      const spec = podSpec(run());
      expect(spec.readinessGates).toEqual([{ conditionType: "holdfast.dev/leader" }]);
      const elector = spec.initContainers[0];
      expect(elector).toMatchObject({
        name: "elector",
        image: "ghcr.io/holdfast/holdfast-jobs:0.1.0",
        restartPolicy: "Always",
        command: ["holdfast", "pod", "elect", "lancedb"],
        readinessProbe: { httpGet: { path: "/leader", port: "elector" } },
        livenessProbe: { httpGet: { path: "/healthz", port: "elector" } },
      });
      expect(env(elector)).toMatchObject({
        HOLDFAST_LEASE: "lancedb-leader",
        HOLDFAST_CONDITION_TYPE: "holdfast.dev/leader",
        HOLDFAST_MARKER_FILE: "/run/holdfast/leader",
        HOLDFAST_LEASE_DURATION: "15s",
        HOLDFAST_RENEW_DEADLINE: "10s",
        HOLDFAST_RETRY_PERIOD: "2s",
        POD_NAME: { fieldRef: { fieldPath: "metadata.name" } },
      });
      expect(elector.volumeMounts).toContainEqual({
        name: "kube-api-access",
        mountPath: "/var/run/secrets/kubernetes.io/serviceaccount",
        readOnly: true,
      });
      expect(app(run()).volumeMounts).toContainEqual({
        name: "leader",
        mountPath: "/run/holdfast",
        readOnly: true,
      });
      expect(env(app(run())).HOLDFAST_LEADER_FILE).toBe("/run/holdfast/leader");
      const sts = object(run(), "StatefulSet", "lancedb");
      expect((sts.spec as Obj).updateStrategy).toEqual({ type: "OnDelete" });
      expect(sts.metadata.annotations).toEqual({
        "pulumi.com/waitFor": "jsonpath={.status.readyReplicas}=1",
      });
      expect(run().outputs.leaseName).toBe("lancedb-leader");
    });

    test(`${mode}: the sidecar may touch only its Lease and its own pods' status`, () => {
      expect(object(run(), "Role", "lancedb-elector").rules).toEqual([
        { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
        {
          apiGroups: ["coordination.k8s.io"],
          resources: ["leases"],
          resourceNames: ["lancedb-leader"],
          verbs: ["get", "update"],
        },
        {
          apiGroups: [""],
          resources: ["pods/status"],
          resourceNames: ["lancedb-0", "lancedb-1"],
          verbs: ["patch"],
        },
      ]);
      expect(object(run(), "RoleBinding", "lancedb-elector").subjects).toEqual([
        { kind: "ServiceAccount", name: "lancedb", namespace: "holdfast" },
      ]);
      expect(object(run(), "ServiceAccount", "lancedb")).toMatchObject({
        automountServiceAccountToken: false,
        metadata: {
          annotations: { "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/holdfast-lancedb" },
        },
      });
    });
  }

  if (mode === "efs") {
    test("efs: an encrypted, protected file system with a mount target per subnet and an access point", () => {
      const fs = findResource(run(), T.fileSystem, "lancedb-efs");
      expect([fs.protect, fs.retainOnDelete]).toEqual([true, true]);
      expect(fs.inputs).toMatchObject({ encrypted: true, throughputMode: "elastic" });
      expect(
        resourcesOfType(run(), T.mountTarget).map((m) => [m.inputs.subnetId, m.inputs.securityGroups]),
      ).toEqual([
        ["subnet-a", ["sg-efs"]],
        ["subnet-b", ["sg-efs"]],
        ["subnet-c", ["sg-efs"]],
      ]);
      const ap = findResource(run(), T.accessPoint, "lancedb-efs-access-point");
      expect([ap.protect, ap.retainOnDelete]).toEqual([true, true]);
      expect(ap.inputs).toMatchObject({
        fileSystemId: "lancedb-efs-id",
        posixUser: { uid: 1000, gid: 1000 },
        rootDirectory: {
          path: "/holdfast/holdfast/lancedb",
          creationInfo: { ownerUid: 1000, ownerGid: 1000, permissions: "0750" },
        },
      });
      expect(findResource(run(), T.backupPolicy, "lancedb-efs-backup").inputs.backupPolicy).toEqual({
        status: "ENABLED",
      });
    });

    test("efs: a static Retain PersistentVolume on the EFS CSI driver and a ReadWriteMany claim, both protected", () => {
      const pv = findResource(run(), T.pv, "lancedb-data-volume");
      const pvc = findResource(run(), T.pvc, "lancedb-data-claim");
      for (const r of [pv, pvc]) expect([r.protect, r.retainOnDelete]).toEqual([true, true]);
      expect(pv.inputs.metadata.name).toBe("holdfast-lancedb-data");
      expect(pv.inputs.spec).toMatchObject({
        persistentVolumeReclaimPolicy: "Retain",
        accessModes: ["ReadWriteMany"],
        storageClassName: "",
        claimRef: { namespace: "holdfast", name: "lancedb-data" },
        csi: { driver: "efs.csi.aws.com", volumeHandle: "lancedb-efs-id::lancedb-efs-access-point-id" },
      });
      expect(pvc.inputs.spec).toMatchObject({
        accessModes: ["ReadWriteMany"],
        storageClassName: "",
        volumeName: "holdfast-lancedb-data",
      });
      expect(podSpec(run()).volumes).toContainEqual({
        name: "data",
        persistentVolumeClaim: { claimName: "lancedb-data" },
      });
      expect(app(run()).volumeMounts).toContainEqual({ name: "data", mountPath: "/app/lancedb_data" });
      expect(run().outputs).toMatchObject({
        claimNames: ["lancedb-data"],
        efsFileSystemId: "lancedb-efs-id",
      });
      expect(resourcesOfType(run(), T.storageClass)).toEqual([]);
    });
  }

  if (mode === "s3") {
    test("s3: the dataset is opened on S3 beside the backups, with IRSA; nothing is mounted at the data path", () => {
      expect(env(app(run()))).toMatchObject({
        LANCEDB_URI: "s3://holdfast-backups/prod/lancedb/live/",
        AWS_REGION: "us-east-1",
        HOLDFAST_LANCEDB_MODE: "s3",
        LOG_LEVEL: "info",
      });
      expect(app(run()).volumeMounts.map((m: { mountPath: string }) => m.mountPath)).not.toContain(
        "/app/lancedb_data",
      );
      expect(resourcesOfType(run(), T.pvc).length + resourcesOfType(run(), T.pv).length).toBe(0);
      expect(run().outputs).toMatchObject({
        claimNames: [],
        datasetUri: "s3://holdfast-backups/prod/lancedb/live/",
      });
    });
  }
});

describe("EFS given by id", () => {
  test("an existing file system and access point: no AWS resources, the handle joins the two", async () => {
    const run = await renderStore({
      mode: "efs",
      efs: { fileSystemId: "fs-0abc", accessPointId: "fsap-0def" },
    });
    expect(run.resources.filter((r) => r.type.startsWith("aws:"))).toEqual([]);
    expect(findResource(run, T.pv, "lancedb-data-volume").inputs.spec.csi.volumeHandle).toBe(
      "fs-0abc::fsap-0def",
    );
  });

  test("an existing file system without an access point: the store creates one on it", async () => {
    const run = await renderStore({ mode: "efs", efs: { fileSystemId: "fs-0abc" } });
    expect(resourcesOfType(run, T.fileSystem)).toEqual([]);
    expect(resourcesOfType(run, T.mountTarget)).toEqual([]);
    expect(findResource(run, T.accessPoint, "lancedb-efs-access-point").inputs.fileSystemId).toBe("fs-0abc");
    expect(findResource(run, T.pv, "lancedb-data-volume").inputs.spec.csi.volumeHandle).toBe(
      "fs-0abc::lancedb-efs-access-point-id",
    );
  });
});

describe("arguments", () => {
  const settings = (args: Partial<LanceDbStoreArgs>) => () =>
    checkLanceDbArgs("lancedb", { ...BASE, ...args });

  test("each mode refuses what it cannot run with", () => {
    expect(settings({ mode: "efs", efs: {} })).toThrow(/efs needs efs.fileSystemId, or efs.subnetIds/);
    expect(settings({ mode: "efs", efs: { subnetIds: ["s"] } })).toThrow(/efs needs/);
    expect(settings({ mode: "s3", s3: undefined })).toThrow(/s3 needs s3.bucket/);
    expect(settings({ mode: "efs", jobsImage: undefined })).toThrow(/needs jobsImage/);
    expect(settings({ mode: "nfs" as LanceDbMode })).toThrow(/mode must be one of ebs, efs, s3/);
    expect(settings({ env: { LANCEDB_URI: "/elsewhere" } })).toThrow(/env may not set LANCEDB_URI/);
    expect(settings({ election: { leaseDuration: 10, renewDeadline: 10 } })).toThrow(
      /renewDeadline must be < leaseDuration/,
    );
    expect(settings({ appUid: 0 })).toThrow(/non-root/);
    expect(settings({ mode: "ebs", jobsImage: undefined, efs: undefined, s3: undefined })).not.toThrow();
  });

  test("probes given as a path probe it over HTTP on the app's port; without one, a TCP connection", async () => {
    const run = await renderStore({
      appPort: 9000,
      readinessProbe: { path: "/ready", periodSeconds: 4 },
      livenessProbe: { initialDelaySeconds: 60 },
    });
    expect(app(run).readinessProbe).toEqual({ httpGet: { path: "/ready", port: 9000 }, periodSeconds: 4 });
    expect(app(run).livenessProbe).toEqual({ tcpSocket: { port: 9000 }, initialDelaySeconds: 60 });
  });

  test("an existing storage class is used as given; the data path is configurable", async () => {
    const run = await renderStore({ storageClassName: "gp3-retain", dataPath: "/data/lance" });
    expect(resourcesOfType(run, T.storageClass)).toEqual([]);
    expect(
      (object(run, "StatefulSet", "lancedb").spec as Obj).volumeClaimTemplates[0].spec.storageClassName,
    ).toBe("gp3-retain");
    expect(app(run).volumeMounts).toContainEqual({ name: "data", mountPath: "/data/lance" });
    expect(env(app(run)).LANCEDB_URI).toBe("/data/lance");
  });

  test("the live dataset's key is beside the backup layout, never under lancedb/files or lancedb/snapshots", () => {
    expect(liveDatasetKey("prod")).toBe("prod/lancedb/live/");
    expect(liveDatasetKey("/a/b/")).toBe("a/b/lancedb/live/");
    expect(liveDatasetKey("")).toBe("lancedb/live/");
    for (const p of ["", "prod"]) {
      expect(liveDatasetKey(p).startsWith(`${p ? p + "/" : ""}lancedb/files/`)).toBe(false);
      expect(liveDatasetKey(p).startsWith(`${p ? p + "/" : ""}lancedb/snapshots/`)).toBe(false);
    }
  });
});

/** A stack's configuration as loadConfig resolves it: the stack file over the schema's defaults. */
function stackConfig(stack: string, overrides: Record<string, unknown>): HoldfastConfig {
  const file = readStackFile(stack);
  const values: Record<string, unknown> = { stack };
  for (const [key, schema] of Object.entries(readConfigSchema()))
    values[key] = overrides[key] ?? file[`holdfast:${key}`] ?? schema.default;
  return values as unknown as HoldfastConfig;
}

describe("in the stacks", () => {
  const lanceObjects = (run: OfflineRun) =>
    objects(run).filter(
      (o) =>
        (o.metadata.labels as Record<string, string> | undefined)?.["app.kubernetes.io/name"] === "lancedb",
    );

  test.each([
    ["dev", {}, "ebs", 1],
    ["prod", {}, "efs", 2],
    ["dev", { "holdfast:lancedbMode": "s3" }, "s3", 2],
  ] as const)(
    "%s %j runs LanceDB in %s mode with %i pods, every object schema-valid",
    async (stack, overrides, mode, n) => {
      const run = await stackRun(stack, overrides);
      const store = findResource(run, "holdfast:lancedb:LanceDbStore", "lancedb");
      expect(store.custom).toBe(false);
      expect(lanceObjects(run).flatMap((o) => schemaProblems(o))).toEqual([]);
      expect(run.outputs.lancedb).toMatchObject({
        mode,
        replicas: n,
        statefulSet: "lancedb",
        dataPath: "/app/lancedb_data",
      });
      const sts = findResource(run, T.statefulSet, "lancedb-store");
      expect(sts.provider).toBe("pulumi:providers:kubernetes::kubernetes");
      expect([sts.protect, sts.retainOnDelete]).toEqual([true, true]);
    },
  );

  test("s3 mode opens the dataset in the stack's backup bucket, beside its backups", async () => {
    const run = await stackRun("dev", { "holdfast:lancedbMode": "s3" });
    expect((run.outputs.lancedb as { datasetUri: string }).datasetUri).toBe(
      "s3://backups-bucket-mock/dev/lancedb/live/",
    );
    expect(env(app(run))).toMatchObject({ AWS_REGION: "us-east-1" });
  });

  test("the sidecar runs the stack's jobs image (prod: the built image by digest)", async () => {
    const run = await stackRun("prod");
    expect(podSpec(run).initContainers[0].image).toMatch(/holdfast\/prod\/jobs@sha256:/);
    expect(run.outputs.lancedb).toMatchObject({ claimNames: ["lancedb-data"], leaseName: "lancedb-leader" });
  });

  test("stack config is checked: efs needs a file system or subnets, env entries must be NAME=value", () => {
    const check = (stack: string, overrides: Record<string, unknown>) => () =>
      validateConfig(stackConfig(stack, overrides));
    expect(check("prod", {})).not.toThrow();
    expect(check("prod", { lancedbSubnetIds: [], lancedbEfsFileSystemId: "" })).toThrow(
      /lancedbMode efs needs lancedbEfsFileSystemId, or lancedbSubnetIds/,
    );
    expect(check("prod", { lancedbSubnetIds: [], lancedbEfsFileSystemId: "fs-0abc" })).not.toThrow();
    expect(check("dev", { lancedbEfsAccessPointId: "fsap-0def" })).toThrow(
      /needs the lancedbEfsFileSystemId/,
    );
    expect(check("dev", { lancedbMode: "nfs" })).toThrow(/lancedbMode must be ebs, efs or s3/);
    expect(check("dev", { lancedbEnv: ["NOT AN ENTRY"] })).toThrow(/NAME=value/);
    expect(check("dev", { lancedbAppUid: 0 })).toThrow(/non-root/);
  });

  test("lancedbEnv entries reach the application", async () => {
    const run = await stackRun("dev", { "holdfast:lancedbEnv": ["MODEL=small=v2", "LOG_LEVEL=debug"] });
    expect(env(app(run))).toMatchObject({ MODEL: "small=v2", LOG_LEVEL: "debug" });
  });
});
