// The policy pack the Pulumi CLI runs: `pulumi preview --policy-pack policies`. Constructing a
// PolicyPack starts the analyzer's gRPC server, so this file does nothing else; the policies live in
// their own modules (see pack.ts), which tests and the offline evaluator import without a server.
import { PolicyPack } from "@pulumi/policy";
import { PACK_DESCRIPTION, PACK_ENFORCEMENT, PACK_NAME, policies } from "./pack";

new PolicyPack(PACK_NAME, {
  description: PACK_DESCRIPTION,
  enforcementLevel: PACK_ENFORCEMENT,
  policies,
});
