// The prompt trie over a character-level tokenizer: hand-computed conditionals, conditionals summing to 1 over
// children, sequence probabilities equal to multiplicity / pool size, the KeyError guard, duplicates, draws.
import test from 'ava';

import { mulberry32 } from '../../lib/util/random.js';
import { RexragError } from '../../lib/errors.js';
import { EXPLORATION_PROMPTS } from '../../lib/explore/prompt-pool.js';
import { PromptTrie } from '../../lib/explore/prompt-trie.js';
import type { TextTokenizer } from '../../lib/tokenizer/types.js';
import { CharTokenizer } from '../helpers/char-tokenizer.js';

const chars = new CharTokenizer();
const ids = (text: string) => chars.encode(text);
const close = (a: number, b: number, tolerance = 1e-12) => Math.abs(a - b) <= tolerance;

// After "x": a 3/4, b 1/4. After "xa": b, c, d 1/3 each. After "xb": d 1.
const POOL4 = ['xab', 'xac', 'xad', 'xbd'];

test('hand-computed conditionals of a 4-prompt pool; the first token gets 1', (t) => {
  const trie = PromptTrie.fromPrompts(chars, POOL4);
  t.is(trie.size, 4);
  t.true(trie.sharedFirstToken);
  t.deepEqual(trie.prefixPrompts, []);
  t.deepEqual(trie.conditionals(ids('xab')), [1, 3 / 4, 1 / 3]);
  t.deepEqual(trie.conditionals(ids('xad')), [1, 3 / 4, 1 / 3]);
  t.deepEqual(trie.conditionals(ids('xbd')), [1, 1 / 4, 1]);
  // A prefix of a prompt is fine (e.g. a partially spliced prompt).
  t.deepEqual(trie.conditionals(ids('xa')), [1, 3 / 4]);
  for (const prompt of POOL4) t.true(close(trie.sequenceProbability(ids(prompt)), 1 / 4), prompt);
  t.is(trie.multiplicity(ids('xab')), 1);
  t.is(trie.multiplicity(ids('xa')), 0);
});

test('conditionals sum to 1 over the children of every prefix (default pool, char tokens)', (t) => {
  const trie = PromptTrie.fromPrompts(chars);
  t.is(trie.size, 30);
  t.true(trie.sharedFirstToken);
  t.deepEqual(trie.prefixPrompts, []);
  let prefixes = 0;
  for (let i = 0; i < trie.size; i++) {
    const tokens = trie.promptTokens(i);
    t.deepEqual(tokens, ids(EXPLORATION_PROMPTS[i]!), 'each prompt tokenized on its own');
    for (let k = 0; k < tokens.length; k++) {
      const continuations = trie.continuations(tokens.slice(0, k));
      const sum = continuations.reduce((s, c) => s + c.probability, 0);
      if (!close(sum, 1)) t.fail(`prefix of prompt ${i} of length ${k}: sum ${sum}`);
      const mine = continuations.find((c) => c.token === tokens[k])!;
      if (k > 0 && mine.probability !== trie.conditionals(tokens)[k]) t.fail(`prompt ${i} token ${k}`);
      prefixes++;
    }
    const mus = trie.conditionals(tokens);
    t.is(mus[0], 1);
    t.true(close(trie.sequenceProbability(tokens), 1 / 30), `prompt ${i}`);
  }
  t.true(prefixes > 1000);
  t.deepEqual(trie.continuations(ids('<')), [{ token: ids('t')[0]!, count: 30, probability: 1 }]);
  t.deepEqual(trie.continuations(ids('zzz')), []);
});

test('tokens that leave the trie: a RexragError naming the position (the reference KeyError), or null', (t) => {
  const trie = PromptTrie.fromPrompts(chars, POOL4);
  const check = (text: string, pattern: RegExp) => {
    const error = t.throws(() => trie.conditionals(ids(text)), { instanceOf: RexragError, message: pattern });
    t.is((error as RexragError).code, 'ERR_INVALID_ARG');
    t.is(trie.tryConditionals(ids(text)), null);
  };
  check('y', /prompt token 0 \(id 121\) is not the first token of any pool prompt/);
  check('xe', /prompt token 1 \(id 101\) leaves the prompt trie/);
  check('xbc', /prompt token 2 \(id 99\) leaves/);
  check('xabz', /prompt token 3 .*a pool prompt ends there/);
  t.deepEqual(trie.tryConditionals(ids('xbd')), [1, 1 / 4, 1]);
  t.throws(() => trie.conditionals([]), { instanceOf: RangeError, message: /at least one/ });
  t.throws(() => trie.conditionals([1.5]), { instanceOf: TypeError, message: /tokens\[0\]/ });
  t.throws(() => trie.tryConditionals('x' as never), { instanceOf: TypeError });
});

test('prompts that tokenize the same count with multiplicity', (t) => {
  // A tokenizer that folds case: "XAB" and "xab" are distinct strings with the same tokens.
  const folding: Pick<TextTokenizer, 'encode'> = { encode: (text) => chars.encode(text.toLowerCase()) };
  const trie = PromptTrie.fromPrompts(folding, ['xab', 'XAB', 'xac']);
  t.is(trie.size, 3);
  t.is(trie.multiplicity(ids('xab')), 2);
  t.deepEqual(trie.conditionals(ids('xab')), [1, 1, 2 / 3]);
  t.true(close(trie.sequenceProbability(ids('xab')), 2 / 3));
  t.true(close(trie.sequenceProbability(ids('xac')), 1 / 3));
  t.deepEqual(
    trie.continuations(ids('xa')).map((c) => [c.token, c.count]),
    [[ids('b')[0], 2], [ids('c')[0], 1]],
  );
});

test('a prompt that is a proper prefix of another is flagged; conditionals count only continuing prompts', (t) => {
  const trie = PromptTrie.fromTokenSequences([ids('xa'), ids('xab'), ids('xc')]);
  t.deepEqual(trie.prefixPrompts, [0]);
  // After "x": a 2/3, c 1/3. After "xa": only "xab" continues, so b gets 1 (as the reference's PrefixIndex).
  t.deepEqual(trie.conditionals(ids('xab')), [1, 2 / 3, 1]);
  t.true(close(trie.sequenceProbability(ids('xa')), 2 / 3), 'not its pool frequency 1/3');
  t.true(close(trie.sequenceProbability(ids('xc')), 1 / 3));
});

test('several first tokens: μ_1 is the share of prompts starting with that token, and the product is the pool frequency', (t) => {
  const trie = PromptTrie.fromPrompts(chars, ['ab', 'ac', 'db']);
  t.false(trie.sharedFirstToken);
  // The reference assumes μ_1 = 1; with a pool whose prompts start differently that overstates the density.
  t.deepEqual(trie.conditionals(ids('db')), [1 / 3, 1]);
  t.deepEqual(trie.conditionals(ids('ab')), [2 / 3, 1 / 2]);
  t.true(close(trie.sequenceProbability(ids('ab')), 1 / 3), 'its pool frequency');
  t.true(close(trie.sequenceProbability(ids('db')), 1 / 3), 'its pool frequency');
  t.deepEqual(trie.continuations([]).map((c) => c.probability), [2 / 3, 1 / 3]);
});

test('sample: index ⌊u·size⌋, text and a fresh copy of the tokens; uniform over many draws', (t) => {
  const trie = PromptTrie.fromPrompts(chars, POOL4);
  const draws = [0, 0.2499, 0.25, 0.74, 0.9999999];
  const fixed = () => draws.shift()!;
  t.deepEqual([0, 1, 2, 3, 4].map(() => trie.sample(fixed).index), [0, 0, 1, 2, 3]);
  const sampled = trie.sample(() => 0.5);
  t.deepEqual(sampled, { index: 2, text: 'xad', tokens: ids('xad') });
  sampled.tokens.push(0);
  t.deepEqual(trie.promptTokens(2), ids('xad'), 'callers cannot change the trie');
  t.throws(() => trie.sample(() => 1), { instanceOf: RangeError, message: /\[0, 1\)/ });
  t.throws(() => trie.promptTokens(4), { instanceOf: RangeError });

  const random = mulberry32(11);
  const counts = [0, 0, 0, 0];
  const n = 40000;
  for (let i = 0; i < n; i++) counts[trie.sample(random).index]!++;
  // Each count ~ Binomial(n, 1/4): sd ≈ 87; allow 5 sd.
  for (const count of counts) t.true(Math.abs(count - n / 4) < 450, `counts ${counts}`);
  t.is(PromptTrie.fromTokenSequences([[1, 2]]).sample(() => 0.3).text, null);
});

test('bad pools and token sequences are refused', (t) => {
  t.throws(() => PromptTrie.fromPrompts(chars, []), { instanceOf: RangeError });
  t.throws(() => PromptTrie.fromPrompts(chars, ['a', 'a']), { instanceOf: RangeError, message: /distinct/ });
  t.throws(() => PromptTrie.fromPrompts({ encode: () => [] }, ['a']), { instanceOf: RangeError, message: /encodes to no tokens/ });
  t.throws(() => PromptTrie.fromPrompts({ encode: () => [-1] }, ['a']), { instanceOf: RangeError, message: /encode\(prompts\[0\]\)\[0\]/ });
  t.throws(() => PromptTrie.fromPrompts(null as never), { instanceOf: TypeError, message: /tokenizer/ });
  t.throws(() => PromptTrie.fromTokenSequences([]), { instanceOf: RangeError });
  t.throws(() => PromptTrie.fromTokenSequences([[1], []]), { instanceOf: RangeError, message: /sequences\[1\] must not be empty/ });
});
