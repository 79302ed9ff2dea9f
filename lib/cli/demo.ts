// `rexrag demo` (what `npm start` runs). Until the embedded REX-RAG lab lands, it runs a self-check of the
// native runtime and says so.
import { matmulBenchmark, runtimeInfo } from '../runtime.js';
import { parseCommandArgs } from './parse.js';
import type { Command } from './usage.js';

const usage = 'usage: rexrag demo\n  Runs the embedded demo. (For now: a self-check of the native runtime.)';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run the embedded demo (currently a native runtime self-check)',
  usage,
  async run(argv) {
    if (!parseCommandArgs(argv, {}, usage)) return 0;
    process.stderr.write('rexrag demo: the REX-RAG vs GRPO lab is not built yet; running a runtime self-check.\n');
    const info = runtimeInfo();
    const matmul = await matmulBenchmark({ size: 1024, reps: 10 });
    const blasOk = /openblas|mkl/i.test(info.blasLibrary);
    process.stdout.write(`${JSON.stringify({ runtime: info, matmul1024: matmul, optimisedBlas: blasOk }, null, 2)}\n`);
    if (!blasOk) process.stderr.write('warning: libtorch is not using OpenBLAS or MKL; install libopenblas0-openmp\n');
    return 0;
  },
};
