// Public runtime API: what libtorch this process runs on, its thread count, and a matmul throughput probe.
import { native } from './native.js';
import type { MatmulOptions, MatmulResult, RuntimeInfo } from './native-types.js';
import { enqueueTorchJob } from './torch-queue.js';
import { expectInteger, expectObject, expectString } from './validate.js';

export type { MatmulOptions, MatmulResult, RuntimeInfo } from './native-types.js';

/** libtorch version, intra-op threads, devices and the BLAS library in use. */
export function runtimeInfo(): RuntimeInfo {
  return native().runtimeInfo();
}

/** Sets libtorch's intra-op thread count for this process (default: the number of cores). */
export function setNumThreads(numThreads: number): void {
  native().setNumThreads(expectInteger(numThreads, 'numThreads', { min: 1, max: 1024 }));
}

/**
 * Times `reps` fp32 products of two random `size`×`size` matrices off the main thread.
 * GFLOP/s = 2·size³·reps / seconds. Queued behind other torch work.
 */
export function matmulBenchmark(options: MatmulOptions): Promise<MatmulResult> {
  const checked = expectObject(options, 'options');
  const size = expectInteger(checked.size, 'options.size', { min: 1, max: 16384 });
  const reps = expectInteger(checked.reps, 'options.reps', { min: 1, max: 1_000_000 });
  const device = checked.device === undefined ? 'cpu' : expectString(checked.device, 'options.device');
  const seed = checked.seed === undefined ? 0 : expectInteger(checked.seed, 'options.seed', { min: 0 });
  return enqueueTorchJob(() => native().matmulBenchmark({ size, reps, device, seed }));
}
