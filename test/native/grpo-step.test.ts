// The native GRPO step on a tiny policy: a fixed reward moves the policy the expected way; gradient
// accumulation over micro-batches equals one big batch; non-finite inputs skip the update; bad input is named.
import test from 'ava';

import { lossConfigSchema, optimizerConfigSchema, stepConfigSchema } from '../../lib/config/train-config.js';
import { Policy } from '../../lib/model/policy.js';
import { native } from '../../lib/native.js';
import { mulberry32 } from '../../lib/util/random.js';
import { STEP_METRIC_NAMES, TOKEN_KINDS, TOKEN_KIND_METRICS, type NativeQwen2Config } from '../../lib/native-types.js';
import { GrpoTrainer, loggedTrainMetrics, type TrajectoryBatch } from '../../lib/train/grpo-trainer.js';

const config: NativeQwen2Config = {
  vocab_size: 64,
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  tie_word_embeddings: false,
};
const prompt = [1, 2, 3, 4];
const isRewarded = (token: number) => token < 16;  // a quarter of the vocabulary

/** Probability mass the policy puts on rewarded tokens right after the prompt. */
async function rewardedMass(policy: Policy): Promise<number> {
  const candidates = Array.from({ length: config.vocab_size }, (_, t) => [...prompt, t]);
  const { logps } = await policy.score(candidates);
  return logps.reduce((sum, row, t) => sum + (isRewarded(t) ? Math.exp(row[prompt.length]!) : 0), 0);
}

/** Samples a group of rollouts and builds a GRPO batch rewarded by the share of rewarded tokens. */
async function rolloutBatch(policy: Policy, seed: number, groupSize = 8, newTokens = 6): Promise<TrajectoryBatch> {
  const session = policy.createSession();
  const rows = Array.from({ length: groupSize }, () => session.addRow(prompt));
  const generated = await session.generate(rows, {
    temperature: 1, topP: 1, topK: 0, seed, maxNewTokens: newTokens, stopStrings: [], eosTokenIds: [],
  });
  session.dispose();
  const ids = generated.map((g) => [...prompt, ...g.tokens]);
  const rewards = generated.map((g) => g.tokens.filter(isRewarded).length / g.tokens.length);
  const mean = rewards.reduce((a, b) => a + b, 0) / rewards.length;
  const std = Math.sqrt(rewards.reduce((a, r) => a + (r - mean) ** 2, 0) / (rewards.length - 1));
  const { logps } = await policy.score(ids);
  return {
    ids,
    lossMask: ids.map((row) => row.map((_, t) => (t >= prompt.length ? 1 : 0))),
    behaviourLogps: logps,
    advantages: rewards.map((r) => (r - mean) / (std + 1e-6)),
  };
}

test('mini-batches by size: 5 rows of size 2 make 3 updates (the last short); size 0 makes one', async (t) => {
  const policy = await Policy.random(config, { seed: 2 });
  const trainer = await GrpoTrainer.create(policy, { optimizer: { lr: 1e-3 } });
  const batch = await rolloutBatch(policy, 7, 5);
  t.is((await trainer.step(batch, { miniBatchSize: 2 }))['train/updates'], 3);
  t.is((await trainer.step(batch, { miniBatchSize: 0 }))['train/updates'], 1);
  t.is((await trainer.step(batch, { miniBatchSize: 256 }))['train/updates'], 1);
  t.is((await trainer.step(batch, { miniBatchSize: 2, epochs: 2 }))['train/updates'], 6);
  trainer.dispose();
  policy.dispose();
});

test('sequence-level ratio: a flagged row shares exp(mean log-ratio) over its loss tokens', async (t) => {
  const policy = await Policy.random(config, { seed: 3 });
  const trainer = await GrpoTrainer.create(policy, { optimizer: { lr: 0 }, loss: { klType: 'none' } });
  const ids = [[...prompt, 5, 9, 11, 3, 7]];
  const lossMask = [ids[0]!.map((_, i) => (i >= prompt.length ? 1 : 0))];
  const { logps } = await policy.score(ids);
  // Behaviour below the current log-prob by δ_t = 0.1·k on the k-th loss token: token ratios e^{δ_t}.
  const deltas = lossMask[0]!.map((m, i) => (m ? 0.1 * (i - prompt.length) : 0));
  const behaviourLogps = [Array.from(logps[0]!, (v, i) => v - deltas[i]!)];
  const batch = { ids, lossMask, behaviourLogps, advantages: [1] };
  const meanDelta = deltas.reduce((a, b) => a + b, 0) / 5;
  const perToken = await trainer.step(batch, { miniBatchSize: 0 });
  t.true(Math.abs(perToken['train/ratio_max'] - Math.exp(0.4)) < 1e-4, `per token: max ${perToken['train/ratio_max']}`);
  const sequence = await trainer.step({ ...batch, sequenceRatio: [true] }, { miniBatchSize: 0 });
  t.true(Math.abs(sequence['train/ratio_max'] - Math.exp(meanDelta)) < 1e-4, `sequence: max ${sequence['train/ratio_max']}`);
  t.true(Math.abs(sequence['train/ratio_mean'] - Math.exp(meanDelta)) < 1e-4, `sequence: mean ${sequence['train/ratio_mean']}`);
  await t.throwsAsync(trainer.step({ ...batch, sequenceRatio: [true, false] }), { instanceOf: RangeError, message: /sequenceRatio has 2 rows/ });
  trainer.dispose();
  policy.dispose();
});

test('a few GRPO steps with a fixed reward raise the rewarded tokens\' probability and change every parameter', async (t) => {
  const policy = await Policy.random(config, { seed: 1 });
  const trainer = await GrpoTrainer.create(policy, { optimizer: { lr: 3e-3, weightDecay: 0 } });
  const before = await rewardedMass(policy);
  const initial = new Map(policy.parameters().map((p) => [p.name, policy.parameterValues(p.name)]));
  for (let step = 0; step < 6; step++) {
    const metrics = await trainer.step(await rolloutBatch(policy, 100 + step), { miniBatchSize: 4 });
    t.true(Number.isFinite(metrics['train/loss']), `step ${step}: loss ${metrics['train/loss']}`);
    t.is(metrics['train/updates'], 2);
    t.is(metrics['train/skipped_updates'], 0);
    t.true(metrics['train/grad_norm'] > 0);
    t.true(metrics['train/kl'] >= 0, 'k3 is non-negative');
  }
  const after = await rewardedMass(policy);
  t.log(`rewarded-token mass after the prompt: ${before.toFixed(4)} -> ${after.toFixed(4)}`);
  t.true(after > before * 1.2, `mass ${before} -> ${after}`);
  for (const [name, values] of initial) {
    const now = policy.parameterValues(name);
    t.true(now.some((v, i) => v !== values[i]), `${name} did not change`);
  }
  t.is(trainer.stepsDone(), 6);
  trainer.dispose();
  policy.dispose();
});

test('the step reports exactly the metric table, slash-named, in its order', async (t) => {
  const policy = await Policy.random(config, { seed: 11 });
  const trainer = await GrpoTrainer.create(policy);
  const metrics = await trainer.step(await rolloutBatch(policy, 5, 4, 4));
  t.deepEqual(Object.keys(metrics), [...STEP_METRIC_NAMES]);
  t.deepEqual(native().stepMetricNames, [...STEP_METRIC_NAMES]);
  t.is(metrics['train/tokens'], 16);
  t.is(metrics['train/micro_batches'], 1);
  t.false('train/updates' in loggedTrainMetrics(metrics));
  trainer.dispose();
  policy.dispose();
});

test('gradient accumulation over micro-batches gives the same update as one big batch', async (t) => {
  const batchPolicy = await Policy.random(config, { seed: 2 });
  const batch = await rolloutBatch(batchPolicy, 7, 6, 5);
  const results: Float32Array[][] = [];
  for (const microBatchTokens of [1_000_000, 9]) {
    const policy = await Policy.random(config, { seed: 2 });
    const trainer = await GrpoTrainer.create(policy, { optimizer: { lr: 1e-3 }, loss: { aggregation: 'seq-mean-token-mean' } });
    const metrics = await trainer.step(batch, { microBatchTokens });
    t.true(metrics['train/micro_batches'] >= (microBatchTokens === 9 ? 6 : 1));
    results.push(policy.parameters().map((p) => policy.parameterValues(p.name)));
    trainer.dispose();
    policy.dispose();
  }
  let maxDiff = 0;
  results[0]!.forEach((values, i) => values.forEach((v, j) => (maxDiff = Math.max(maxDiff, Math.abs(v - results[1]![i]![j]!)))));
  // Adam divides by sqrt(v): float rounding in near-zero gradients moves a step by a little; 1% of lr is the bar.
  t.true(maxDiff < 1e-5, `largest parameter difference ${maxDiff} (lr 1e-3)`);
  batchPolicy.dispose();
});

test('a non-finite loss skips the update, counts it, and leaves the weights unchanged', async (t) => {
  const policy = await Policy.random(config, { seed: 3 });
  const trainer = await GrpoTrainer.create(policy);
  const batch = await rolloutBatch(policy, 9, 4, 4);
  const before = policy.parameterValues('model.layers.0.mlp.up_proj.weight');
  const poisoned = { ...batch, advantages: batch.advantages.map((a, i) => (i === 0 ? Number.MAX_VALUE : a)) };
  poisoned.behaviourLogps = batch.behaviourLogps!.map((row) => Array.from(row, (v, j) => (j === 5 ? -1e30 : v)));
  const metrics = await trainer.step(poisoned);
  t.is(metrics['train/skipped_updates'], 1);
  t.is(metrics['train/updates'], 0);
  t.deepEqual(policy.parameterValues('model.layers.0.mlp.up_proj.weight'), before);
  const next = await trainer.step(batch);
  t.is(next['train/updates'], 1, 'training goes on after a skipped update');
  trainer.dispose();
  policy.dispose();
});

test('bad batches are refused with errors naming the problem', async (t) => {
  const policy = await Policy.random(config, { seed: 4 });
  const trainer = await GrpoTrainer.create(policy, { reference: 'none', loss: { klType: 'none' } });
  const good: TrajectoryBatch = { ids: [[1, 2, 3]], lossMask: [[0, 1, 1]], behaviourLogps: [[0, -1, -1]], advantages: [1] };
  await t.notThrowsAsync(trainer.step(good));
  await t.throwsAsync(trainer.step({ ...good, lossMask: [[1, 1, 1]] }), { instanceOf: RangeError, message: /lossMask\[0\]\[0\] must be 0/ });
  await t.throwsAsync(trainer.step({ ...good, behaviourLogps: [[0, -1]] }), { instanceOf: RangeError, message: /behaviourLogps\[0\] has 2 values/ });
  await t.throwsAsync(trainer.step({ ...good, ids: [[1, 2, 64]] }), { instanceOf: RangeError, message: /ids\[0\]\[2\]/ });
  await t.throwsAsync(trainer.step({ ...good, advantages: [] }), { instanceOf: RangeError, message: /advantages has 0 rows/ });
  await t.throwsAsync(GrpoTrainer.create(policy, { loss: { klType: 'k9' as never } }), { message: /loss\.klType/ });
  await t.throwsAsync(GrpoTrainer.create(policy, { optimizer: { schedule: 'cosine', totalSteps: 0 } }), { message: /optimizer\.totalSteps/ });
  await t.throwsAsync(GrpoTrainer.create(policy, { optimizer: { lr: -1 } }), { message: /optimizer\.lr/ });
  await t.throwsAsync(trainer.step(good, { miniBatchSize: -1 }), { message: /miniBatchSize/ });
  const withKl = await GrpoTrainer.create(policy, { reference: 'none' });
  await t.throwsAsync(withKl.step(good), { message: /refLogps were not given/ });
  trainer.dispose();
  withKl.dispose();
  policy.dispose();
});

test('the native trainer reads every option as required: a missing or mistyped field is a TypeError naming it', async (t) => {
  const policy = await Policy.random(config, { seed: 4 });
  const loss = lossConfigSchema.parse({});
  const optimizer = optimizerConfigSchema.parse({});
  const create = (options: object) => new (native().Trainer)(policy.nativeHandle(), options as never);
  const { klCoef: _, ...withoutKlCoef } = loss;
  t.throws(() => create({ loss: withoutKlCoef, optimizer, keepReference: false }), { instanceOf: TypeError, message: 'options.loss.klCoef must be a number, got undefined' });
  t.throws(() => create({ loss: { ...loss, klType: 'k9' }, optimizer, keepReference: false }), { instanceOf: TypeError, message: 'options.loss.klType must be one of none, k1, k2, k3, got "k9"' });
  t.throws(() => create({ loss, optimizer: { ...optimizer, warmupSteps: '3' }, keepReference: false }), { instanceOf: TypeError, message: 'options.optimizer.warmupSteps must be a number, got string' });
  t.throws(() => create({ loss, optimizer }), { instanceOf: TypeError, message: 'options.keepReference must be a boolean, got undefined' });
  const trainer = create({ loss: { ...loss, klType: 'none' }, optimizer, keepReference: false });
  const batch = { ids: Int32Array.from([1, 2, 3]), lengths: Int32Array.from([3]), lossMask: Float32Array.from([0, 1, 1]), advantages: Float32Array.from([1, 1, 1]) };
  const { shuffle: __, ...withoutShuffle } = stepConfigSchema.parse({});
  t.throws(() => trainer.step(batch, withoutShuffle as never), { instanceOf: TypeError, message: 'options.shuffle must be a boolean, got undefined' });
  t.true(Number.isFinite((await trainer.step(batch, stepConfigSchema.parse({})))['train/loss']));
  trainer.dispose();
  policy.dispose();
});

test('sampling temperature: generation log-probs equal scoring at that temperature, and a step at it starts from ratio 1', async (t) => {
  const policy = await Policy.random(config, { seed: 12 });
  const temperature = 0.7;
  const session = policy.createSession();
  const rows = Array.from({ length: 4 }, () => session.addRow(prompt));
  const generated = await session.generate(rows, { temperature, topP: 1, topK: 0, seed: 21, maxNewTokens: 8, stopStrings: [], eosTokenIds: [] });
  session.dispose();
  const ids = generated.map((g) => [...prompt, ...g.tokens]);
  const largestDiff = (logps: Float32Array[]) =>
    Math.max(...generated.flatMap((g, i) => g.logprobs.map((lp, j) => Math.abs(lp - logps[i]![prompt.length + j]!))));
  const tempered = (await policy.score(ids, { temperature })).logps;
  t.true(largestDiff(tempered) < 2e-4, `generation vs scoring at T = ${temperature}: ${largestDiff(tempered)}`);
  t.true(largestDiff((await policy.score(ids)).logps) > 1e-2, 'untempered scoring differs (the test can tell)');
  const trainer = await GrpoTrainer.create(policy, { loss: { temperature }, optimizer: { lr: 1e-3 } });
  const lossMask = ids.map((row) => row.map((_, t) => (t >= prompt.length ? 1 : 0)));
  const tokenKinds = ids.map((row) => new Uint8Array(row.length));  // all original: train/original/ratio_min
  const metrics = await trainer.step({ ids, lossMask, behaviourLogps: tempered, advantages: [1, -1, 0.5, -0.5], tokenKinds });
  t.is(metrics['train/updates'], 1);
  t.true(Math.abs(metrics['train/original/ratio_min']! - 1) < 1e-5, `ratio min ${metrics['train/original/ratio_min']}`);
  t.true(Math.abs(metrics['train/ratio_mean'] - 1) < 1e-5, `ratio mean ${metrics['train/ratio_mean']}`);
  t.true(Math.abs(metrics['train/ratio_max'] - 1) < 1e-5, `ratio max ${metrics['train/ratio_max']}`);
  trainer.dispose();
  policy.dispose();
});

test('per-token-kind diagnostics from inside the step equal a plain computation over the same tokens', async (t) => {
  const policy = await Policy.random(config, { seed: 13 });
  const batch = await rolloutBatch(policy, 17, 8, 6);
  const rand = mulberry32(5);
  // Behaviour and reference log-probs moved off the current ones, so ratios straddle the clip range and k3 > 0.
  const behaviourLogps = batch.behaviourLogps!.map((row) => Array.from(row, (v) => Math.fround(v + (rand() - 0.5) * 0.9)));
  const refLogps = batch.behaviourLogps!.map((row) => Array.from(row, (v) => Math.fround(v + (rand() - 0.5) * 0.6)));
  const tokenKinds = batch.ids.map((row) => Int8Array.from(row, (_, t) => (t < prompt.length ? 0 : Math.floor(rand() * 4))));
  const lossMask = batch.lossMask.map((row) => Array.from(row));
  lossMask[0]![lossMask[0]!.length - 1] = 0;  // a probe token outside the loss mask: ignored
  tokenKinds[0]![tokenKinds[0]!.length - 1] = 3;
  const advantages = batch.advantages.map((a) => Math.fround(a as number));
  const current = (await policy.score(batch.ids)).logps;  // π_θ before the step's only update
  const loss = { clipLow: 0.2, clipHigh: 0.28, klType: 'k3' as const, klCoef: 0.01 };
  const trainer = await GrpoTrainer.create(policy, { loss, optimizer: { lr: 1e-3 } });
  const metrics = await trainer.step({ ...batch, lossMask, behaviourLogps, refLogps, advantages, tokenKinds });
  t.deepEqual(native().tokenKindNames, [...TOKEN_KINDS]);
  t.deepEqual(native().tokenKindMetricNames, [...TOKEN_KIND_METRICS]);
  const clipped = { high: 0, low: 0 };
  for (const [k, kind] of TOKEN_KINDS.entries()) {
    const tokens: { r: number; logR: number; a: number; k3: number }[] = [];
    batch.ids.forEach((row, i) => Array.from(row).forEach((_, j) => {
      if (lossMask[i]![j] !== 1 || tokenKinds[i]![j] !== k) return;
      const logR = current[i]![j]! - behaviourLogps[i]![j]!;
      const d = Math.min(20, Math.max(-20, refLogps[i]![j]! - current[i]![j]!));
      tokens.push({ r: Math.exp(logR), logR, a: advantages[i]!, k3: Math.min(10, Math.max(-10, Math.exp(d) - d - 1)) });
    }));
    const mean = (f: (x: (typeof tokens)[number]) => number) => tokens.reduce((s, x) => s + f(x), 0) / tokens.length;
    const expected: Record<string, number> = {
      tokens: tokens.length,
      ratio_mean: mean((x) => x.r),
      ratio_max: Math.max(...tokens.map((x) => x.r)),
      ratio_min: Math.min(...tokens.map((x) => x.r)),
      clip_frac_high: mean((x) => (x.a > 0 && x.r > 1 + loss.clipHigh ? 1 : 0)),
      clip_frac_low: mean((x) => (x.a < 0 && x.r < 1 - loss.clipLow ? 1 : 0)),
      approx_kl: mean((x) => -x.logR),
      kl_k3: mean((x) => x.k3),
      advantage_mean: mean((x) => x.a),
    };
    t.true(tokens.length > 3, `${kind}: ${tokens.length} tokens`);
    for (const name of TOKEN_KIND_METRICS) {
      const actual = metrics[`train/${kind}/${name}`]!;
      t.true(Math.abs(actual - expected[name]!) <= 1e-4 * Math.max(1, Math.abs(expected[name]!)), `${kind}/${name}: ${actual} vs ${expected[name]}`);
    }
    clipped.high += expected.clip_frac_high! * tokens.length;
    clipped.low += expected.clip_frac_low! * tokens.length;
  }
  t.true(clipped.high > 0 && clipped.low > 0, 'both clip branches are exercised');
  t.is(TOKEN_KINDS.reduce((s, kind) => s + metrics[`train/${kind}/tokens`]!, 0), metrics['train/tokens']);
  const twin = await Policy.random(config, { seed: 13 });
  const without = await GrpoTrainer.create(twin, { loss, optimizer: { lr: 1e-3 } });
  const plain = await without.step({ ...batch, lossMask, behaviourLogps, refLogps, advantages });
  t.false(Object.keys(plain).some((key) => key.split('/').length > 2), 'no per-kind keys without tokenKinds');
  t.is(plain['train/ratio_mean'], metrics['train/ratio_mean']);
  without.dispose();
  twin.dispose();
  trainer.dispose();
  policy.dispose();
});

test('the learning-rate schedule: linear warmup from 0, then constant or cosine', async (t) => {
  const policy = await Policy.random(config, { seed: 5 });
  const constant = await GrpoTrainer.create(policy, { reference: 'none', optimizer: { lr: 1e-3, warmupSteps: 4 } });
  t.deepEqual([0, 1, 4, 100].map((s) => constant.lrAt(s)), [0, 2.5e-4, 1e-3, 1e-3]);
  const cosine = await GrpoTrainer.create(policy, { reference: 'none', optimizer: { lr: 1e-3, schedule: 'cosine', warmupSteps: 2, totalSteps: 12, minLrRatio: 0.1 } });
  t.is(cosine.lrAt(2), 1e-3);
  t.true(Math.abs(cosine.lrAt(7) - (1e-4 + 0.9e-3 * 0.5)) < 1e-12);
  t.true(Math.abs(cosine.lrAt(12) - 1e-4) < 1e-12);
  constant.dispose();
  cosine.dispose();
  policy.dispose();
});

test('a bfloat16 generation copy follows the float32 weights through training steps', async (t) => {
  const policy = await Policy.random(config, { seed: 6, generationDtype: 'bfloat16' });
  const trainer = await GrpoTrainer.create(policy, { optimizer: { lr: 5e-2, weightDecay: 0 } });
  const generationLogps = async () => {
    const session = policy.createSession();
    const [out] = await session.generate([session.addRow(prompt)], { temperature: 0, topP: 1, topK: 0, seed: 0, maxNewTokens: 6, stopStrings: [], eosTokenIds: [] });
    const tokens = [...prompt, ...out!.tokens];
    session.dispose();
    const { logps } = await policy.score([tokens]);  // float32 teacher forcing
    return { generated: out!.modelLogprobs, teacher: Array.from(logps[0]!.slice(prompt.length)) };
  };
  const before = await generationLogps();
  const close = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
  t.true(close(before.generated, before.teacher) < 0.05, `bf16 generation vs fp32 teacher forcing: ${close(before.generated, before.teacher)}`);
  for (let step = 0; step < 3; step++) await trainer.step(await rolloutBatch(policy, 40 + step));
  const after = await generationLogps();
  t.true(close(after.generated, after.teacher) < 0.05, `after training: ${close(after.generated, after.teacher)} (the copy was refreshed)`);
  t.true(close(after.teacher, before.teacher) > 0.05 || after.generated.length !== before.generated.length || close(after.generated, before.generated) > 0.05, 'the weights did move');
  trainer.dispose();
  policy.dispose();
});

test('without behaviour log-probs the step is on-policy: the same update as passing the current log-probs', async (t) => {
  const batch = await rolloutBatch(await Policy.random(config, { seed: 8 }), 3, 4, 5);
  const params: Float32Array[][] = [];
  for (const onPolicy of [false, true]) {
    const policy = await Policy.random(config, { seed: 9 });
    const trainer = await GrpoTrainer.create(policy, { optimizer: { lr: 1e-3 } });
    const current = (await policy.score(batch.ids)).logps;
    const metrics = await trainer.step(onPolicy ? { ...batch, behaviourLogps: undefined } : { ...batch, behaviourLogps: current });
    t.true(Math.abs(metrics['train/ratio_mean'] - 1) < 1e-5, `ratio mean ${metrics['train/ratio_mean']}`);
    t.true(metrics['train/nll'] > 0);
    params.push(policy.parameters().map((p) => policy.parameterValues(p.name)));
    trainer.dispose();
    policy.dispose();
  }
  let maxDiff = 0;
  params[0]!.forEach((values, i) => values.forEach((v, j) => (maxDiff = Math.max(maxDiff, Math.abs(v - params[1]![i]![j]!)))));
  t.true(maxDiff < 1e-5, `largest parameter difference ${maxDiff}`);
});
