// The TypeScript owner of one native handle (a policy, a trainer): dispose() releases it once, and any use
// after that is an ERR_DISPOSED error instead of a call into freed native state.
import { RexragError } from '../errors.js';

export abstract class NativeOwner<Handle extends { dispose(): void }> {
  private disposed = false;

  /** `what` names the object in the ERR_DISPOSED message ("the policy was disposed"). */
  protected constructor(
    protected readonly handle: Handle,
    private readonly what: string,
  ) {}

  /** Frees the native memory now (it is also freed when the object is garbage-collected). Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.handle.dispose();
    this.disposed = true;
  }

  /** Throws ERR_DISPOSED once dispose() was called. */
  protected checkLive(): void {
    if (this.disposed) throw new RexragError(`the ${this.what} was disposed`, 'ERR_DISPOSED');
  }
}
