// Evaluates every checkpoint of a training run (RUN_DIR/checkpoints/step-NNNNNNNN/model, the layout of
// lib/train/checkpoint.ts) into one per-source table, a row per step; loading a policy is the caller's.
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';

import { RexragError } from '../errors.js';
import type { Policy } from '../model/policy.js';
import { listCheckpoints } from '../train/checkpoint.js';
import type { SourceTable } from './by-source.js';
import { evaluateResumable, type ResumableEvalOptions } from './run-eval.js';

/** The checkpoints of a run, oldest first: step number, label (`step-NNNNNNNN`) and model folder. */
export async function runCheckpoints(runDir: string): Promise<{ step: number; label: string; modelDir: string }[]> {
  const root = join(runDir, 'checkpoints');
  const isDir = await stat(root).then((info) => info.isDirectory(), () => false);
  if (!isDir) throw new RexragError(`${runDir} has no checkpoints/ folder (expected RUN_DIR/checkpoints/step-NNNNNNNN/model)`, 'ERR_INVALID_ARG');
  const folders = await listCheckpoints(root);
  if (folders.length === 0) throw new RexragError(`${root} holds no step-NNNNNNNN checkpoint`, 'ERR_INVALID_ARG');
  return folders.map((folder) => ({ step: Number(basename(folder).slice('step-'.length)), label: basename(folder), modelDir: join(folder, 'model') }));
}

/**
 * Evaluates each checkpoint of `runDir` in step order: opens its policy with `openPolicy`, runs the resumable
 * evaluation under the checkpoint's label (so one results file serves the whole sweep), disposes the policy.
 */
export async function evaluateCheckpoints(
  runDir: string,
  openPolicy: (modelDir: string) => Promise<Policy>,
  options: Omit<ResumableEvalOptions, 'policy' | 'label'>,
): Promise<{ step: number; label: string; table: SourceTable }[]> {
  const rows: { step: number; label: string; table: SourceTable }[] = [];
  for (const checkpoint of await runCheckpoints(runDir)) {
    const policy = await openPolicy(checkpoint.modelDir);
    try {
      const { table } = await evaluateResumable({ ...options, policy, label: checkpoint.label });
      rows.push({ step: checkpoint.step, label: checkpoint.label, table });
    } finally {
      policy.dispose();
    }
  }
  return rows;
}
