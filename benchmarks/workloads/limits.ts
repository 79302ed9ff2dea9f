// The machine's limits, measured in the same run as everything else: fp32 matmul GFLOP/s of libtorch on a
// large square product (rexrag's matmulBenchmark, with torch.mm from python3-torch beside it as a check that
// both sides run the same BLAS), and memory bandwidth (python3-torch: a full read with x.sum(), and a copy).
import { matmulBenchmark } from '../../lib/runtime.js';
import { runPythonChild, runRexragChild } from '../lib/child.js';
import { numberField, type BenchContext, type Workload } from '../lib/context.js';
import { compared, single } from '../lib/report.js';

/** Worker side: the matmul probe in this (fresh) process. */
export async function measureLimits(task: { matmulSize: number; matmulReps: number }): Promise<Record<string, unknown>> {
  const result = await matmulBenchmark({ size: task.matmulSize, reps: task.matmulReps });
  return { ok: true, gflops: result.gflops, threads: result.threads };
}

export const limitsWorkload: Workload = {
  name: 'limits',
  description: 'matmul GFLOP/s and memory bandwidth of this machine',
  async run(context: BenchContext) {
    const { limits } = context.sizes;
    context.log(`limits: matmul ${limits.matmulSize}² fp32, bandwidth over ${limits.bandwidthMegabytes} MiB`);
    const rex = await runRexragChild({ workload: 'limits', ...limits }, context.sizes.threads);
    const gflops = numberField(rex, 'gflops');
    const py = context.python.available ? await runPythonChild('limits', { ...limits }, context.sizes.threads) : undefined;
    // The limit is the better of the two probes (they run the same BLAS; the gap between them is noise).
    context.limits.matmulGflops = Math.max(gflops ?? 0, numberField(py, 'matmulGflops') ?? 0) || undefined;
    const readGBps = numberField(py, 'readGBps');
    context.limits.readGBps = readGBps ?? undefined;
    context.figures.push(
      compared('machine/matmul_fp32', 'GFLOP/s', gflops, numberField(py, 'matmulGflops'), 'higher', {
        note: `${limits.matmulSize}x${limits.matmulSize}; baseline torch.mm; the better of the two is the training limit`,
      }),
      single('machine/memory_read_bandwidth', 'GB/s', readGBps, {
        note: `best x.sum() over ${limits.bandwidthMegabytes} MiB (python3-torch); the decoding limit`,
      }),
      single('machine/memory_copy_bandwidth', 'GB/s', numberField(py, 'copyGBps'), { note: 'best y.copy_(x), read + write' }),
    );
  },
};
