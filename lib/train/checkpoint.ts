// Crash-safe training checkpoints. A checkpoint is a folder `step-NNNNNNNN/` under the run's checkpoint root:
//   model/               the policy as a Hugging Face folder (loadable by loadPolicy and by HF tools)
//   trainer.safetensors  AdamW moments and the update/step counters
//   reference.safetensors the frozen KL reference (when the trainer keeps one)
//   state.json           step, resolved config, RNG state, caller's extra data, and the size of every file
// It is written into a temporary folder, validated, renamed into place, and only then named in `latest.json`
// (itself replaced atomically), so a crash at any point leaves the previous checkpoint as the latest.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { z } from 'zod';

import { RexragError } from '../errors.js';
import { loadPolicy, savePolicyFolder } from '../model/load-policy.js';
import type { Policy, PolicyOptions } from '../model/policy.js';
import { readSafetensorsHeader } from '../model/safetensors.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { makeFolder } from '../util/make-folder.js';
import { expectInteger, expectString } from '../validate.js';
import { GrpoTrainer, type TrainerOptions } from './grpo-trainer.js';

const STATE_FILE = 'state.json';
const LATEST_FILE = 'latest.json';

const stateSchema = z
  .object({
    format: z.literal('rexrag-checkpoint'),
    version: z.literal(1),
    step: z.number().int().min(0),
    createdAt: z.string(),
    trainer: z.object({ reference: z.enum(['frozen-copy', 'none']), loss: z.unknown(), optimizer: z.unknown() }).passthrough(),
    config: z.unknown(),
    rng: z.unknown(),
    extra: z.unknown(),
    files: z.record(z.string(), z.number().int().min(0)),
  })
  .strict();

export type CheckpointState = z.infer<typeof stateSchema>;

export interface SaveCheckpointOptions {
  policy: Policy;
  trainer: GrpoTrainer;
  /** Training steps completed. */
  step: number;
  /** The run's resolved configuration, stored as is. */
  config?: unknown;
  /** Whatever the caller needs to continue its random streams exactly. */
  rng?: unknown;
  extra?: unknown;
  /** Checkpoints kept, newest first (default 3). */
  keepLast?: number;
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listFiles(join(dir, entry.name), rel)));
    else out.push(rel);
  }
  return out.sort();
}

function checkpointName(step: number): string {
  return `step-${String(step).padStart(8, '0')}`;
}

/** Writes a checkpoint under `root` and makes it the latest; returns its folder. */
export async function saveCheckpoint(root: string, options: SaveCheckpointOptions): Promise<string> {
  expectString(root, 'root', { nonEmpty: true });
  const step = expectInteger(options.step, 'options.step', { min: 0 });
  await makeFolder(root);
  const target = join(resolve(root), checkpointName(step));
  const temp = join(resolve(root), `.${checkpointName(step)}.tmp-${randomBytes(4).toString('hex')}`);
  await mkdir(temp);
  try {
    await savePolicyFolder(options.policy, join(temp, 'model'));
    await options.trainer.saveState(temp);
    const files: Record<string, number> = {};
    for (const file of await listFiles(temp)) files[file] = (await stat(join(temp, file))).size;
    const state: CheckpointState = {
      format: 'rexrag-checkpoint',
      version: 1,
      step,
      createdAt: new Date().toISOString(),
      trainer: options.trainer.options,
      config: options.config ?? null,
      rng: options.rng ?? null,
      extra: options.extra ?? null,
      files,
    };
    await writeFileAtomic(join(temp, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
    await validateCheckpoint(temp);
    await rm(target, { recursive: true, force: true });
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
  await writeFileAtomic(join(root, LATEST_FILE), `${JSON.stringify({ checkpoint: checkpointName(step), step })}\n`);
  await pruneCheckpoints(root, options.keepLast ?? 3);
  return target;
}

/** Reads and checks a checkpoint folder: state.json, every recorded file and its size, every safetensors header. */
export async function validateCheckpoint(dir: string): Promise<CheckpointState> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8'));
  } catch (error) {
    throw new RexragError(`checkpoint ${dir} is not valid: cannot read ${STATE_FILE}: ${(error as Error).message}`, 'ERR_INVALID_ARG');
  }
  const parsed = stateSchema.safeParse(raw);
  if (!parsed.success) {
    throw new RexragError(`checkpoint ${dir} is not valid: ${STATE_FILE}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, 'ERR_INVALID_ARG');
  }
  const state = parsed.data;
  for (const required of ['model/config.json', 'model/model.safetensors', 'trainer.safetensors']) {
    if (!(required in state.files)) throw new RexragError(`checkpoint ${dir} is not valid: ${required} is missing`, 'ERR_INVALID_ARG');
  }
  for (const [file, size] of Object.entries(state.files)) {
    const path = join(dir, file);
    const actual = await stat(path).then((s) => s.size, () => -1);
    if (actual < 0) throw new RexragError(`checkpoint ${dir} is not valid: ${file} is missing`, 'ERR_INVALID_ARG');
    if (actual !== size) {
      throw new RexragError(`checkpoint ${dir} is not valid: ${file} has ${actual} bytes, ${size} were written`, 'ERR_INVALID_ARG');
    }
    if (file.endsWith('.safetensors')) await readSafetensorsHeader(path);
  }
  return state;
}

/** The latest checkpoint folder under `root`, or undefined when there is none. */
export async function latestCheckpoint(root: string): Promise<string | undefined> {
  let pointer: { checkpoint?: unknown };
  try {
    pointer = JSON.parse(await readFile(join(root, LATEST_FILE), 'utf8')) as { checkpoint?: unknown };
  } catch {
    return undefined;
  }
  if (typeof pointer.checkpoint !== 'string' || !/^step-\d{8}$/.test(pointer.checkpoint)) {
    throw new RexragError(`${join(root, LATEST_FILE)} does not name a checkpoint`, 'ERR_INVALID_ARG');
  }
  return join(root, pointer.checkpoint);
}

/** The checkpoint folders under `root`, oldest first. */
export async function listCheckpoints(root: string): Promise<string[]> {
  const names = await readdir(root).catch(() => [] as string[]);
  return names.filter((name) => /^step-\d{8}$/.test(name)).sort().map((name) => join(root, name));
}

async function pruneCheckpoints(root: string, keepLast: number): Promise<void> {
  const all = await listCheckpoints(root);
  for (const old of all.slice(0, Math.max(0, all.length - Math.max(1, keepLast)))) await rm(old, { recursive: true, force: true });
}

export interface ResumedRun {
  policy: Policy;
  trainer: GrpoTrainer;
  state: CheckpointState;
  dir: string;
}

/**
 * Restores policy weights, optimizer moments, step counter and reference model from a validated checkpoint.
 * `trainerOptions` defaults to the options stored in it.
 */
export async function resumeFromCheckpoint(
  dir: string,
  options: PolicyOptions & { trainerOptions?: TrainerOptions } = {},
): Promise<ResumedRun> {
  const state = await validateCheckpoint(dir);
  const policy = await loadPolicy(join(dir, 'model'), options);
  try {
    const trainer = await GrpoTrainer.create(policy, options.trainerOptions ?? (state.trainer as TrainerOptions));
    try {
      await trainer.loadState(dir);
    } catch (error) {
      trainer.dispose();
      throw error;
    }
    return { policy, trainer, state, dir };
  } catch (error) {
    policy.dispose();
    throw error;
  }
}
