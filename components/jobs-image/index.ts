// The jobs image area: the JobsImage component, the Dockerfile reader and the image's tag and
// repository policy.
export * from "./jobs-image";
export * from "./dockerfile";
export * from "./build-context";
export * from "./ecr-lifecycle";
