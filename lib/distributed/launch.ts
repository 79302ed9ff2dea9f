// `rexrag train --nproc N`: N local ranks as child Node processes with torchrun's environment (MASTER_ADDR
// 127.0.0.1, a free MASTER_PORT, RANK = LOCAL_RANK = i, WORLD_SIZE = N) and REXRAG_NUM_THREADS = cores / N
// unless set. Their output is forwarded line by line, prefixed by rank; when one fails the others are stopped.
// Runs over several machines start one `rexrag train` per rank with that environment instead (README).
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';

export interface LaunchOptions {
  nproc: number;
  /** The command line of every rank, after the node executable (e.g. [bin/rexrag.js, 'train', ...]). */
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Where the ranks' output goes; default the process's own streams. */
  stdout?: Writable;
  stderr?: Writable;
}

export interface LaunchResult {
  /** 0 when every rank exited with 0; else the first failing rank's code (1 for a signal). */
  exitCode: number;
  /** The first rank that failed, if any. */
  failedRank?: number;
}

/** A TCP port that was free a moment ago on 127.0.0.1 (MASTER_PORT for local ranks). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** The environment of local rank `rank` of `nproc`. */
export function rankEnv(base: NodeJS.ProcessEnv, rank: number, nproc: number, port: number): NodeJS.ProcessEnv {
  const threads = base.REXRAG_NUM_THREADS ?? String(Math.max(1, Math.floor(availableParallelism() / nproc)));
  return {
    ...base,
    MASTER_ADDR: '127.0.0.1',
    MASTER_PORT: String(port),
    RANK: String(rank),
    LOCAL_RANK: String(rank),
    WORLD_SIZE: String(nproc),
    REXRAG_NUM_THREADS: threads,
  };
}

function forward(from: Readable, to: Writable, prefix: string): Promise<void> {
  const lines = createInterface({ input: from, crlfDelay: Infinity });
  lines.on('line', (line) => to.write(`${prefix}${line}\n`));
  return new Promise((resolve) => lines.once('close', () => resolve()));
}

/**
 * Starts the ranks and waits for all of them. Rank 0's stdout (the command's result) passes through as is;
 * every other line is prefixed `[rank i] `. The first rank to fail makes the others receive SIGTERM.
 */
export async function launchLocalRanks(options: LaunchOptions): Promise<LaunchResult> {
  const { nproc, args } = options;
  const base = options.env ?? process.env;
  const port = base.MASTER_PORT ? Number(base.MASTER_PORT) : await freePort();
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const children: ChildProcess[] = [];
  let result: LaunchResult = { exitCode: 0 };
  const stopOthers = (except: number) => {
    children.forEach((child, rank) => {
      if (rank !== except && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    });
  };
  const forwardSignal = (signal: NodeJS.Signals) => children.forEach((child) => child.exitCode === null && child.kill(signal));
  process.on('SIGINT', forwardSignal);
  process.on('SIGTERM', forwardSignal);
  try {
    const finished = Array.from({ length: nproc }, (_, rank) => {
      const child = spawn(process.execPath, args, { env: rankEnv(base, rank, nproc, port), stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      const streams = Promise.all([
        forward(child.stdout!, stdout, rank === 0 ? '' : `[rank ${rank}] `),
        forward(child.stderr!, stderr, `[rank ${rank}] `),
      ]);
      return new Promise<void>((resolve) => {
        child.once('error', (error) => {
          stderr.write(`[rank ${rank}] could not start: ${error.message}\n`);
          if (result.exitCode === 0) result = { exitCode: 1, failedRank: rank };
          stopOthers(rank);
          resolve();
        });
        child.once('exit', (code, signal) => {
          const failed = code !== 0;
          if (failed && result.exitCode === 0) {
            result = { exitCode: code ?? 1, failedRank: rank };
            stderr.write(`[launcher] rank ${rank} exited with ${code ?? signal}: stopping the other ranks\n`);
            stopOthers(rank);
          }
          void streams.then(() => resolve());
        });
      });
    });
    await Promise.all(finished);
  } finally {
    process.off('SIGINT', forwardSignal);
    process.off('SIGTERM', forwardSignal);
  }
  return result;
}
