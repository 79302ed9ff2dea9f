// The lab tokenizer: a real tokenizer.json loaded by HfTokenizer, names as word-initial + continuation syllable
// tokens, words and tags as single tokens, exact round trips.
import test from 'ava';

import { LAB_SYLLABLES } from '../../lib/data/lab-names.js';
import { LAB_WORDS } from '../../lib/data/lab-templates.js';
import { generateLabWorld, labCorpus, labQuestions } from '../../lib/data/lab-world.js';
import { HfTokenizer } from '../../lib/tokenizer/hf-tokenizer.js';
import { buildLabTokenizer, LAB_TAG_TOKENS } from '../../lib/tokenizer/lab-tokenizer.js';

const files = buildLabTokenizer({ syllables: LAB_SYLLABLES, words: LAB_WORDS });
const tokenizer = new HfTokenizer({ tokenizerJson: files.tokenizerJson, tokenizerConfig: files.tokenizerConfig }, 'lab');

test('every name of a world (and unseen ones) is a word-initial syllable then continuation syllables', (t) => {
  const world = generateLabWorld({ seed: 1 });
  for (const name of [...world.entities.map((e) => e.name), 'kakaka', 'nunonunu']) {
    const ids = tokenizer.encode(` ${name}`);
    const tokens = ids.map((id) => tokenizer.idToToken(id));
    t.deepEqual(tokens, [`Ġ${name.slice(0, 2)}`, ...name.slice(2).match(/../g)!], name);
    t.is(tokenizer.decode(ids), ` ${name}`);
  }
});

test('words and tags are one token each; pages, questions and trajectories round-trip exactly', (t) => {
  t.true(files.vocabSize < 500);
  // Template words appear after a space; the observation frame's words ("Doc", "(Title", ":", ")") right after other text.
  for (const word of LAB_WORDS) t.is(tokenizer.encode(/^[a-z.?]+$/.test(word) ? ` ${word}` : word).length, 1, word);
  for (const tag of LAB_TAG_TOKENS) t.is(tokenizer.encode(tag).length, 1, tag);
  const world = generateLabWorld({ seed: 2 });
  const texts = [...labCorpus(world).map((p) => p.contents), ...labQuestions(world).test.map((q) => `${q.question}\n<search> x </search><answer> ${q.golds[0]} </answer>`)];
  for (const text of texts) t.is(tokenizer.decode(tokenizer.encode(text)), text);
  t.is(tokenizer.tokenBytes().length, tokenizer.vocabSize);
  t.is(tokenizer.applyChatTemplate([{ role: 'user', content: 'who founded kavo ?' }], { addGenerationPrompt: true }), 'who founded kavo ?\n');
});

test('a word made of name syllables only is refused (it would merge syllables inside names)', (t) => {
  t.throws(() => buildLabTokenizer({ syllables: ['ka', 'lo'], words: ['kalo'] }), { message: /name syllables only/ });
  t.throws(() => buildLabTokenizer({ syllables: ['kla'], words: [] }), { message: /one consonant and one vowel/ });
  t.throws(() => buildLabTokenizer({ syllables: ['ka'], words: ['two words'] }), { message: /printable ASCII/ });
});
