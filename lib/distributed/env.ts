// The rank's place in a data-parallel run, read from the environment every launcher already sets: torchrun's
// names (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK), which `rexrag train --nproc`, Slurm scripts
// and Kubernetes jobs can set as well. Pure: the process group itself is process-group.ts's.
import { RexragError } from '../errors.js';

export interface DistributedEnv {
  masterAddr: string;
  masterPort: number;
  rank: number;
  worldSize: number;
  /** Rank among the ranks of this machine (picks the GPU of a CUDA policy). */
  localRank: number;
}

/** The variables, in the order they are checked. */
export const DISTRIBUTED_ENV_NAMES = ['MASTER_ADDR', 'MASTER_PORT', 'RANK', 'WORLD_SIZE', 'LOCAL_RANK'] as const;

function integerVariable(env: NodeJS.ProcessEnv, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') {
    throw new RexragError(`${name} is not set: a data-parallel rank needs ${DISTRIBUTED_ENV_NAMES.join(', ')}`, 'ERR_INVALID_ARG');
  }
  const value = Number(raw);
  if (!/^\s*\d+\s*$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new RexragError(`${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(raw)}`, 'ERR_INVALID_ARG');
  }
  return value;
}

/**
 * The rank's environment, or undefined when WORLD_SIZE is not set (a single-process run; RANK or LOCAL_RANK
 * without WORLD_SIZE is an error). Once WORLD_SIZE is set every variable is required, and a missing or
 * inconsistent one is an ERR_INVALID_ARG naming it.
 */
export function readDistributedEnv(env: NodeJS.ProcessEnv = process.env): DistributedEnv | undefined {
  if (env.WORLD_SIZE === undefined || env.WORLD_SIZE.trim() === '') {
    const stray = DISTRIBUTED_ENV_NAMES.find((name) => name !== 'MASTER_ADDR' && name !== 'MASTER_PORT' && env[name] !== undefined && env[name]!.trim() !== '');
    if (stray) throw new RexragError(`${stray} is set but WORLD_SIZE is not: set WORLD_SIZE too (or unset ${stray})`, 'ERR_INVALID_ARG');
    return undefined;
  }
  const masterAddr = env.MASTER_ADDR?.trim() ?? '';
  if (masterAddr === '') {
    throw new RexragError(`MASTER_ADDR is not set: a data-parallel rank needs ${DISTRIBUTED_ENV_NAMES.join(', ')}`, 'ERR_INVALID_ARG');
  }
  const masterPort = integerVariable(env, 'MASTER_PORT', 1, 65535);
  const worldSize = integerVariable(env, 'WORLD_SIZE', 1);
  const rank = integerVariable(env, 'RANK', 0);
  if (rank >= worldSize) throw new RexragError(`RANK (${rank}) must be below WORLD_SIZE (${worldSize})`, 'ERR_INVALID_ARG');
  const localRank = integerVariable(env, 'LOCAL_RANK', 0);
  if (localRank > rank) throw new RexragError(`LOCAL_RANK (${localRank}) cannot exceed RANK (${rank})`, 'ERR_INVALID_ARG');
  return { masterAddr, masterPort, rank, worldSize, localRank };
}
