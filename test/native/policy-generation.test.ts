// The native Qwen2 policy: its forward pass matches an independent TypeScript reference; generation with the
// KV cache reports the same log-probs as teacher forcing; padding, batching, cloning and multi-turn appends do
// not change a row's results; seeds, EOS, stop strings and lengths behave as documented.
import test from 'ava';

import { RexragError } from '../../lib/errors.js';
import { Policy } from '../../lib/model/policy.js';
import { generationConfig, greedy } from '../helpers/generation-model.js';
import { referenceLogProbs } from '../helpers/reference-qwen2.js';

const config = generationConfig;
// The random model's logits are nearly flat (weights ~ N(0, 0.02)); a larger scale makes greedy choices robust.
const tolerance = 2e-4;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

let policy: Policy;
test.before(async () => {
  policy = await Policy.random(config, { seed: 7 });
});
test.after.always(() => policy?.dispose());

test('the native forward pass matches an independent float64 TypeScript reference', async (t) => {
  for (const tied of [false, true]) {
    const model = tied ? await Policy.random({ ...config, tie_word_embeddings: true }, { seed: 3 }) : policy;
    const ids = [5, 17, 3, 90, 42, 42, 0, 61, 7, 12];
    const { logps } = await model.score([ids]);
    const weights = new Map(model.parameters().map((p) => [p.name, model.parameterValues(p.name)]));
    const reference = referenceLogProbs({ ...config, rope_theta: 10000, rms_norm_eps: 1e-6, tie_word_embeddings: tied }, (name) => {
      const w = weights.get(name);
      if (!w) throw new Error(`missing ${name}`);
      return w;
    }, ids);
    const expected = ids.map((id, i) => (i === 0 ? 0 : reference[i - 1]![id]!));
    const diff = maxAbsDiff(logps[0]!, expected);
    t.true(diff < 1e-4, `tied=${tied}: largest |native - reference| = ${diff}`);
    // Entropy of each predicting distribution: H = −Σ p log p.
    const { entropies } = await model.score([ids], { withEntropy: true, chunkSize: 3 });
    const expectedEntropy = ids.map((_, i) => (i === 0 ? 0 : -reference[i - 1]!.reduce((h, lp) => h + Math.exp(lp) * lp, 0)));
    t.true(maxAbsDiff(entropies![0]!, expectedEntropy) < 1e-4, `tied=${tied}: entropy`);
    if (tied) model.dispose();
  }
});

test('generation log-probs (KV cache) equal teacher-forced log-probs of the same tokens', async (t) => {
  const session = policy.createSession();
  const prompts = [[1, 2, 3, 4, 5], [9, 8], [30, 31, 32, 33, 34, 35, 36, 37]];
  const rows = prompts.map((p) => session.addRow(p));
  const generated = await session.generate(rows, { ...greedy, temperature: 0.9, topP: 0.95, topK: 50, seed: 11, maxNewTokens: 24 });
  const sequences = rows.map((row) => session.tokens(row));
  const { logps } = await policy.score(sequences);
  generated.forEach((g, i) => {
    const teacher = logps[i]!.slice(prompts[i]!.length);
    const diff = maxAbsDiff(g.modelLogprobs, teacher);
    t.true(diff < tolerance, `row ${i}: largest |generation - teacher forcing| = ${diff} (tolerance ${tolerance})`);
    t.is(g.tokens.length, 24);
    t.is(g.stopReason, 'length');
    // The sampling distribution (temperature, top-k, top-p) differs from the model's: its log-probs are >= log p.
    t.true(g.logprobs.every((lp) => Number.isFinite(lp) && lp <= 0));
  });
  session.dispose();
});

test('at temperature 1 with no filter the sampled log-probs are the model log-probs; a filter makes them larger', async (t) => {
  const session = policy.createSession();
  const rows = [[1, 2, 3], [40, 41]].map((p) => session.addRow(p));
  const plain = await session.generate(rows, { ...greedy, temperature: 1, topP: 1, topK: 0, seed: 5, maxNewTokens: 16 });
  plain.forEach((g, i) => t.deepEqual(g.logprobs, g.modelLogprobs, `row ${i}`));
  const filtered = await session.generate(rows, { ...greedy, temperature: 1, topP: 1, topK: 5, seed: 5, maxNewTokens: 16 });
  filtered.forEach((g) => g.logprobs.forEach((lp, k) => t.true(lp >= g.modelLogprobs[k]! - 1e-6)));
  t.true(filtered.some((g) => g.logprobs.some((lp, k) => lp > g.modelLogprobs[k]! + 1e-3)), 'top-k renormalises');
  session.dispose();
});

test('padding and batching do not change a row: batched scores and greedy tokens equal single-row ones', async (t) => {
  const sequences = [[4, 5, 6], [10, 11, 12, 13, 14, 15, 16, 17, 18], [3]];
  const batched = await policy.score(sequences, { chunkSize: 4 });
  const lossMask = sequences.map((row) => row.map((_, t) => (t % 2 === 0 ? 1 : 0)));
  const masked = await policy.score(sequences, { lossMask });
  // Scoring only masked tokens gives the same values there and 0 elsewhere.
  masked.logps.forEach((row, i) => t.true(maxAbsDiff(row, batched.logps[i]!.map((v, k) => (lossMask[i]![k] ? v : 0))) < 1e-5, `masked row ${i}`));
  for (let i = 0; i < sequences.length; i++) {
    const alone = await policy.score([sequences[i]!]);
    t.true(maxAbsDiff(batched.logps[i]!, alone.logps[0]!) < 1e-5, `row ${i}`);
  }
  const session = policy.createSession();
  const rows = sequences.map((s) => session.addRow(s));
  const together = await session.generate(rows, { ...greedy, maxNewTokens: 12 });
  for (let i = 0; i < sequences.length; i++) {
    const single = policy.createSession();
    const [alone] = await single.generate([single.addRow(sequences[i]!)], { ...greedy, maxNewTokens: 12 });
    t.deepEqual(together[i]!.tokens, alone!.tokens, `row ${i}`);
    t.true(maxAbsDiff(together[i]!.modelLogprobs, alone!.modelLogprobs) < tolerance);
    single.dispose();
  }
  session.dispose();
});

test('appending an observation and continuing equals generating from the concatenated prefix', async (t) => {
  const session = policy.createSession();
  const row = session.addRow([7, 7, 8]);
  await session.generate([row], { ...greedy, maxNewTokens: 6 });
  session.append(row, [50, 51, 52, 53]);
  const [continued] = await session.generate([row], { ...greedy, maxNewTokens: 8 });
  const fresh = session.addRow(session.tokens(row).slice(0, -8));
  const [direct] = await session.generate([fresh], { ...greedy, maxNewTokens: 8 });
  t.deepEqual(continued!.tokens, direct!.tokens);
  t.true(maxAbsDiff(continued!.modelLogprobs, direct!.modelLogprobs) < tolerance);
  session.dispose();
});

test('a clone cut inside the cached prefix continues exactly like a fresh row with those tokens', async (t) => {
  const session = policy.createSession();
  const row = session.addRow([20, 21, 22, 23]);
  await session.generate([row], { ...greedy, maxNewTokens: 10 });
  const keep = 9;
  const probe = session.clone(row, keep);
  t.deepEqual(session.tokens(probe), session.tokens(row).slice(0, keep));
  session.append(probe, [60, 61]);
  const fresh = session.addRow([...session.tokens(row).slice(0, keep), 60, 61]);
  const [fromClone, fromFresh] = await session.generate([probe, fresh], { ...greedy, maxNewTokens: 10 });
  t.deepEqual(fromClone!.tokens, fromFresh!.tokens);
  t.true(maxAbsDiff(fromClone!.modelLogprobs, fromFresh!.modelLogprobs) < tolerance);
  t.is(session.tokens(row).length, 14, 'the source row is unchanged by its clone');
  session.dispose();
});

test('same seed gives the same tokens; another seed gives others', async (t) => {
  const run = async (seed: number) => {
    const session = policy.createSession();
    const rows = [session.addRow([1, 2]), session.addRow([3, 4, 5])];
    const out = await session.generate(rows, { ...greedy, temperature: 1, seed, maxNewTokens: 20 });
    session.dispose();
    return out.map((r) => r.tokens);
  };
  t.deepEqual(await run(5), await run(5));
  t.notDeepEqual(await run(5), await run(6));
});

test('EOS stops a row right after the EOS token; finished rows drop out while others go on', async (t) => {
  const session = policy.createSession();
  const probeRow = session.addRow([2, 4, 6]);
  const [free] = await session.generate([probeRow], { ...greedy, maxNewTokens: 10 });
  const eos = free!.tokens[3]!;
  const firstEos = free!.tokens.indexOf(eos);
  const a = session.addRow([2, 4, 6]);
  const b = session.addRow([11, 12, 13, 14]);
  const [ra, rb] = await session.generate([a, b], { ...greedy, eosTokenIds: [eos], maxNewTokens: 10 });
  t.is(ra!.stopReason, 'eos');
  t.deepEqual(ra!.tokens, free!.tokens.slice(0, firstEos + 1));
  t.true(rb!.tokens.length === 10 || rb!.stopReason === 'eos');
  session.dispose();
});

test('a stop string spanning several tokens stops the row right after the token that completes it', async (t) => {
  // Synthetic token bytes: token i is three letters, so a stop string can straddle a token boundary.
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const bytes = Array.from({ length: config.vocab_size }, (_, i) =>
    new TextEncoder().encode(letters[i % 26]! + letters[Math.floor(i / 26) % 26]! + letters[(i * 7) % 26]!),
  );
  const model = await Policy.random(config, { seed: 7 });
  model.nativeHandle().setTokenBytes(bytes);
  const session = model.createSession();
  const [free] = await session.generate([session.addRow([1, 2, 3])], { ...greedy, maxNewTokens: 16 });
  const text = free!.tokens.map((id) => new TextDecoder().decode(bytes[id]!)).join('');
  // Last two letters of token 5 plus the first two of token 6 and 7's first: spans three tokens.
  const stop = text.slice(5 * 3 + 1, 7 * 3 + 1);
  const firstHit = text.indexOf(stop);
  const expectedTokens = Math.ceil((firstHit + stop.length) / 3);
  const [stopped] = await session.generate([session.addRow([1, 2, 3])], { ...greedy, maxNewTokens: 16, stopStrings: ['zzzzzzzz', stop] });
  t.is(stopped!.stopReason, 'stop');
  t.is(stopped!.stopString, stop);
  t.deepEqual(stopped!.tokens, free!.tokens.slice(0, expectedTokens));
  session.dispose();
  model.dispose();
});

test('bad input gives named errors and never crashes', async (t) => {
  const session = policy.createSession();
  t.throws(() => session.addRow([]), { instanceOf: RangeError, message: /promptTokens must not be empty/ });
  t.throws(() => session.addRow([1, 96]), { instanceOf: RangeError, message: /promptTokens\[1\] must be <= 95/ });
  t.throws(() => session.addRow(['a'] as never), { instanceOf: TypeError });
  const native = policy.nativeHandle().createSession();
  t.throws(() => native.addRow([1, 500]), { instanceOf: RexragError, message: /token id 500 is outside the vocabulary/ });
  t.throws(() => native.tokens(12345), { instanceOf: RexragError, message: /no row 12345/ });
  t.throws(() => native.addRow('x' as never), { instanceOf: TypeError, message: /promptTokens must be an Int32Array/ });
  const row = native.addRow([1, 2]);
  t.throws(() => native.clone(row, 3), { message: /keepTokens must be in \[1, 2\]/ });
  const running = native.generate([row], { ...greedy, maxNewTokens: 4 });
  t.throws(() => native.addRow([1]), { instanceOf: RexragError, message: /already running/ });
  await running;
  await t.throwsAsync(native.generate([row, row], { ...greedy, maxNewTokens: 4 }), { message: /distinct/ });
  await t.throwsAsync(native.generate([row], { ...greedy, stopStrings: ['x'], maxNewTokens: 4 }), { message: /token bytes/ });
  native.dispose();
  t.throws(() => native.addRow([1]), { instanceOf: RexragError, message: /disposed/ });
  t.is((t.throws(() => native.rowCount()) as RexragError).code, 'ERR_DISPOSED');
  await t.throwsAsync(policy.score([[1, 2, 999]]), { instanceOf: RangeError });
  session.dispose();
});
