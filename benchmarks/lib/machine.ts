// The machine and code a run was measured on: CPU model and cores (lscpu), memory, load, OS, Node, libtorch
// and its BLAS (rexrag's runtimeInfo()), and the git commit (marked dirty when the tree has changes).
import { spawnSync } from 'node:child_process';
import os from 'node:os';

import { runtimeInfo } from '../../lib/runtime.js';
import { REPO_ROOT } from './child.js';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  loadAverage: number[];
  kernel: string;
  node: string;
  torchVersion: string;
  blasLibrary: string;
  rexragThreads: number;
  pythonTorchVersion?: string;
}

export interface CommitInfo {
  commit: string;
  dirty: boolean;
  branch: string;
}

function run(command: string, args: string[]): string {
  const result = spawnSync(command, args, { cwd: REPO_ROOT, encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : '';
}

/** Facts about this machine; `cpuModel` comes from lscpu (falls back to os.cpus()). */
export function machineInfo(): MachineInfo {
  const lscpu = run('lscpu', []);
  const model = /^Model name:\s*(.+)$/m.exec(lscpu)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  const info = runtimeInfo();
  return {
    cpuModel: model,
    cores: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: os.loadavg().map((value) => Math.round(value * 100) / 100),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    torchVersion: info.torchVersion,
    blasLibrary: info.blasLibrary,
    rexragThreads: info.numThreads,
  };
}

/** The checked-out commit; `dirty` when tracked or untracked files differ from it. */
export function commitInfo(): CommitInfo {
  return {
    commit: run('git', ['rev-parse', 'HEAD']) || 'unknown',
    dirty: run('git', ['status', '--porcelain']).length > 0,
    branch: run('git', ['rev-parse', '--abbrev-ref', 'HEAD']) || 'unknown',
  };
}
