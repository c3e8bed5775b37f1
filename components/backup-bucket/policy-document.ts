// IAM policy documents as plain data: the shape the backup bucket's policies are written in, and the
// questions the tests and policy checks ask of them ("does any statement allow an action matching
// s3:Delete*?"), answered with IAM's own wildcard rules, so `s3:*` counts as allowing a delete.

/** A condition block: operator -> key -> value(s), as in IAM JSON. */
export type Conditions = Record<string, Record<string, string | string[]>>;

/** A principal as IAM JSON writes it. */
export type Principal =
  "*" | { AWS?: string | string[]; Service?: string | string[]; Federated?: string | string[] };

/** One statement of a policy document. */
export interface Statement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Principal?: Principal;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Conditions;
}

/** A policy document (identity, resource or trust policy). */
export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: Statement[];
}

/** A value IAM accepts as one string or a list, as a list. */
export function asList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * True when some action name matches both IAM action patterns (`*` any run of characters, `?` one
 * character, case-insensitive): `s3:*` and `s3:Delete*` overlap, `s3:Get*` and `s3:Delete*` do not.
 */
export function actionPatternsOverlap(a: string, b: string): boolean {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  const memo = new Map<number, boolean>();
  const overlap = (i: number, j: number): boolean => {
    const key = i * (y.length + 1) + j;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let result: boolean;
    if (i === x.length && j === y.length) result = true;
    else if (x[i] === "*") result = overlap(i + 1, j) || (j < y.length && overlap(i, j + 1));
    else if (y[j] === "*") result = overlap(i, j + 1) || (i < x.length && overlap(i + 1, j));
    else if (i === x.length || j === y.length) result = false;
    else result = (x[i] === y[j] || x[i] === "?" || y[j] === "?") && overlap(i + 1, j + 1);
    memo.set(key, result);
    return result;
  };
  return overlap(0, 0);
}

/**
 * The Allow statements of `doc` that grant some action matching `pattern`, whatever their resources
 * and conditions. A `NotAction` Allow counts unless every action it could grant is excluded, which
 * this check does not try to prove: it is reported.
 */
export function statementsAllowing(doc: PolicyDocument, pattern: string): Statement[] {
  return doc.Statement.filter(
    (st) =>
      st.Effect === "Allow" &&
      (st.NotAction !== undefined ||
        asList(st.Action).some((action) => actionPatternsOverlap(action, pattern))),
  );
}

/** Every action the Allow statements of `doc` name (patterns as written). */
export function allowedActions(doc: PolicyDocument): string[] {
  return doc.Statement.filter((st) => st.Effect === "Allow").flatMap((st) => asList(st.Action));
}

/** The statement with `Sid`; throws when there is none. */
export function statementById(doc: PolicyDocument, sid: string): Statement {
  const found = doc.Statement.find((st) => st.Sid === sid);
  if (!found) throw new Error(`no statement ${sid} (have ${doc.Statement.map((st) => st.Sid).join(", ")})`);
  return found;
}
