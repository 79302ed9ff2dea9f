// `rexrag info`: prints the runtime facts (libtorch, threads, devices, BLAS) as JSON.
import { runtimeInfo } from '../runtime.js';
import { defineCommand } from './usage.js';

const usage = 'usage: rexrag info\n  Prints libtorch version, threads, devices and the BLAS in use, as JSON.';

export const infoCommand = defineCommand({
  name: 'info',
  summary: 'print the native runtime (libtorch, threads, devices, BLAS) as JSON',
  usage,
  options: {},
  async run(_values) {
    process.stdout.write(`${JSON.stringify(runtimeInfo(), null, 2)}\n`);
    return 0;
  },
});
