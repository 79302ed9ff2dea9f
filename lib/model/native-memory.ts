// Native memory housekeeping from TypeScript: returning freed heap to the system between RL steps, and the
// count of live generation sessions (to check that undisposed ones are freed by their finalizers). What holds
// the memory (policies, sessions, trainers) frees it itself; this only trims and counts.
import { native } from '../native.js';
import type { NativeBlockCacheStats } from '../native-types.js';

/**
 * Returns the native heap freed since the last call to the system (glibc malloc_trim(0)). An RL step's transient
 * tensors otherwise stay resident at their peak in malloc's arenas. Cheap (milliseconds); call it between steps,
 * not inside a native call. Returns whether memory was released (always false off glibc).
 */
export function trimNativeMemory(): boolean {
  return native().trimNativeMemory();
}

/**
 * The CPU block cache: freed tensor blocks of 64 KiB and more that libtorch's allocator keeps for reuse, up to
 * REXRAG_CPU_BLOCK_CACHE bytes (default 1 GiB, 0 = off), so that the next step does not fault fresh pages in.
 * `releaseBlockCache()` frees the cached blocks now (memory in use is untouched).
 */
export function blockCacheStats(): NativeBlockCacheStats {
  return native().blockCache(false);
}

export function releaseBlockCache(): number {
  return native().blockCache(true).releasedBytes;
}

/** Generation sessions alive in native memory: created and not yet freed by dispose() or garbage collection. */
export function liveNativeSessions(): number {
  return native().liveSessions();
}
