// Entry point of `pulumi up`: reads the stack's config and exports what holdfastStack returns as the
// stack's outputs.
import { loadConfig } from "./config";
import { holdfastStack } from "./stack";

const outputs = holdfastStack(loadConfig());

export const stack = outputs.stack;
export const namespace = outputs.namespace;
export const kubeContext = outputs.kubeContext;
export const redis = outputs.redis;
export const backupPrefix = outputs.backupPrefix;
export const backup = outputs.backup;
export const jobsImage = outputs.jobsImage;
export const schedule = outputs.schedule;
export const jobsRepository = outputs.jobsRepository;
export const lancedb = outputs.lancedb;
// `protected` is a reserved word for a binding, not for an export name.
const isProtected = outputs.protected;
export { isProtected as protected };
