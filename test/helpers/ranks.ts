// Starts N child processes as the ranks of one data-parallel run on 127.0.0.1 (torchrun's environment) and
// collects their exit codes and output.
import { spawn, type ChildProcess } from 'node:child_process';

import { freePort } from '../../lib/distributed/launch.js';
import { packageRoot } from './paths.js';

export interface RankResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `args` (after node; or each rank's own) as ranks 0..n−1; `onStart` sees the children (e.g. to kill one). */
export async function runRanks(n: number, args: string[] | ((rank: number) => string[]), env: NodeJS.ProcessEnv = {}, onStart?: (children: ChildProcess[]) => void): Promise<RankResult[]> {
  const port = await freePort();
  const children = Array.from({ length: n }, (_, rank) =>
    spawn(process.execPath, typeof args === 'function' ? args(rank) : args, {
      cwd: packageRoot,
      env: { ...process.env, MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), RANK: String(rank), LOCAL_RANK: String(rank), WORLD_SIZE: String(n), REXRAG_NUM_THREADS: '1', ...env },
    }),
  );
  onStart?.(children);
  return Promise.all(children.map((child) => new Promise<RankResult>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk) => (stdout += chunk));
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  })));
}
