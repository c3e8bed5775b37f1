import { UNKNOWN, checkStack } from "../evaluate/harness";
import { lancedbStore, sharedClaim } from "../backups/fixtures";
import { lancedbSingleWriter as policy } from "./single-writer";

type Props = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const podSpec = (f: ReturnType<typeof lancedbStore>) => (f.props.spec as Props).template.spec;

describe("lancedb-single-writer", () => {
  it("#1 passes Holdfast's three modes: one pod on EBS, an elected pair on a ReadWriteMany claim or on S3", async () => {
    expect((await checkStack(policy, [lancedbStore("ebs")])).messages).toEqual([]);
    expect((await checkStack(policy, [lancedbStore("efs"), sharedClaim()])).messages).toEqual([]);
    expect((await checkStack(policy, [lancedbStore("s3")])).messages).toEqual([]);
  });

  it("#2 reports two pods on a ReadWriteOnce claim, or on a claim the stack does not hold", async () => {
    expect(
      (await checkStack(policy, [lancedbStore("efs"), sharedClaim(["ReadWriteOnce"])])).messages,
    ).toEqual([
      "LanceDB store StatefulSet holdfast/lancedb runs 2 replicas: claim lancedb-data is ReadWriteOnce, not ReadWriteMany",
    ]);
    expect((await checkStack(policy, [lancedbStore("efs")])).messages).toEqual([
      expect.stringContaining("claim lancedb-data is not in this stack"),
    ]);
  });

  it("#3 reports a pair without the election sidecar, or without the readiness gate", async () => {
    const noElector = lancedbStore("efs");
    delete podSpec(noElector).initContainers;
    expect((await checkStack(policy, [noElector, sharedClaim()])).messages).toEqual([
      expect.stringContaining("no election sidecar (`holdfast pod elect lancedb`): every replica may write"),
    ]);
    const noGate = lancedbStore("s3");
    delete podSpec(noGate).readinessGates;
    expect((await checkStack(policy, [noGate])).messages).toEqual([
      expect.stringContaining("no readiness gate holdfast.dev/leader"),
    ]);
  });

  it("#4 reports an EBS store scaled to two: a volume each, and nobody elected", async () => {
    const scaled = lancedbStore("ebs");
    (scaled.props.spec as Props).replicas = 2;
    expect((await checkStack(policy, [scaled])).messages).toEqual([
      expect.stringContaining('each pod gets its own volume from volumeClaimTemplate "data"'),
      expect.stringContaining("no election sidecar"),
    ]);
  });

  it("#5 replicas unknown during preview is the preview advisory", async () => {
    const f = lancedbStore("efs");
    (f.props.spec as Props).replicas = UNKNOWN;
    expect((await checkStack(policy, [f, sharedClaim()])).violations).toEqual([
      expect.objectContaining({ unknown: true }),
    ]);
  });
});
