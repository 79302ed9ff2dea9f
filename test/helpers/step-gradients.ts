// The gradient one trainer step accumulates, read back exactly, for tests that compare training modes. With
// beta1 = 0, no clipping and lr = 0, AdamW's first moment after the step's single update is the gradient itself
// (m = 0·m + 1·g) and the weights do not move; saveState writes the moments to trainer.safetensors.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { loadPolicy } from '../../lib/model/load-policy.js';
import type { Policy } from '../../lib/model/policy.js';
import { readSafetensorsHeader } from '../../lib/model/safetensors.js';
import { GrpoTrainer, type StepMetrics, type StepOptions, type TrajectoryBatch } from '../../lib/train/grpo-trainer.js';
import { mulberry32 } from '../../lib/util/random.js';

export interface StepGradients {
  metrics: StepMetrics;
  /** Parameter name → its gradient, float32, row-major. */
  gradients: Map<string, Float32Array>;
}

/** One step of `batch` on `policy` (KL off, one update over the whole batch) and the gradient it applied. */
export async function stepGradients(policy: Policy, batch: TrajectoryBatch, step: StepOptions): Promise<StepGradients> {
  const trainer = await GrpoTrainer.create(policy, {
    reference: 'none',
    loss: { klType: 'none' },
    optimizer: { lr: 0, beta1: 0, maxGradNorm: 0, weightDecay: 0 },
  });
  const dir = await mkdtemp(join(tmpdir(), 'rexrag-grad-'));
  try {
    const metrics = await trainer.step(batch, { miniBatchSize: 0, ...step });
    await trainer.saveState(dir);
    const path = join(dir, 'trainer.safetensors');
    const header = await readSafetensorsHeader(path);
    const bytes = await readFile(path);
    const gradients = new Map<string, Float32Array>();
    for (const tensor of header.tensors) {
      if (!tensor.name.startsWith('exp_avg.') || tensor.dtype !== 'F32') continue;
      const start = header.dataStart + tensor.begin;
      const copy = bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + header.dataStart + tensor.end);
      gradients.set(tensor.name.slice('exp_avg.'.length), new Float32Array(copy));
    }
    return { metrics, gradients };
  } finally {
    trainer.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A batch of random rows of the given lengths, scored by the model in `modelDir`, with the behaviour log-probs
 * moved off the current ones so both clip branches act; one advantage per row, loss on tokens from the 4th on.
 */
export async function scoredClipBatch(modelDir: string, seed: number, lengths: number[], advantages: number[]): Promise<TrajectoryBatch> {
  const rand = mulberry32(seed);
  const policy = await loadPolicy(modelDir);
  const ids = lengths.map((n) => Array.from({ length: n }, () => 1 + Math.floor(rand() * 200)));
  const { logps } = await policy.score(ids);
  policy.dispose();
  return {
    ids,
    lossMask: ids.map((row) => row.map((_, t) => (t >= 3 ? 1 : 0))),
    behaviourLogps: logps.map((row) => Array.from(row, (v) => v + (rand() - 0.5) * 0.8)),
    advantages,
  };
}

/** ‖a − b‖ / ‖b‖ and max|a − b| / max|b|, each over every parameter together (b is the reference). */
export function gradientDifference(a: Map<string, Float32Array>, b: Map<string, Float32Array>): { normRelative: number; maxRelative: number } {
  let diffSquared = 0;
  let refSquared = 0;
  let maxDiff = 0;
  let scale = 0;
  for (const [name, reference] of b) {
    const values = a.get(name);
    if (!values || values.length !== reference.length) throw new Error(`gradient ${name} is missing or mis-sized`);
    reference.forEach((r, i) => {
      const d = values[i]! - r;
      diffSquared += d * d;
      refSquared += r * r;
      maxDiff = Math.max(maxDiff, Math.abs(d));
      scale = Math.max(scale, Math.abs(r));
    });
  }
  return { normRelative: Math.sqrt(diffSquared / Math.max(refSquared, 1e-300)), maxRelative: maxDiff / Math.max(scale, 1e-30) };
}
