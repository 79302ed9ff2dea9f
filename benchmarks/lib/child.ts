// Runs one measurement in a fresh child process: the rexrag worker (node dist/benchmarks/worker.js) or a
// PyTorch reference script (/usr/bin/python3 benchmarks/python/<name>.py). The task goes in as JSON on stdin,
// the answer comes back as the last JSON line on stdout; both sides get the same thread count.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { BUSY_THRESHOLD, cpuSnapshot, otherBusyCores, waitForQuiet, type QuietBudget } from './quiet.js';

const here = dirname(fileURLToPath(import.meta.url));
/** dist/benchmarks (compiled worker) and the repository's benchmarks/python folder. */
export const WORKER_PATH = join(here, '..', 'worker.js');
export const REPO_ROOT = join(here, '..', '..', '..');
export const PYTHON_DIR = join(REPO_ROOT, 'benchmarks', 'python');
/** Debian's interpreter, which sees python3-torch (a pyenv python3 on PATH would not). */
export const PYTHON = '/usr/bin/python3';

export interface ChildAnswer {
  ok: boolean;
  error?: string;
  [key: string]: unknown;
}

export class ChildFailure extends Error {}

let quiet: { budget: QuietBudget; cores: number } | undefined;

/**
 * From now on, every child waits (within `budget`) for other load on the machine to settle before it starts,
 * and is run once more when other processes kept more than BUSY_THRESHOLD cores busy during it.
 */
export function waitForQuietBeforeChildren(budget: QuietBudget, cores: number): void {
  quiet = { budget, cores };
}

function threadEnv(threads: number): NodeJS.ProcessEnv {
  return { ...process.env, OMP_NUM_THREADS: String(threads), REXRAG_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
}

let dumped = 0;

/** With REXRAG_BENCH_DUMP=<folder>, each child's task is also written there, to rerun it by hand. */
function dumpTask(args: string[], task: unknown): void {
  const folder = process.env.REXRAG_BENCH_DUMP;
  if (!folder) return;
  mkdirSync(folder, { recursive: true });
  const script = basename(args[args.length - 1] ?? 'task').replace(/\.(js|py)$/, '');
  const workload = (task as { workload?: string }).workload;
  const name = `${String(++dumped).padStart(3, '0')}-${workload ? `rexrag-${workload}` : `python-${script}`}.json`;
  writeFileSync(join(folder, name), JSON.stringify(task));
}

async function runProcess(command: string, args: string[], task: unknown, threads: number, timeoutMs: number): Promise<ChildAnswer> {
  dumpTask(args, task);
  if (!quiet) return spawnOnce(command, args, task, threads, timeoutMs);
  const { budget, cores } = quiet;
  const label = (task as { workload?: string }).workload ? `rexrag ${(task as { workload: string }).workload}` : `PyTorch ${basename(args[args.length - 1] ?? '')}`;
  budget.measurements += 1;
  let kept: { answer: ChildAnswer; other: number } | undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    await waitForQuiet(budget, cores);
    const before = cpuSnapshot();
    const started = Date.now();
    const answer = await spawnOnce(command, args, task, threads, timeoutMs);
    const other = otherBusyCores(before, cpuSnapshot(), cores);
    if (!kept || other < kept.other) kept = { answer, other };
    if (other < BUSY_THRESHOLD || !answer.ok) break;
    const spent = Date.now() - started;
    if (attempt > 0 || budget.remainingMs < spent) break;
    budget.remainingMs -= spent;  // a repeat is paid from the same budget as waiting
    budget.repeated += 1;
  }
  if (kept!.other >= BUSY_THRESHOLD) budget.disturbed.push(`${label} (${kept!.other.toFixed(1)} cores)`);
  return { ...kept!.answer, otherBusyCores: Math.round(kept!.other * 100) / 100 };
}

function spawnOnce(command: string, args: string[], task: unknown, threads: number, timeoutMs: number): Promise<ChildAnswer> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env: threadEnv(threads), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new ChildFailure(`could not start ${command}: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const lines = stdout.trim().split('\n');
      const last = lines[lines.length - 1] ?? '';
      let answer: ChildAnswer | undefined;
      try {
        answer = JSON.parse(last) as ChildAnswer;
      } catch {
        answer = undefined;
      }
      if (answer && (answer.ok || answer.error)) {
        resolve(answer.ok ? answer : { ...answer, error: `${answer.error}${tail(stderr)}` });
        return;
      }
      const how = signal ? `was killed by ${signal}${signal === 'SIGKILL' ? ' (timeout or out of memory)' : ''}` : `exited with ${code}`;
      reject(new ChildFailure(`${command} ${args.join(' ')} ${how} without an answer${tail(stderr)}`));
    });
    child.stdin.end(JSON.stringify(task));
  });
}

function tail(text: string): string {
  const lines = text.trim().split('\n').filter(Boolean);
  return lines.length ? `\n    ${lines.slice(-6).join('\n    ')}` : '';
}

/** Runs a rexrag measurement (`task.workload` names it) in a fresh Node process. */
export function runRexragChild(task: { workload: string } & Record<string, unknown>, threads: number, timeoutMs = 60 * 60_000): Promise<ChildAnswer> {
  return runProcess(process.execPath, [WORKER_PATH], { ...task, threads }, threads, timeoutMs);
}

/** Runs benchmarks/python/<script>.py with `task` in a fresh Python process. */
export function runPythonChild(script: string, task: Record<string, unknown>, threads: number, timeoutMs = 60 * 60_000): Promise<ChildAnswer> {
  return runProcess(PYTHON, [join(PYTHON_DIR, `${script}.py`)], { ...task, threads }, threads, timeoutMs);
}

/** Whether the PyTorch reference can run here: its torch version, or why not and how to fix it. */
export function probePython(): { available: true; torchVersion: string } | { available: false; reason: string } {
  const result = spawnSync(PYTHON, ['-c', 'import numpy, torch; print(torch.__version__)'], { encoding: 'utf8' });
  if (result.status === 0) return { available: true, torchVersion: result.stdout.trim() };
  return {
    available: false,
    reason: `${PYTHON} cannot import torch (${(result.stderr || result.error?.message || '').trim().split('\n').pop()}); ` +
      'install the reference with: apt-get install -y python3-torch',
  };
}
