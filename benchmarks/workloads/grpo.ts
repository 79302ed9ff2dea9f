// One GRPO update (forward, backward, gradient clipping, AdamW) on the same batch and weights: rexrag's trainer
// step against the plain PyTorch update. The first update of each side starts from the same weights and must
// agree (loss, gradient norm, and the direction of the parameter update) before later updates are timed.
// tokens/s counts every token of the batch; memory is the peak resident set of the whole process during the
// updates (weights, gradients, AdamW moments and activations), each side in its own fresh process.
import { join } from 'node:path';

import { Policy } from '../../lib/model/policy.js';
import type { NativeQwen2Config } from '../../lib/native-types.js';
import { GrpoTrainer, type TrajectoryBatch } from '../../lib/train/grpo-trainer.js';
import { runPythonChild, runRexragChild } from '../lib/child.js';
import type { ModelShape, Sizes } from '../lib/config.js';
import { numberField, weightsPath, type BenchContext, type Workload } from '../lib/context.js';
import { peakRssBytes, resetPeakRss, rssBytes } from '../lib/memory.js';
import { trainingFlopsPerToken } from '../lib/model-math.js';
import { compared, ratioAtLeast, single } from '../lib/report.js';
import { createRng, randomSequences } from '../lib/synthetic.js';
import { ensureParity } from './parity.js';

type GrpoSizes = Sizes['grpo'];

interface GrpoTask extends GrpoSizes {
  config: NativeQwen2Config;
  seed: number;
  /** Where to save the weights after the first update, for the reference's check; null: do not save. */
  weightsAfter: string | null;
}

interface PlainBatch {
  ids: number[][];
  lossMask: number[][];
  behaviourLogps: number[][];
  refLogps: number[][];
  advantages: number[];
}

/**
 * A batch like a GRPO group's: prompt tokens masked out, response tokens trained; behaviour and reference
 * log-probs are the current ones shifted by fixed noise (so ratios leave the clip range and KL is non-zero);
 * advantages are group-normalised 0/1 rewards.
 */
async function makeBatch(policy: Policy, task: GrpoTask): Promise<PlainBatch> {
  const ids = randomSequences(401, task.rows, task.tokens, task.config.vocab_size);
  const { logps } = await policy.score(ids);
  const rng = createRng(402);
  const lossMask = ids.map((row) => row.map((_, t) => (t >= task.promptTokens ? 1 : 0)));
  const behaviourLogps = logps.map((row) => Array.from(row).map((lp, t) => (t === 0 ? 0 : lp + (rng() - 0.5) * 0.6)));
  const refLogps = logps.map((row) => Array.from(row).map((lp, t) => (t === 0 ? 0 : lp + (rng() - 0.5) * 0.4)));
  const rewards: number[] = ids.map((_, r) => (r % 3 === 0 ? 0 : 1));
  const mean = rewards.reduce((a, b) => a + b, 0) / rewards.length;
  const std = Math.sqrt(rewards.reduce((a, r) => a + (r - mean) ** 2, 0) / Math.max(1, rewards.length - 1));
  const advantages = rewards.map((r) => (r - mean) / (std + 1e-6));
  return { ids, lossMask, behaviourLogps, refLogps, advantages };
}

/** Worker side: the batch, the first (checked) update and its saved weights, then the timed updates. */
export async function measureGrpo(task: GrpoTask): Promise<Record<string, unknown>> {
  const policy = await Policy.random(task.config, { seed: task.seed });
  const trainer = await GrpoTrainer.create(policy, { reference: 'none', loss: task.loss, optimizer: task.optimizer });
  const batch = await makeBatch(policy, task);
  const trajectories: TrajectoryBatch = { ...batch };
  const stepOptions = { microBatchTokens: task.rows * task.tokens, logitChunk: task.logitChunk };
  const resident = rssBytes();
  resetPeakRss();
  const first = await trainer.step(trajectories, stepOptions);
  const firstPeak = peakRssBytes();
  if (task.weightsAfter) await policy.saveWeights(task.weightsAfter);
  resetPeakRss();
  let best = Infinity;
  for (let update = 0; update < Math.max(1, task.timedUpdates); update++) {
    const start = performance.now();
    await trainer.step(trajectories, stepOptions);
    best = Math.min(best, (performance.now() - start) / 1000);
  }
  const peak = Math.max(firstPeak, peakRssBytes());
  trainer.dispose();
  policy.dispose();
  return {
    ok: true,
    batch,
    firstUpdate: { loss: first['train/loss'], gradNorm: first['train/grad_norm'], skipped: first['train/skipped_updates'] },
    seconds: best,
    tokensPerSecond: (task.rows * task.tokens) / best,
    residentBytes: resident,
    peakBytes: peak,
  };
}

const MiB = 2 ** 20;

/** The answer with more tokens/s; memory stays the first round's (it does not depend on load). */
function fasterOf(kept: Record<string, unknown> | undefined, answer: Record<string, unknown>): Record<string, unknown> {
  if (!kept) return answer;
  const speed = numberField(answer, 'tokensPerSecond');
  const keptSpeed = numberField(kept, 'tokensPerSecond');
  return speed !== null && keptSpeed !== null && speed > keptSpeed ? { ...kept, tokensPerSecond: speed, seconds: answer.seconds } : kept;
}

async function runShape(context: BenchContext, shape: ModelShape): Promise<void> {
  const sizes = context.sizes.grpo;
  const task: GrpoTask = {
    ...sizes,
    config: shape.config,
    seed: shape.seed,
    weightsAfter: join(context.tempDir, `${shape.id}-after-grpo.safetensors`),
    timedUpdates: sizes.timedUpdates * shape.repeatScale,
  };
  const label = `${sizes.rows} rows x ${sizes.tokens} tokens (${sizes.tokens - sizes.promptTokens} trained)`;
  const parity = await ensureParity(context, shape);
  // Round 1 checks the first update against rexrag's; later rounds (alternating sides) only time updates.
  let rex: Record<string, unknown> | undefined;
  let py: Record<string, unknown> | undefined;
  let checkText = '';
  for (let round = 1; round <= sizes.rounds; round++) {
    context.log(`grpo ${shape.id}: rexrag (round ${round}/${sizes.rounds})`);
    const ours = await runRexragChild({ workload: 'grpo', ...task, weightsAfter: round === 1 ? task.weightsAfter : null }, context.sizes.threads);
    if (!ours.ok) {
      context.notes.push(`grpo ${shape.id} (rexrag): ${ours.error}`);
      break;
    }
    rex = fasterOf(rex, ours);
    if (!parity.checked) continue;
    context.log(`grpo ${shape.id}: PyTorch reference (round ${round}/${sizes.rounds})`);
    const theirs = await runPythonChild(
      'grpo',
      {
        config: shape.config, weights: weightsPath(context, shape), rexragWeightsAfter: round === 1 ? task.weightsAfter : null,
        batch: ours.batch, loss: sizes.loss, optimizer: sizes.optimizer,
        timedUpdates: task.timedUpdates, rexragFirstUpdate: ours.firstUpdate, tolerance: sizes.tolerance,
      },
      context.sizes.threads,
    );
    if (!theirs.ok) {
      context.notes.push(`grpo ${shape.id} (PyTorch): ${theirs.error}`);
      break;
    }
    if (round === 1) {
      const checks = (theirs.checks ?? {}) as Record<string, number>;
      checkText = `first update vs PyTorch: |Δloss| ${checks.lossAbsDiff?.toExponential(1)}, grad-norm rel ${checks.gradNormRelDiff?.toExponential(1)}, update cosine ${checks.updateCosine?.toFixed(5)}`;
      if (theirs.passed !== true) {
        context.notes.push(`grpo ${shape.id}: the first update differs from rexrag's (${checkText}); not timed`);
        context.figures.push(single(`grpo/${shape.id}`, 'tokens/s', null, { note: 'not timed: updates differ' }));
        return;
      }
    }
    py = fasterOf(py, theirs);
  }
  const mib = (answer: Record<string, unknown> | undefined) => {
    const bytes = numberField(answer, 'peakBytes');
    return bytes === null ? null : bytes / MiB;
  };
  context.figures.push(
    compared(`grpo/${shape.id}/update_tokens_per_s`, 'tokens/s', numberField(rex, 'tokensPerSecond'), numberField(py, 'tokensPerSecond'), 'higher', {
      target: ratioAtLeast(1.2),
      note: `${label}; ${checkText}`,
    }),
    compared(`grpo/${shape.id}/peak_memory`, 'MiB', mib(rex), mib(py), 'lower', { target: ratioAtLeast(1), note: 'whole process (VmHWM) during updates' }),
  );
  const limit = context.limits.matmulGflops;
  if (limit) {
    const flops = trainingFlopsPerToken(shape.config, sizes.tokens);
    const share = (answer: Record<string, unknown> | undefined) => {
      const tps = numberField(answer, 'tokensPerSecond');
      return tps === null ? null : (tps * flops) / 1e9 / limit;
    };
    context.figures.push(
      compared(`grpo/${shape.id}/flops_use`, 'of limit', share(rex), share(py), 'higher', {
        note: `${(flops / 1e9).toFixed(2)} GFLOP/token (6N + 12LHT) / ${limit.toFixed(0)} GFLOP/s`,
      }),
    );
  }
}

export const grpoWorkload: Workload = {
  name: 'grpo',
  description: 'one GRPO update (forward, backward, AdamW): tokens/s and peak memory',
  async run(context: BenchContext) {
    for (const shape of context.sizes.shapes) await runShape(context, shape);
  },
};
