// The reason recorded in the manifests of stream bases, apart from the stream's code (base.ts) so what only
// tells a base from a backup (a restore choosing `latest`) loads none of it.

/** The reason recorded in the manifests of stream bases. */
export const STREAM_BASE_REASON = "stream-base";
