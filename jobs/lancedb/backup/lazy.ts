// Loading a module when it is first needed rather than when the CLI starts (the @lancedb/lancedb native
// library, which no other holdfast command needs). A synchronous require, because tsx (the CLI in a
// checkout) leaves a dynamic import() as a native ESM import.

/** The module `id` (a package, or a path relative to this folder), loaded now. */
export function lazy<T>(id: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(id) as T;
}
