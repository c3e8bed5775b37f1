import { checkResource } from "../evaluate/harness";
import { storageReclaimRetain } from "./storage-reclaim-retain";
import { persistentVolume, storageClass } from "./fixtures";

type Props = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe("kubernetes-storage-reclaim-retain", () => {
  it("#1 passes Retain classes and volumes", async () => {
    expect((await checkResource(storageReclaimRetain, storageClass())).messages).toEqual([]);
    expect((await checkResource(storageReclaimRetain, persistentVolume())).messages).toEqual([]);
  });

  it("#2 reports a class with Delete, and one without a reclaimPolicy (Delete by default)", async () => {
    const del = storageClass();
    del.props.reclaimPolicy = "Delete";
    expect((await checkResource(storageReclaimRetain, del)).messages).toEqual([
      expect.stringContaining("reclaimPolicy is Delete"),
    ]);
    delete del.props.reclaimPolicy;
    expect((await checkResource(storageReclaimRetain, del)).messages).toEqual([
      expect.stringContaining("is not set, so it is Delete"),
    ]);
  });

  it("#3 reports a volume with Delete or Recycle", async () => {
    for (const policy of ["Delete", "Recycle"]) {
      const pv = persistentVolume();
      (pv.props.spec as Props).persistentVolumeReclaimPolicy = policy;
      expect((await checkResource(storageReclaimRetain, pv)).messages).toEqual([
        `persistentVolumeReclaimPolicy is ${policy}: the volume goes when its claim does`,
      ]);
    }
  });
});
