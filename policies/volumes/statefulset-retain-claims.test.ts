import { checkResource } from "../evaluate/harness";
import { statefulSetRetainClaims } from "./statefulset-retain-claims";
import { statefulSet } from "./fixtures";

type Props = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe("kubernetes-apps-v1-statefulset-retain-claims", () => {
  it("#1 passes Retain/Retain, and an unset policy (Kubernetes defaults to Retain)", async () => {
    expect((await checkResource(statefulSetRetainClaims, statefulSet())).messages).toEqual([]);
    const unset = statefulSet();
    delete (unset.props.spec as Props).persistentVolumeClaimRetentionPolicy;
    expect((await checkResource(statefulSetRetainClaims, unset)).messages).toEqual([]);
  });

  it.each(["whenDeleted", "whenScaled"])("#2 reports %s: Delete", async (when) => {
    const f = statefulSet();
    (f.props.spec as Props).persistentVolumeClaimRetentionPolicy[when] = "Delete";
    expect((await checkResource(statefulSetRetainClaims, f)).messages).toEqual([
      expect.stringContaining(`persistentVolumeClaimRetentionPolicy.${when} is Delete`),
    ]);
  });
});
