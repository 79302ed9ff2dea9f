// bfloat16 autocast training (step option `autocast`) on a tiny HF-style policy folder: the loss and gradients
// stay close to float32 training, weights and optimizer state stay float32, recomputation does not change it,
// and training still learns.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { stepConfigSchema } from '../../lib/config/train-config.js';
import { loadPolicy } from '../../lib/model/load-policy.js';
import { writeTinyModel } from '../../lib/model/tiny-model.js';
import { GrpoTrainer, type StepOptions, type TrajectoryBatch } from '../../lib/train/grpo-trainer.js';
import { mulberry32 } from '../../lib/util/random.js';
import { gradientDifference, scoredClipBatch, stepGradients } from '../helpers/step-gradients.js';

// bfloat16 keeps 8 significant bits: each rounding is within 2^-9 ≈ 2e-3 relative. The model's matmul inputs are
// rounded in both passes and the products summed in float32, so loss and gradients move by a few 1e-3 (measured on
// this batch: loss 9.4e-4, ‖Δg‖/‖g‖ 5.1e-3, grad norm 3e-4); the bounds allow ~10 bfloat16 roundings.
const LOSS_TOLERANCE = 5e-3;
const GRAD_TOLERANCE = 2e-2;
const root = mkdtempSync(join(tmpdir(), 'rexrag-autocast-'));
const modelDir = join(root, 'tiny');
test.before(async () => {
  await writeTinyModel(modelDir, { seed: 5, layers: 2, hidden: 64, heads: 4, kvHeads: 2, intermediate: 128 });
});
test.after.always(() => rmSync(root, { recursive: true, force: true }));

async function gradientsOf(batch: TrajectoryBatch, step: StepOptions) {
  const policy = await loadPolicy(modelDir);
  try {
    return await stepGradients(policy, batch, step);
  } finally {
    policy.dispose();
  }
}

test('bfloat16 autocast: loss and gradients close to float32, float32 optimizer state, the same with recompute', async (t) => {
  const batch = await scoredClipBatch(modelDir, 23, [9, 14, 6, 12, 11, 15], [1.2, -0.7, 0.4, -1.1, 0.3, 0.8]);
  const fp32 = await gradientsOf(batch, { autocast: 'off', microBatchTokens: 24 });
  const bf16 = await gradientsOf(batch, { autocast: 'bfloat16', microBatchTokens: 24 });
  const lossDiff = Math.abs(bf16.metrics['train/loss'] - fp32.metrics['train/loss']) / Math.abs(fp32.metrics['train/loss']);
  const grads = gradientDifference(bf16.gradients, fp32.gradients);
  const normDiff = Math.abs(bf16.metrics['train/grad_norm'] - fp32.metrics['train/grad_norm']) / fp32.metrics['train/grad_norm'];
  t.log(`bf16 vs fp32: loss rel ${lossDiff.toExponential(1)}, grad ‖Δ‖/‖g‖ ${grads.normRelative.toExponential(1)}, max|Δ|/max|g| ${grads.maxRelative.toExponential(1)}, grad-norm rel ${normDiff.toExponential(1)}`);
  t.true(lossDiff < LOSS_TOLERANCE, `loss ${bf16.metrics['train/loss']} vs ${fp32.metrics['train/loss']}`);
  t.true(grads.normRelative < GRAD_TOLERANCE && normDiff < GRAD_TOLERANCE, `gradient difference ${JSON.stringify(grads)}, norm ${normDiff}`);
  // Every parameter's gradient and moment is stored as float32 (stepGradients reads the F32 moments only).
  t.is(bf16.gradients.size, fp32.gradients.size);
  // In one micro-batch, a projection's weight gradient is one bfloat16 matmul's output cast to float32, as under
  // torch.autocast: exactly representable in bfloat16 (low 16 bits zero), unlike the float32 run's. So is the
  // LM head's here (one row chunk, so one matmul per vocabulary slice).
  const single = await gradientsOf(batch, { autocast: 'bfloat16', microBatchTokens: 1_000_000 });
  const fp32Single = await gradientsOf(batch, { autocast: 'off', microBatchTokens: 1_000_000 });
  const bf16Share = (values: Float32Array) => new Uint32Array(values.buffer, values.byteOffset, values.length).filter((b) => (b & 0xffff) === 0).length / values.length;
  for (const name of ['model.layers.0.self_attn.q_proj.weight', 'model.layers.1.mlp.down_proj.weight', 'lm_head.weight']) {
    t.is(bf16Share(single.gradients.get(name)!), 1, `${name}: its gradient did not come from a bfloat16 matmul`);
    t.true(bf16Share(fp32Single.gradients.get(name)!) < 0.1, `${name}: the float32 gradient looks like bfloat16`);
  }
  const recomputed = await gradientsOf(batch, { autocast: 'bfloat16', microBatchTokens: 24, recompute: true });
  const again = gradientDifference(recomputed.gradients, bf16.gradients);
  t.true(again.normRelative < 1e-6, `recompute under autocast changed the gradients: ${JSON.stringify(again)}`);
});

test('training under bfloat16 autocast lowers the loss like float32 and keeps float32 weights', async (t) => {
  // Advantage 1 without behaviour log-probs is supervised fine-tuning: train/nll is its loss.
  const rand = mulberry32(31);
  const ids = Array.from({ length: 6 }, () => Array.from({ length: 10 }, () => 1 + Math.floor(rand() * 60)));
  const batch = { ids, lossMask: ids.map((row) => row.map((_, t) => (t >= 2 ? 1 : 0))), advantages: ids.map(() => 1) };
  const curves: Record<string, number[]> = {};
  for (const autocast of ['off', 'bfloat16'] as const) {
    const policy = await loadPolicy(modelDir);
    const trainer = await GrpoTrainer.create(policy, { reference: 'none', loss: { klType: 'none' }, optimizer: { lr: 1e-2, weightDecay: 0 } });
    curves[autocast] = [];
    for (let step = 0; step < 8; step++) curves[autocast]!.push((await trainer.step(batch, { autocast }))['train/nll']);
    if (autocast === 'bfloat16') {
      // Master weights: after updates of lr·(~1) on weights of ~0.02, float32 values need more than bfloat16's bits.
      const weights = policy.parameterValues('model.layers.0.mlp.up_proj.weight');
      const bits = new Uint32Array(weights.buffer, weights.byteOffset, weights.length);
      const finer = bits.filter((b) => (b & 0xffff) !== 0).length / bits.length;
      t.true(finer > 0.9, `only ${(finer * 100).toFixed(1)}% of the weights hold more than bfloat16's bits`);
    }
    trainer.dispose();
    policy.dispose();
  }
  const [off, bf16] = [curves.off!, curves.bfloat16!];
  t.log(`train/nll over 8 steps: fp32 ${off[0]!.toFixed(3)} -> ${off.at(-1)!.toFixed(3)}, bf16 autocast ${bf16[0]!.toFixed(3)} -> ${bf16.at(-1)!.toFixed(3)}`);
  t.true(bf16.at(-1)! < 0.5 * bf16[0]!, `bf16 autocast nll ${bf16.join(', ')}`);
  t.true(Math.abs(bf16.at(-1)! - off.at(-1)!) < 0.1 * off[0]!, `bf16 ${bf16.at(-1)} vs fp32 ${off.at(-1)}`);
});

test('autocast is off by default; a bad value or a bfloat16 policy is refused with a clear error', async (t) => {
  t.is(stepConfigSchema.parse({}).autocast, 'off');
  t.throws(() => stepConfigSchema.parse({ autocast: 'float16' }), { message: /autocast/ });
  const policy = await loadPolicy(modelDir, { dtype: 'bfloat16' });
  const trainer = await GrpoTrainer.create(policy, { reference: 'none', loss: { klType: 'none' } });
  const batch = { ids: [[1, 2, 3]], lossMask: [[0, 1, 1]], advantages: [1] };
  await t.throwsAsync(trainer.step(batch, { autocast: 'bfloat16' }), { code: 'ERR_INVALID_ARG', message: /needs a policy whose dtype is float32/ });
  trainer.dispose();
  policy.dispose();
});
