// The two ways a holdfast command fails, mapped to exit codes by the CLI: bad input (2) and a failure
// of the operation (1). Both carry one line for the operator; a failure also says what state things
// are in and how to go on.

/** Bad input: an unknown flag, a malformed id, a missing directory. Exit code 2, one line, no stack. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The operation failed. Exit code 1; `state` says what is left behind and how to continue. */
export class OperationError extends Error {
  constructor(
    message: string,
    /** What state things are in now, and how to go on (re-run, roll back, where the data is). */
    public readonly state?: string,
  ) {
    super(message);
    this.name = "OperationError";
  }
}
