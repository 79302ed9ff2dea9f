// Activation recomputation (step option `recompute`) on a tiny HF-style policy folder: the same loss and the same
// gradients as keeping the activations, micro-batched or not, and a lower peak memory on a long row.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { stepConfigSchema } from '../../lib/config/train-config.js';
import { loadPolicy } from '../../lib/model/load-policy.js';
import { writeTinyModel } from '../../lib/model/tiny-model.js';
import { gradientDifference, scoredClipBatch, stepGradients } from '../helpers/step-gradients.js';

const root = mkdtempSync(join(tmpdir(), 'rexrag-recompute-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));

test('recompute gives the loss and gradients of keeping activations, over micro-batches too', async (t) => {
  const dir = join(root, 'tiny');
  await writeTinyModel(dir, { seed: 5, layers: 2, hidden: 64, heads: 4, kvHeads: 2, intermediate: 128 });
  const batch = await scoredClipBatch(dir, 17, [9, 14, 6, 12, 11], [1.2, -0.7, 0.4, -1.1, 0.3]);
  const run = async (recompute: boolean, microBatchTokens: number) => {
    const policy = await loadPolicy(dir);
    try {
      return await stepGradients(policy, batch, { recompute, microBatchTokens });
    } finally {
      policy.dispose();
    }
  };
  const kept = await run(false, 1_000_000);
  for (const microBatchTokens of [1_000_000, 24]) {
    const recomputed = await run(true, microBatchTokens);
    t.true(recomputed.metrics['train/micro_batches'] >= (microBatchTokens === 24 ? 3 : 1));
    const lossDiff = Math.abs(recomputed.metrics['train/loss'] - kept.metrics['train/loss']) / Math.abs(kept.metrics['train/loss']);
    const grads = gradientDifference(recomputed.gradients, kept.gradients);
    t.log(`microBatchTokens ${microBatchTokens}: loss rel ${lossDiff.toExponential(1)}, grad ‖Δ‖/‖g‖ ${grads.normRelative.toExponential(1)}, max ${grads.maxRelative.toExponential(1)}`);
    t.is(recomputed.gradients.size, kept.gradients.size);
    t.true(lossDiff < 1e-6, `loss ${recomputed.metrics['train/loss']} vs ${kept.metrics['train/loss']}`);
    // Exactly-once accumulation: a parameter gradient added twice (or lost) would be off by 100%.
    t.true(grads.normRelative < 1e-6 && grads.maxRelative < 1e-6, `gradients differ: ${JSON.stringify(grads)}`);
  }
});

test('recompute lowers the peak memory of a step on a long row', (t) => {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'recompute-memory-run.js');
  const measure = (mode: 'on' | 'off') => {
    const child = spawnSync(process.execPath, [script, mode], { encoding: 'utf8' });
    t.is(child.status, 0, child.stderr);
    return JSON.parse(child.stdout.trim().split('\n').pop()!) as { peakAboveResident: number; loss: number };
  };
  const off = measure('off');
  const on = measure('on');
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
  t.log(`peak above resident, 6 layers x 512 tokens: ${mib(off.peakAboveResident)} MiB kept, ${mib(on.peakAboveResident)} MiB recomputed`);
  t.true(Math.abs(on.loss - off.loss) <= 1e-6 * Math.abs(off.loss), `loss ${on.loss} vs ${off.loss}`);
  t.true(on.peakAboveResident < 0.7 * off.peakAboveResident, `peak ${mib(on.peakAboveResident)} MiB vs ${mib(off.peakAboveResident)} MiB`);
});

test('recompute is a boolean step option, off by default', (t) => {
  t.false(stepConfigSchema.parse({}).recompute);
  t.throws(() => stepConfigSchema.parse({ recompute: 'yes' }), { message: /recompute/ });
});
