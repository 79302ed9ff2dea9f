// The --nproc launcher on plain Node scripts: every rank gets its environment, output is prefixed by rank (rank 0's
// stdout passes through), and when one rank fails the others are stopped and its exit code is returned.
import { PassThrough } from 'node:stream';

import test from 'ava';

import { launchLocalRanks } from '../../lib/distributed/launch.js';

function collect(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk) => (text += chunk));
  return { stream, text: () => text };
}

test('ranks see torchrun\'s environment and their output is prefixed by rank', async (t) => {
  const [out, err] = [collect(), collect()];
  const script = 'const e = process.env; console.log([e.RANK, e.LOCAL_RANK, e.WORLD_SIZE, e.MASTER_ADDR, e.REXRAG_NUM_THREADS].join(",")); console.error("hello")';
  const result = await launchLocalRanks({ nproc: 2, args: ['-e', script], env: { PATH: process.env.PATH, REXRAG_NUM_THREADS: '1' }, stdout: out.stream, stderr: err.stream });
  t.deepEqual(result, { exitCode: 0 });
  t.deepEqual(out.text().trim().split('\n').sort(), ['0,0,2,127.0.0.1,1', '[rank 1] 1,1,2,127.0.0.1,1']);
  t.deepEqual(err.text().trim().split('\n').sort(), ['[rank 0] hello', '[rank 1] hello']);
});

test('when one rank fails the others are stopped and its exit code is returned', async (t) => {
  const [out, err] = [collect(), collect()];
  // Rank 1 fails once rank 0 is up; rank 0 would otherwise run forever.
  const script = 'if (process.env.RANK === "1") setTimeout(() => process.exit(3), 300); else setInterval(() => {}, 1000)';
  const result = await launchLocalRanks({ nproc: 2, args: ['-e', script], env: { PATH: process.env.PATH }, stdout: out.stream, stderr: err.stream });
  t.deepEqual(result, { exitCode: 3, failedRank: 1 });
  t.regex(err.text(), /\[launcher\] rank 1 exited with 3: stopping the other ranks/);
});
