// The probe trigger (§3.2): training only, originals only, wrong answers only, then a draw with p = 20/101 (the
// reference's randint(0, 100) < 20); deterministic per (seed, question, row, turn); plus the seeded PRNG it uses.
import test from 'ava';

import { rexConfigSchema } from '../../lib/config/rex-config.js';
import { createProbeTrigger, shouldProbe } from '../../lib/explore/probe-trigger.js';

const DEFAULT_PROBE_PROBABILITY = rexConfigSchema.parse({}).probeProbability;
import { drawUniform, keyedRandom, mulberry32, randomInt } from '../../lib/util/random.js';
import { PromptTrie } from '../../lib/explore/prompt-trie.js';
import type { ProbeContext } from '../../lib/rollout/rollout-types.js';
import { CharTokenizer } from '../helpers/char-tokenizer.js';
import { seededRandom } from '../helpers/retrieval-corpus.js';

const chars = new CharTokenizer();
const trie = PromptTrie.fromPrompts(chars, ['xab', 'xac', 'xad', 'xbd']);
const never = () => {
  throw new Error('no draw expected');
};

function context(rowId: number, answer = 'Lyon', extra: Partial<ProbeContext> & { isProbe?: boolean } = {}) {
  return {
    rowId,
    questionId: 'q1',
    groupId: 'q1',
    question: 'capital of France',
    golds: ['Paris', 'Paree'],
    turn: 0,
    answer,
    answerStart: 10,
    answerStartInRow: 50,
    textLostBeforeAnswer: '',
    responseTokens: [1, 2, 3],
    ...extra,
  };
}

test('mulberry32 matches the test helpers\' generator; randomInt is inclusive like Python randint', (t) => {
  const a = mulberry32(42);
  const b = seededRandom(42);
  for (let i = 0; i < 100; i++) t.is(a(), b());
  const random = mulberry32(5);
  const seen = new Set<number>();
  for (let i = 0; i < 5000; i++) {
    const value = randomInt(random, 0, 100);
    if (!Number.isInteger(value) || value < 0 || value > 100) t.fail(`randint gave ${value}`);
    seen.add(value);
  }
  t.is(seen.size, 101, 'both ends reachable');
  t.is(randomInt(() => 0.999999999, 0, 29), 29);
  t.is(randomInt(() => 0, 3, 3), 3);
  t.throws(() => randomInt(() => 0.5, 2, 1), { instanceOf: RangeError, message: /high/ });
  t.throws(() => drawUniform(() => 1), { instanceOf: RangeError, message: /\[0, 1\)/ });
  t.throws(() => drawUniform(() => NaN), { instanceOf: RangeError });
  t.deepEqual([keyedRandom(3, 'k')(), keyedRandom(3, 'k')()], [keyedRandom(3, 'k')(), keyedRandom(3, 'k')()]);
  t.not(keyedRandom(3, 'k')(), keyedRandom(4, 'k')());
  t.not(keyedRandom(3, 'k')(), keyedRandom(3, 'l')());
});

test('shouldProbe: validation, probes and correct answers never draw; otherwise u < p', (t) => {
  const wrong = { isProbe: false, validation: false, answer: 'Lyon', golds: ['Paris'] };
  t.false(shouldProbe({ ...wrong, validation: true }, never, DEFAULT_PROBE_PROBABILITY));
  t.false(shouldProbe({ ...wrong, isProbe: true }, never, DEFAULT_PROBE_PROBABILITY));
  t.false(shouldProbe({ ...wrong, answer: 'the  PARIS.' }, never, DEFAULT_PROBE_PROBABILITY), 'EM after SQuAD normalisation');
  t.false(shouldProbe({ ...wrong, answer: 'Paree', golds: ['Paris', 'Paree'] }, never, DEFAULT_PROBE_PROBABILITY));
  t.true(shouldProbe(wrong, () => 0.198, DEFAULT_PROBE_PROBABILITY));
  t.false(shouldProbe(wrong, () => 0.199, DEFAULT_PROBE_PROBABILITY)); // 20/101 = 0.19802
  t.true(shouldProbe(wrong, () => 0.5, 0.6));
  t.false(shouldProbe(wrong, () => 0, 0));
  t.true(Math.abs(DEFAULT_PROBE_PROBABILITY - 0.198) < 0.0001);
  t.throws(() => shouldProbe(wrong, () => 0.1, 1.5), { instanceOf: RangeError, message: /probability/ });
});

test('u < 20/101 is the same event as randint(0, 100) < 20 on the same draws', (t) => {
  const a = mulberry32(9);
  const b = mulberry32(9);
  const wrong = { isProbe: false, validation: false, answer: 'x', golds: ['y'] };
  for (let i = 0; i < 20000; i++) {
    if (shouldProbe(wrong, a, DEFAULT_PROBE_PROBABILITY) !== randomInt(b, 0, 100) < 20) t.fail(`draw ${i} differs`);
  }
  t.pass();
});

test('the hook fires with probability 20/101 on wrong original answers and draws uniform prompts', (t) => {
  const trigger = createProbeTrigger({ trie, seed: 1 });
  const n = 20000;
  let fired = 0;
  const counts = [0, 0, 0, 0];
  for (let rowId = 0; rowId < n; rowId++) {
    const decision = trigger(context(rowId));
    if (decision === null) continue;
    fired++;
    counts[decision.promptIndex]!++;
    if (decision.promptTokens.join() !== trie.promptTokens(decision.promptIndex).join()) t.fail('tokens of another prompt');
  }
  const rate = fired / n;
  // sd of the rate ≈ 0.0028; allow 4 sd.
  t.true(Math.abs(rate - 20 / 101) < 0.0113, `rate ${rate}`);
  // Each prompt ≈ fired/4 (sd ≈ 27 for ~4000 probes); allow 5 sd.
  for (const count of counts) t.true(Math.abs(count - fired / 4) < 140, `prompt counts ${counts}`);
});

test('the hook never fires for correct answers, probes or validation; p = 1 always fires on wrong answers', (t) => {
  const always = createProbeTrigger({ trie, seed: 2, rex: { probeProbability: 1 } });
  const validation = createProbeTrigger({ trie, seed: 2, rex: { probeProbability: 1 }, validation: true });
  for (let rowId = 0; rowId < 500; rowId++) {
    if (always(context(rowId, 'paris')) !== null) t.fail('fired on a correct answer');
    if (always(context(rowId, 'Lyon', { isProbe: true })) !== null) t.fail('fired for a probe');
    if (validation(context(rowId)) !== null) t.fail('fired in validation');
    if (always(context(rowId)) === null) t.fail('p = 1 did not fire');
  }
  const none = createProbeTrigger({ trie, seed: 2, rex: { probeProbability: 0 } });
  t.is(none(context(0)), null);
  t.pass();
});

test('deterministic per (seed, question, row, turn), whatever the call order', (t) => {
  const contexts = Array.from({ length: 300 }, (_, i) => context(i % 100, 'Lyon', { turn: Math.floor(i / 100), questionId: `q${i % 7}` }));
  const forward = createProbeTrigger({ trie, seed: 7 });
  const backward = createProbeTrigger({ trie, seed: 7 });
  const a = contexts.map((c) => forward(c));
  const b = [...contexts].reverse().map((c) => backward(c)).reverse();
  t.deepEqual(a, b);
  t.true(a.some((d) => d !== null));
  const other = createProbeTrigger({ trie, seed: 8 });
  t.notDeepEqual(contexts.map((c) => other(c)), a);
  // Numeric and string question ids are different keys.
  const numeric = createProbeTrigger({ trie, seed: 7, rex: { probeProbability: 0.5 } });
  const decisions = Array.from({ length: 200 }, (_, i) => [numeric(context(i, 'x', { questionId: 1 })), numeric(context(i, 'x', { questionId: '1' }))]);
  t.true(decisions.some(([x, y]) => (x === null) !== (y === null)));
});

test('bad options and contexts are refused', (t) => {
  t.throws(() => createProbeTrigger({ trie: null as never }), { instanceOf: TypeError, message: /options.trie/ });
  t.throws(() => createProbeTrigger({ trie, rex: { probeProbability: 2 } }), { message: /options.rex[\s\S]*probeProbability/ });
  t.throws(() => createProbeTrigger({ trie, seed: 0.5 }), { instanceOf: TypeError, message: /options.seed/ });
  const trigger = createProbeTrigger({ trie });
  t.throws(() => trigger({ ...context(0), golds: 'Paris' as never }), { instanceOf: TypeError, message: /context.golds/ });
  t.throws(() => trigger({ ...context(0), answer: 3 as never }), { instanceOf: TypeError, message: /answer/ });
});
