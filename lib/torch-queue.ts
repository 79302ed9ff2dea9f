// Runs native torch jobs one at a time. libtorch already uses every core inside one job; two jobs at once
// oversubscribe the cores (measured: 4 concurrent matmuls run at ~12 GFLOP/s each versus ~105 alone).
// Work that is not torch (retrieval, tokenisation, I/O) is not queued and overlaps freely.

let tail: Promise<unknown> = Promise.resolve();
let pending = 0;

/** Queues `job` behind every torch job already queued and resolves with its result. */
export function enqueueTorchJob<T>(job: () => Promise<T>): Promise<T> {
  pending += 1;
  const run = async (): Promise<T> => {
    try {
      return await job();
    } finally {
      pending -= 1;
    }
  };
  const result = tail.then(run, run);
  tail = result.catch(() => undefined);
  return result;
}

/** How many torch jobs are queued or running. */
export function pendingTorchJobs(): number {
  return pending;
}
