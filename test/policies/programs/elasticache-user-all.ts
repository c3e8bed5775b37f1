// An ElastiCache RBAC user for the application with `+@all`: it can FLUSHALL the cache.
import * as aws from "@pulumi/aws";

export const user = new aws.elasticache.User("app", {
  userId: "orders-app",
  userName: "orders-app",
  engine: "redis",
  accessString: "on ~* +@all",
  authenticationMode: { type: "password", passwords: ["a-long-password-for-the-app-1"] },
}).userId;
