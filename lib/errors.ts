// The error class every rexrag failure uses, with a stable `code` for programs to branch on.
// Native exceptions are translated into it at the N-API boundary (see native/napi/errors.cc).

/** Stable error codes. Native ones come from the addon; the rest from the TypeScript layer. */
export type RexragErrorCode =
  | 'ERR_TORCH' // libtorch raised (shape mismatch, bad device, ...)
  | 'ERR_OOM' // an allocation failed
  | 'ERR_NATIVE' // any other C++ exception
  | 'ERR_INVALID_ARG' // input that breaks a documented precondition
  | 'ERR_ADDON_LOAD' // the native addon could not be loaded
  | 'ERR_BUSY' // a handle is already running a call
  | 'ERR_DISPOSED' // a handle was used after dispose()
  | 'ERR_IO' // a file could not be read or written
  | 'ERR_DISTRIBUTED' // a collective failed or timed out (another rank stopped, the network broke)
  | 'ERR_RETRIEVER' // the retrieval service failed after retries
  | 'ERR_LIMIT'; // an input exceeds a documented budget (sequence length, batch tokens, template output or time)

/** An error raised by rexrag; `code` says what kind of failure it is. */
export class RexragError extends Error {
  readonly code: RexragErrorCode;

  constructor(message: string, code: RexragErrorCode, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RexragError';
    this.code = code;
  }
}

/** True when `error` is a RexragError, optionally with the given code. */
export function isRexragError(error: unknown, code?: RexragErrorCode): error is RexragError {
  return error instanceof RexragError && (code === undefined || error.code === code);
}

/** An input over a documented budget, refused before any work: `limit` names the setting that bounds it. */
export class LimitError extends RexragError {
  constructor(message: string, readonly limit: string, readonly value: number, readonly max: number) {
    super(message, 'ERR_LIMIT');
    this.name = 'LimitError';
  }
}
