// `rexrag info`: prints the runtime facts (libtorch, threads, devices, BLAS) as JSON.
import { runtimeInfo } from '../runtime.js';
import { parseCommandArgs } from './parse.js';
import type { Command } from './usage.js';

const usage = 'usage: rexrag info\n  Prints libtorch version, threads, devices and the BLAS in use, as JSON.';

export const infoCommand: Command = {
  name: 'info',
  summary: 'print the native runtime (libtorch, threads, devices, BLAS) as JSON',
  usage,
  async run(argv) {
    if (!parseCommandArgs(argv, {}, usage)) return 0;
    process.stdout.write(`${JSON.stringify(runtimeInfo(), null, 2)}\n`);
    return 0;
  },
};
