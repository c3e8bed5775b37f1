// Test access to a stack program run offline under Pulumi mocks: run a stack once per test file, find
// the resources it registered, and turn Kubernetes resources into the objects the API server receives.
import { runHoldfastStack, OfflineRun, RecordedResource } from "../../tools/offline";
import { isKubernetesObject, RenderedObject, toObject } from "../../tools/render";

export type { OfflineRun, RecordedResource, RenderedObject };

const runs = new Map<string, Promise<OfflineRun>>();

/**
 * Runs stack `stack` offline with optional config overrides (keys like `holdfast:zones`), once per
 * distinct stack and overrides in this process.
 */
export function stackRun(stack: string, overrides: Record<string, unknown> = {}): Promise<OfflineRun> {
  const key = JSON.stringify([stack, overrides]);
  if (!runs.has(key)) runs.set(key, runHoldfastStack(stack, overrides));
  return runs.get(key)!;
}

/** The one resource of `type` named `name`; throws with the names that exist when there is none. */
export function findResource(run: OfflineRun, type: string, name: string): RecordedResource {
  const found = run.resources.filter((r) => r.type === type && r.name === name);
  if (found.length !== 1) {
    const names = run.resources.filter((r) => r.type === type).map((r) => r.name);
    throw new Error(
      `expected one ${type} named ${name}, found ${found.length} (have: ${names.join(", ") || "none"})`,
    );
  }
  return found[0];
}

/** Every resource of `type`. */
export function resourcesOfType(run: OfflineRun, type: string): RecordedResource[] {
  return run.resources.filter((r) => r.type === type);
}

/** Every Kubernetes object the run would send to the API server. */
export function kubernetesObjects(run: OfflineRun): RenderedObject[] {
  return run.resources.filter(isKubernetesObject).map(toObject);
}

/** The Kubernetes object of kind `kind` with metadata.name `name`. */
export function findObject(run: OfflineRun, kind: string, name: string): RenderedObject {
  const found = kubernetesObjects(run).filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0];
}
