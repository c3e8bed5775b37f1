// Kubernetes memory quantities (`512Mi`, `8Gi`, `1G`), read the same way by the stack (Redis's
// maxmemory from the container's limit) and the stack commands (a restore Job's memory), in whole bytes.

const UNITS: Record<string, number> = {
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};

/** Whole bytes of a memory quantity (rounded down); undefined when `quantity` is not one. */
export function quantityBytes(quantity: string | undefined): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(String(quantity ?? "").trim());
  return m ? Math.floor(Number(m[1]) * UNITS[m[2] ?? ""]) : undefined;
}

/** Whole bytes of a memory quantity. @throws when `quantity` is not one */
export function quantityToBytes(quantity: string): number {
  const bytes = quantityBytes(quantity);
  if (bytes === undefined) throw new Error(`not a memory quantity: ${quantity}`);
  return bytes;
}

/** A memory quantity in whole MiB, rounded up. */
export function mebibytes(bytes: number): string {
  return `${Math.ceil(bytes / 2 ** 20)}Mi`;
}
