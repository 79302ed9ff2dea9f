// One GRPO update (forward, backward, gradient clipping, AdamW) on the same batch and weights: rexrag's trainer
// step against the plain PyTorch update, in float32 and again with bfloat16 autocast on both sides (rexrag's
// `autocast: 'bfloat16'` step option against torch.autocast("cpu", dtype=torch.bfloat16) around the forward
// pass). The first update of each side starts from the same weights and must agree (loss, gradient norm, and the
// direction of the parameter update) before later updates are timed. tokens/s counts every token of the batch;
// memory is the peak resident set of the whole process during the updates (weights, gradients, AdamW moments
// and activations), each side in its own fresh process.
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

type Autocast = 'off' | 'bfloat16';

interface GrpoTask extends GrpoSizes {
  config: NativeQwen2Config;
  seed: number;
  /** The step's autocast option (the PyTorch side wraps its forward pass in torch.autocast for 'bfloat16'). */
  autocast: Autocast;
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
  const stepOptions = { microBatchTokens: task.rows * task.tokens, logitChunk: task.logitChunk, autocast: task.autocast };
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

interface Compared {
  rex: Record<string, unknown> | undefined;
  py: Record<string, unknown> | undefined;
  /** The first update's agreement, for the figure notes. */
  checkText: string;
  /** false when the first updates disagreed (nothing timed on the PyTorch side). */
  agreed: boolean;
}

/**
 * Rounds of fresh rexrag and PyTorch processes doing the same updates with `autocast`: round 1 checks the first
 * update against `tolerance`; every round times updates, and the faster answer of each side is kept.
 */
async function compareUpdates(
  context: BenchContext, shape: ModelShape, task: GrpoTask, tolerance: GrpoSizes['tolerance'] | GrpoSizes['autocastTolerance'],
): Promise<Compared> {
  const sizes = context.sizes.grpo;
  const tag = task.autocast === 'off' ? '' : ` (autocast ${task.autocast})`;
  const parity = await ensureParity(context, shape);
  const out: Compared = { rex: undefined, py: undefined, checkText: '', agreed: true };
  for (let round = 1; round <= sizes.rounds; round++) {
    context.log(`grpo ${shape.id}${tag}: rexrag (round ${round}/${sizes.rounds})`);
    const ours = await runRexragChild({ workload: 'grpo', ...task, weightsAfter: round === 1 ? task.weightsAfter : null }, context.sizes.threads);
    if (!ours.ok) {
      context.notes.push(`grpo ${shape.id}${tag} (rexrag): ${ours.error}`);
      break;
    }
    out.rex = fasterOf(out.rex, ours);
    if (!parity.checked) continue;
    context.log(`grpo ${shape.id}${tag}: PyTorch reference (round ${round}/${sizes.rounds})`);
    const theirs = await runPythonChild(
      'grpo',
      {
        config: shape.config, weights: weightsPath(context, shape), rexragWeightsAfter: round === 1 ? task.weightsAfter : null,
        batch: ours.batch, loss: sizes.loss, optimizer: sizes.optimizer, autocast: task.autocast,
        timedUpdates: task.timedUpdates, rexragFirstUpdate: ours.firstUpdate, tolerance,
      },
      context.sizes.threads,
    );
    if (!theirs.ok) {
      context.notes.push(`grpo ${shape.id}${tag} (PyTorch): ${theirs.error}`);
      break;
    }
    if (round === 1) {
      const checks = (theirs.checks ?? {}) as Record<string, number>;
      const toFloat32 = checks.rexragCosineToFloat32 === undefined ? ''
        : `; cosine with PyTorch's float32 update: rexrag ${checks.rexragCosineToFloat32.toFixed(5)}, PyTorch ${checks.pytorchCosineToFloat32?.toFixed(5)}`;
      out.checkText = `first update vs PyTorch${tag}: |Δloss| ${checks.lossAbsDiff?.toExponential(1)}, grad-norm rel ${checks.gradNormRelDiff?.toExponential(1)}, update cosine ${checks.updateCosine?.toFixed(5)}${toFloat32}`;
      if (theirs.passed !== true) {
        context.notes.push(`grpo ${shape.id}${tag}: the first update differs from rexrag's (${out.checkText}); not timed`);
        out.agreed = false;
        return out;
      }
    }
    out.py = fasterOf(out.py, theirs);
  }
  return out;
}

const mib = (answer: Record<string, unknown> | undefined) => {
  const bytes = numberField(answer, 'peakBytes');
  return bytes === null ? null : bytes / MiB;
};

async function runShape(context: BenchContext, shape: ModelShape): Promise<void> {
  const sizes = context.sizes.grpo;
  const task: GrpoTask = {
    ...sizes,
    config: shape.config,
    seed: shape.seed,
    autocast: 'off',
    weightsAfter: join(context.tempDir, `${shape.id}-after-grpo.safetensors`),
    timedUpdates: sizes.timedUpdates * shape.repeatScale,
  };
  const label = `${sizes.rows} rows x ${sizes.tokens} tokens (${sizes.tokens - sizes.promptTokens} trained)`;
  const fp32 = await compareUpdates(context, shape, task, sizes.tolerance);
  if (!fp32.agreed) {
    context.figures.push(single(`grpo/${shape.id}`, 'tokens/s', null, { note: 'not timed: updates differ' }));
  } else {
    const { rex, py, checkText } = fp32;
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
  // bfloat16 autocast on both sides: the same batch and weights, its own rows, no target.
  const bf16Task: GrpoTask = { ...task, autocast: 'bfloat16', weightsAfter: join(context.tempDir, `${shape.id}-after-grpo-bf16.safetensors`) };
  const bf16 = await compareUpdates(context, shape, bf16Task, sizes.autocastTolerance);
  if (!bf16.agreed) {
    context.figures.push(single(`grpo/${shape.id}/autocast`, 'tokens/s', null, { note: 'not timed: autocast updates differ' }));
    return;
  }
  const ownFp32 = numberField(fp32.rex, 'tokensPerSecond');
  context.figures.push(
    compared(`grpo/${shape.id}/autocast_update_tokens_per_s`, 'tokens/s', numberField(bf16.rex, 'tokensPerSecond'), numberField(bf16.py, 'tokensPerSecond'), 'higher', {
      note: `bfloat16 autocast vs torch.autocast; ${label}; rexrag float32 ${ownFp32 === null ? '-' : ownFp32.toFixed(1)} tokens/s; ${bf16.checkText}`,
    }),
    compared(`grpo/${shape.id}/autocast_peak_memory`, 'MiB', mib(bf16.rex), mib(bf16.py), 'lower', {
      note: `bfloat16 autocast vs torch.autocast; whole process (VmHWM) during updates; rexrag float32 ${mib(fp32.rex)?.toFixed(0) ?? '-'} MiB`,
    }),
  );
}

export const grpoWorkload: Workload = {
  name: 'grpo',
  description: 'one GRPO update (forward, backward, AdamW): tokens/s and peak memory',
  async run(context: BenchContext) {
    for (const shape of context.sizes.shapes) await runShape(context, shape);
  },
};
