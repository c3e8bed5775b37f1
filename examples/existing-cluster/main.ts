// `pulumi up` entry of the example (Pulumi.yaml main): the cluster comes from the kubeconfig context
// named in config, the images and the OIDC provider from config too.
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { protectedStores } from ".";

const config = new pulumi.Config();
const provider = new k8s.Provider("existing-cluster", { context: config.get("kubeContext") });
const outputs = protectedStores({
  provider,
  namespace: config.get("namespace") ?? "team-data",
  appImage: config.require("appImage"),
  jobsImage: config.require("jobsImage"),
  oidcProviderArn: config.require("oidcProviderArn"),
});

export const sentinelEndpoint = outputs.sentinelEndpoint;
export const masterName = outputs.masterName;
export const redisSecret = outputs.redisSecret;
export const lancedbEndpoint = outputs.lancedbEndpoint;
export const backupBucket = outputs.backupBucket;
