// SelfSubjectAccessReview on the API stand-in: `POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews`
// answers whether the requesting user may do a verb on a resource, as `kubectl auth can-i` asks. Every
// review is allowed unless a test denies it; a denial answers the review only (the stand-in does not
// enforce RBAC on the requests themselves; its per-user faults do that).
import type { KubeApiServer, Middleware } from "./server";

/** A verb on a resource that reviews are denied for; omitted fields match anything. */
export interface AccessRule {
  /** The bearer token (user) it applies to; default every user. */
  user?: string;
  verb: string;
  /** API group; "" for the core group. */
  group?: string;
  resource: string;
  subresource?: string;
  namespace?: string;
}

interface ResourceAttributes {
  verb?: string;
  group?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

const PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";

/** The access reviews of one stand-in: allowed unless denied. */
export class AccessReviews {
  private readonly denied: AccessRule[] = [];

  /** Denies reviews matching `rule` from now on. */
  deny(rule: AccessRule): void {
    this.denied.push(rule);
  }

  /** Allows everything again. */
  clear(): void {
    this.denied.length = 0;
  }

  private denies(user: string, a: ResourceAttributes): AccessRule | undefined {
    return this.denied.find(
      (r) =>
        (r.user === undefined || r.user === user) &&
        r.verb === a.verb &&
        (r.group ?? "") === (a.group ?? "") &&
        r.resource === a.resource &&
        (r.subresource ?? "") === (a.subresource ?? "") &&
        (r.namespace === undefined || r.namespace === a.namespace),
    );
  }

  readonly middleware: Middleware = async (req, next) => {
    if (req.path !== PATH) return next();
    if (req.method !== "POST") return { status: 405, body: { kind: "Status", code: 405 } };
    const review = (req.body ?? {}) as { spec?: { resourceAttributes?: ResourceAttributes } };
    const attributes = review.spec?.resourceAttributes ?? {};
    const rule = this.denies(req.user, attributes);
    return {
      status: 201,
      body: {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SelfSubjectAccessReview",
        metadata: {},
        spec: review.spec ?? {},
        status: rule
          ? { allowed: false, denied: true, reason: `denied to ${req.user} by the test` }
          : { allowed: true, reason: "the stand-in allows it" },
      },
    };
  };
}

/** Serves access reviews on `server`; returns them to deny with. */
export function serveAccessReviews(server: KubeApiServer): AccessReviews {
  const reviews = new AccessReviews();
  server.use(reviews.middleware);
  return reviews;
}
