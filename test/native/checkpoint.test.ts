// Checkpoints: N steps + save + resume + M steps equals N+M steps straight (bitwise, same machine); a save that
// fails leaves the previous checkpoint as the latest; a damaged checkpoint is refused with a clear error.
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test, { type ExecutionContext } from 'ava';

import { Policy } from '../../lib/model/policy.js';
import type { NativeQwen2Config } from '../../lib/native-types.js';
import { latestCheckpoint, resumeFromCheckpoint, saveCheckpoint, validateCheckpoint } from '../../lib/train/checkpoint.js';
import { GrpoTrainer, type TrajectoryBatch } from '../../lib/train/grpo-trainer.js';

const config: NativeQwen2Config = {
  vocab_size: 48, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2,
  num_attention_heads: 4, num_key_value_heads: 2, tie_word_embeddings: true,
};
const trainerOptions = { optimizer: { lr: 1e-2, warmupSteps: 2 }, loss: { klCoef: 0.05 } } as const;

async function makeBatches(count: number): Promise<TrajectoryBatch[]> {
  const source = await Policy.random(config, { seed: 99 });
  const batches: TrajectoryBatch[] = [];
  for (let b = 0; b < count; b++) {
    const session = source.createSession();
    const rows = [0, 1, 2, 3].map((i) => session.addRow([1 + i, 2, 3]));
    const out = await session.generate(rows, { temperature: 1, topP: 1, topK: 0, seed: b, maxNewTokens: 5, stopStrings: [], eosTokenIds: [] });
    session.dispose();
    const ids = out.map((g, i) => [1 + i, 2, 3, ...g.tokens]);
    const { logps } = await source.score(ids);
    batches.push({
      ids,
      lossMask: ids.map((row) => row.map((_, t) => (t >= 3 ? 1 : 0))),
      behaviourLogps: logps,
      advantages: [1, -1, 0.5, -0.5],
    });
  }
  source.dispose();
  return batches;
}

/** A fresh checkpoint root (removed after the test), a random policy and its trainer. */
async function freshRun(t: ExecutionContext, seed: number) {
  const root = mkdtempSync(join(tmpdir(), 'rexrag-ckpt-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const policy = await Policy.random(config, { seed });
  return { root, policy, trainer: await GrpoTrainer.create(policy, trainerOptions) };
}

function parameters(policy: Policy): Float32Array[] {
  return policy.parameters().map((p) => policy.parameterValues(p.name));
}

test('N steps + checkpoint + resume + M steps gives the same parameters as N+M steps straight', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'rexrag-ckpt-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const batches = await makeBatches(4);
  const stepOptions = { shuffle: true, seed: 5, miniBatchSize: 3 };

  const straight = await Policy.random(config, { seed: 1 });
  const straightTrainer = await GrpoTrainer.create(straight, trainerOptions);
  for (const batch of batches) await straightTrainer.step(batch, stepOptions);

  const first = await Policy.random(config, { seed: 1 });
  const firstTrainer = await GrpoTrainer.create(first, trainerOptions);
  for (const batch of batches.slice(0, 2)) await firstTrainer.step(batch, stepOptions);
  const dir = await saveCheckpoint(root, { policy: first, trainer: firstTrainer, step: 2, config: { note: 'test' }, rng: { seed: 5 } });
  firstTrainer.dispose();
  first.dispose();

  const resumed = await resumeFromCheckpoint(dir);
  t.is(resumed.trainer.stepsDone(), 2);
  t.deepEqual(resumed.state.config, { note: 'test' });
  for (const batch of batches.slice(2)) await resumed.trainer.step(batch, stepOptions);
  const expected = parameters(straight);
  const actual = parameters(resumed.policy);
  expected.forEach((values, i) => t.deepEqual(actual[i], values, `parameter ${i} differs`));
  straightTrainer.dispose();
  straight.dispose();
  resumed.trainer.dispose();
  resumed.policy.dispose();
});

test('a failed save keeps the previous checkpoint as the latest and leaves no partial folder', async (t) => {
  const { root, policy, trainer } = await freshRun(t, 2);
  const good = await saveCheckpoint(root, { policy, trainer, step: 1 });
  trainer.dispose();  // the next save cannot read the optimizer state
  await t.throwsAsync(saveCheckpoint(root, { policy, trainer, step: 2 }), { message: /disposed/ });
  t.is(await latestCheckpoint(root), good);
  t.deepEqual(readdirSync(root).sort(), ['latest.json', 'step-00000001']);
  policy.dispose();
});

test('a damaged checkpoint is refused with an error naming the damaged file', async (t) => {
  const { root, policy, trainer } = await freshRun(t, 3);
  const dir = await saveCheckpoint(root, { policy, trainer, step: 4 });
  await t.notThrowsAsync(validateCheckpoint(dir));
  const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
  truncateSync(join(dir, 'trainer.safetensors'), state.files['trainer.safetensors'] - 8);
  await t.throwsAsync(resumeFromCheckpoint(dir), { message: /trainer\.safetensors has \d+ bytes/ });
  rmSync(join(dir, 'state.json'));
  await t.throwsAsync(validateCheckpoint(dir), { message: /cannot read state\.json/ });
  trainer.dispose();
  policy.dispose();
});
