// Token budgets of the policy, checked before any native work: sequence length against max_position_embeddings
// (or a lower maxSequenceTokens), maxNewTokens, the KV-cache slots of one generate call and the tokens of one
// score call; and the CLI's generate/logprobs refusing a huge prompt or --max-new-tokens with one line.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { isRexragError, LimitError } from '../../lib/errors.js';
import { Policy } from '../../lib/model/policy.js';
import { resolveTokenLimits } from '../../lib/model/token-limits.js';
import { checkParameterBudget } from '../../lib/model/weights-budget.js';
import { writeTinyModel } from '../../lib/model/tiny-model.js';
import type { NativeQwen2Config } from '../../lib/native-types.js';
import { runCli } from '../helpers/run-cli.js';

const config: NativeQwen2Config = {
  vocab_size: 96, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
  max_position_embeddings: 64, rope_theta: 10000, rms_norm_eps: 1e-6, tie_word_embeddings: false,
};
const greedy = { temperature: 0, topP: 1, topK: 0, seed: 0, stopStrings: [] as string[], eosTokenIds: [] as number[] };
const ids = (n: number) => Array.from({ length: n }, (_, i) => (i * 7) % 96);

let policy: Policy;
const root = mkdtempSync(join(tmpdir(), 'rexrag-limits-'));
test.before(async () => {
  policy = await Policy.random(config, { seed: 1 });
});
test.after.always(() => {
  policy?.dispose();
  rmSync(root, { recursive: true, force: true });
});

test('limits default to max_position_embeddings and may only be lowered', (t) => {
  t.deepEqual(resolveTokenLimits(config), { maxSequenceTokens: 64, maxGenerationBatchTokens: 1 << 20, maxScoreBatchTokens: 1 << 24 });
  t.is(resolveTokenLimits(config, { maxSequenceTokens: 10 }).maxSequenceTokens, 10);
  t.throws(() => resolveTokenLimits(config, { maxSequenceTokens: 65 }), { instanceOf: RangeError, message: /maxSequenceTokens must be <= 64/ });
  t.is(policy.limits.maxSequenceTokens, 64);
});

test('score refuses a sequence past max_position_embeddings and a batch over maxScoreBatchTokens', async (t) => {
  const long = await t.throwsAsync(policy.score([ids(10), ids(65)]), { instanceOf: LimitError });
  t.true(isRexragError(long, 'ERR_LIMIT'));
  t.regex(long!.message, /sequences\[1\] is 65 tokens, over the limit of 64 per sequence/);
  t.is((await policy.score([ids(64)])).logps[0]!.length, 64, 'exactly the limit is fine');
  const small = await Policy.random(config, { seed: 1, limits: { maxScoreBatchTokens: 100 } });
  try {
    const batch = await t.throwsAsync(small.score([ids(40), ids(40), ids(40)]), { instanceOf: LimitError });
    t.is(batch!.limit, 'maxScoreBatchTokens');
    t.regex(batch!.message, /scoring 3 sequences needs 120 tokens, over the limit of 100/);
    t.is((await small.score([ids(50), ids(50)])).logps.length, 2);
  } finally {
    small.dispose();
  }
});

test('a session refuses prompts, appends and maxNewTokens that would pass the sequence limit', async (t) => {
  const session = policy.createSession();
  try {
    t.throws(() => session.addRow(ids(65)), { instanceOf: LimitError, message: /the prompt is 65 tokens/ });
    const row = session.addRow(ids(60));
    const over = await t.throwsAsync(session.generate([row], { ...greedy, maxNewTokens: 5 }), { instanceOf: LimitError });
    t.regex(over!.message, /row 0 \(60 tokens\) plus maxNewTokens 5 is 65 tokens/);
    const huge = await t.throwsAsync(session.generate([row], { ...greedy, maxNewTokens: 1e9 }), { instanceOf: LimitError });
    t.is(huge!.value, 60 + 1e9);
    const [result] = await session.generate([row], { ...greedy, maxNewTokens: 4 });
    t.is(result!.tokens.length, 4);
    t.throws(() => session.append(row, [1]), { instanceOf: LimitError, message: /row 0 with the appended tokens is 65 tokens/ });
    const probe = session.clone(row, 10);
    session.append(probe, ids(50));
    t.is((await session.generate([probe], { ...greedy, maxNewTokens: 4 }))[0]!.tokens.length, 4, 'a clone counts from its kept prefix');
  } finally {
    session.dispose();
  }
});

test('a generate call whose rows would hold more KV cache than maxGenerationBatchTokens is refused before it allocates', async (t) => {
  const small = await Policy.random(config, { seed: 1, limits: { maxGenerationBatchTokens: 100 } });
  const session = small.createSession();
  try {
    const rows = [ids(10), ids(10), ids(10), ids(10)].map((prompt) => session.addRow(prompt));
    const error = await t.throwsAsync(session.generate(rows, { ...greedy, maxNewTokens: 20 }), { instanceOf: LimitError });
    t.is(error!.limit, 'maxGenerationBatchTokens');
    t.regex(error!.message, /generating for 4 rows \(40 tokens held \+ 20 new tokens each\) needs 120 tokens, over the limit of 100/);
    const results = await session.generate(rows, { ...greedy, maxNewTokens: 15 });
    t.is(results.length, 4);
    // After a call each row holds 25 tokens: 4 x (25 + 1) = 104 > 100.
    await t.throwsAsync(session.generate(rows, { ...greedy, maxNewTokens: 1 }), { instanceOf: LimitError, message: /100 tokens held \+ 1 new/ });
    session.release(rows.slice(1));
    t.is((await session.generate(rows.slice(0, 1), { ...greedy, maxNewTokens: 1 })).length, 1);
  } finally {
    session.dispose();
    small.dispose();
  }
});

test('rexrag generate refuses a 120 KB prompt and --max-new-tokens 1e9 with one line, before generating', async (t) => {
  const dir = join(root, 'tiny');
  await writeTinyModel(dir, { seed: 2 });
  const prompt = 'the quick brown fox jumps over the lazy dog. '.repeat(2700);
  const big = await runCli(['generate', '--model', dir, '--prompt', prompt, '--max-new-tokens', '4']);
  t.is(big.code, 1, big.stderr);
  t.regex(big.stderr, /^rexrag generate: the prompt is \d+ tokens, over the limit of 2048 per sequence/);
  const many = await runCli(['generate', '--model', dir, '--prompt', 'hi', '--max-new-tokens', '1000000000']);
  t.is(many.code, 1, many.stderr);
  t.regex(many.stderr, /--max-new-tokens 1000000000 leaves no room for the prompt in 2048 tokens per sequence/);
  const lowered = await runCli(['generate', '--model', dir, '--prompt', 'hello there', '--max-new-tokens', '8', '--max-sequence-tokens', '6']);
  t.is(lowered.code, 1);
  t.regex(lowered.stderr, /leaves no room|over the limit of 6/);
  const idsFile = join(root, 'long-ids.json');
  writeFileSync(idsFile, JSON.stringify([ids(3000)]));
  const scored = await runCli(['logprobs', '--model', dir, '--ids-file', idsFile]);
  t.is(scored.code, 1, scored.stderr);
  t.regex(scored.stderr, /sequences\[0\] is 3000 tokens, over the limit of 2048/);
  t.is(scored.stderr.trim().split('\n').length, 1);
});

test('a random policy whose weights would not fit in memory is refused before the native call', async (t) => {
  const huge = { ...config, num_hidden_layers: 200_000_000 };
  const error = await t.throwsAsync(Policy.random(huge, { seed: 1 }), { instanceOf: LimitError });
  t.is(error!.limit, 'parameterBytes');
  t.regex(error!.message, /num_hidden_layers 200000000.*needs 1\.869e\+12 parameters, \d+(\.\d+)? GiB, more than this machine's/);
  // The budget is the bytes per parameter: a bfloat16 generation copy beside float32 weights counts 6 bytes each.
  t.throws(() => checkParameterBudget(config, 6, 6 * 24_864 - 1), { instanceOf: LimitError });
  t.notThrows(() => checkParameterBudget(config, 6, 6 * 24_864));
});
