"""Holdfast-protected Redis and LanceDB from a Python Pulumi program, through the SDK that
`pulumi package add` generates from this repository (docs/components.md). Documentation: CI does not
run it (there is no Pulumi CLI there); examples/existing-cluster is the same program in TypeScript,
which CI runs under mocks.

    pulumi package add <path or git URL of the Holdfast repository>   # generates sdks/holdfast
    pulumi config set jobsImage ghcr.io/holdfast/holdfast-jobs:0.1.0
    pulumi config set appImage registry.example.com/team/vectors:2.1.0
    pulumi config set oidcProviderArn arn:aws:iam::123456789012:oidc-provider/oidc.eks...
    pulumi up
"""

import pulumi
import pulumi_kubernetes as k8s
import pulumi_holdfast as holdfast

config = pulumi.Config()

# The existing cluster: the components get its provider through the resource options, never as an arg.
cluster = k8s.Provider("existing-cluster", context=config.get("kubeContext"))
namespace = k8s.core.v1.Namespace(
    "team-data",
    metadata={"name": "team-data"},
    opts=pulumi.ResourceOptions(provider=cluster, protect=True, retain_on_delete=True),
)
# An output of another resource is a valid input of every component arg the schema marks as an input.
ns = namespace.metadata.name
in_namespace = pulumi.ResourceOptions(provider=cluster, depends_on=[namespace])

bucket = holdfast.BackupBucket(
    "team-backups",
    prefix="team-data",
    namespace=ns,
    oidc_provider_arn=config.require("oidcProviderArn"),
    tags={"team": "data"},
)
redis = holdfast.SentinelRedis(
    "cache",
    namespace=ns,
    jobs_image=config.require("jobsImage"),
    memory_limit="1Gi",
    storage_size="16Gi",
    zones=["eu-west-1a"],
    opts=in_namespace,
)
vectors = holdfast.LanceDbStore(
    "vectors",
    namespace=ns,
    mode="ebs",
    app_image=config.require("appImage"),
    storage_size="50Gi",
    zones=["eu-west-1a"],
    opts=in_namespace,
)
holdfast.BackupSchedule(
    "team-schedule",
    namespace=ns,
    jobs_image=config.require("jobsImage"),
    role_arns=bucket.role_arns,
    service_accounts={"backup": "holdfast-backup", "prune": "holdfast-prune", "restore": "holdfast-restore"},
    settings={
        "stack": pulumi.get_stack(),
        "bucket": bucket.bucket_name,
        "prefix": bucket.prefix,
        "region": bucket.region,
        "pushgateway_url": "",
        "schedules": {"redis_backup": "0 2 * * *", "lancedb_backup": "30 2 * * *", "prune": "0 5 * * *", "drill": "0 4 1 * *"},
        "retention": {"keep_last": 7, "keep_daily": 30, "keep_weekly": 0, "keep_monthly": 0},
        "redis": {
            "sentinels": redis.sentinel_addresses,
            "master_name": redis.master_name,
            "secret_name": redis.secret_name,
            "patterns": ["*"],
            "scratch_size": "16Gi",
            "memory_limit": "1Gi",
        },
        "lancedb": {"data_path": vectors.data_path},
    },
    lancedb_volume={
        "claim_name": vectors.claim_names[0],
        "data_path": vectors.data_path,
        "uid": 1000,
        "same_node_as": {
            "app.kubernetes.io/name": "lancedb",
            "app.kubernetes.io/instance": "vectors",
            "app.kubernetes.io/component": "store",
        },
    },
    opts=in_namespace,
)

pulumi.export("sentinelEndpoint", redis.sentinel_endpoint)
pulumi.export("masterName", redis.master_name)
pulumi.export("lancedbEndpoint", vectors.service_endpoint)
pulumi.export("backupBucket", bucket.bucket_name)
