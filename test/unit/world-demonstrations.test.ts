// Demonstrations over a real index of the world's corpus (hashed embedder, LocalRetriever): their searches find
// the needed pages, their observations are exactly what the retriever returns, their answers are the golds, the
// imperfect styles are deterministic by seed, and the token/mask conversion (with the tokenizer trained on the
// world's text) masks exactly the prompt and the information and keeps sequences short.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import {
  buildDemonstrations, demonstrationSequence, demonstrationText, type Demonstration,
} from '../../lib/data/demonstrations.js';
import {
  generateWorld, WORLD_TOKENIZER_MERGES, worldQuestions, worldTokenizerText, writeWorldFiles, type WorldQuestion,
} from '../../lib/data/synthetic-world.js';
import { writeTinyModel } from '../../lib/model/tiny-model.js';
import { buildIndex } from '../../lib/retrieval/build.js';
import { LocalRetriever } from '../../lib/retrieval/local-retriever.js';
import { findFirstActionBlock } from '../../lib/rollout/actions.js';
import { COMPONENT } from '../../lib/algo/components.js';
import { informationObservation } from '../../lib/rollout/observation.js';
import { buildPromptMessages } from '../../lib/rollout/search-r1-prompt.js';
import { loadTokenizer, type HfTokenizer } from '../../lib/tokenizer/hf-tokenizer.js';
import { buildTinyTokenizer } from '../../lib/tokenizer/tiny-tokenizer.js';
import { TINY_CORPUS } from '../../lib/tokenizer/tiny-corpus.js';

const world = generateWorld({ seed: 8 });
const splits = worldQuestions(world);
const questions: WorldQuestion[] = [...splits.train, ...splits.dev];
let root: string;
let retriever: LocalRetriever;
let direct: Demonstration[];
let mixed: Demonstration[];
let tokenizer: HfTokenizer;

test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'rexrag-world-demo-'));
  const files = await writeWorldFiles(join(root, 'world'), world);
  await buildIndex({ corpus: files.corpus, out: join(root, 'index'), embedder: 'hashed' });
  retriever = await LocalRetriever.open(join(root, 'index'));
  direct = await buildDemonstrations(world, questions, retriever, { imperfectRate: 0 });
  mixed = await buildDemonstrations(world, questions, retriever, { seed: 3, imperfectRate: 0.3 });
  const text = worldTokenizerText(world, { questions, demonstrations: mixed });
  await writeTinyModel(join(root, 'model'), { seed: 1, tokenizerText: text, merges: WORLD_TOKENIZER_MERGES });
  tokenizer = await loadTokenizer(join(root, 'model'));
});
test.after.always(async () => {
  await retriever?.close();
  await rm(root, { recursive: true, force: true });
});

test('the searches of direct demonstrations find each hop\'s page in the top 3', (t) => {
  t.is(direct.length, questions.length);
  t.true(direct.every((d) => d.style === 'direct'));
  const firstTries = direct.flatMap((d) => d.hops === 1 ? [d.searches[0]!] : [d.searches.find((s) => s.hop === 0)!, d.searches.find((s) => s.hop === 1)!]);
  const rate = firstTries.filter((s) => s.foundEvidence).length / firstTries.length;
  const grounded = direct.filter((d) => d.grounded).length / direct.length;
  t.log(`first search per hop finds a page stating the fact: ${(100 * rate).toFixed(1)}% of ${firstTries.length}; grounded demonstrations: ${(100 * grounded).toFixed(1)}%`);
  t.true(rate >= 0.9);
  t.true(grounded >= 0.95);
  for (const d of direct) {
    const q = questions.find((question) => question.id === d.questionId)!;
    t.true(d.searches.filter((s) => s.foundEvidence).length >= q.hops || !d.grounded);
    t.true(d.searches.every((s) => s.documentIds.length === 3));
  }
});

test('turns alternate model / information, observations are the retriever\'s, the answer is the gold', async (t) => {
  for (const d of [...direct.slice(0, 40), ...mixed.filter((m) => m.style !== 'direct').slice(0, 40)]) {
    const kinds = d.segments.map((s) => s.kind);
    t.is(kinds[0], 'model');
    t.is(kinds.at(-1), 'model');
    kinds.forEach((kind, i) => t.is(kind, i % 2 === 0 ? 'model' : 'information', `${d.questionId} segment ${i}`));
    t.is(kinds.filter((k) => k === 'information').length, d.searches.length);
    const models = d.segments.filter((s) => s.kind === 'model');
    models.forEach((segment, i) => {
      const block = findFirstActionBlock(segment.text)!;
      t.regex(segment.text, /^<think> .+ <\/think>\n<(search|answer)> .+ <\/(search|answer)>$/s);
      t.is(block.end, segment.text.length, 'the turn ends with its action block');
      if (i < d.searches.length) t.deepEqual([block.action, block.content], ['search', d.searches[i]!.query]);
      else t.deepEqual([block.action, block.content], ['answer', d.golds[0]]);
    });
    const hits = await retriever.search(d.searches.map((s) => s.query), 3);
    d.segments.filter((s) => s.kind === 'information').forEach((segment, i) => {
      t.is(segment.text, informationObservation(hits[i]!), 'the observation is the retriever\'s own text');
      t.deepEqual(hits[i]!.map((hit) => hit.document.id), d.searches[i]!.documentIds);
    });
    t.is(d.answer, d.golds[0]!);
    t.true(demonstrationText(d).endsWith(`<answer> ${d.golds[0]} </answer>`));
  }
});

test('imperfect demonstrations: every style appears, deterministic by seed, still ending in the gold', async (t) => {
  const styles = new Map<string, number>();
  for (const d of mixed) styles.set(d.style, (styles.get(d.style) ?? 0) + 1);
  t.log(Object.fromEntries(styles));
  for (const style of ['direct', 'no-search', 'wrong-guess', 'vague-search']) t.true((styles.get(style) ?? 0) > 0, `${style} occurs`);
  const imperfect = mixed.length - styles.get('direct')!;
  t.true(imperfect > 0.2 * mixed.length && imperfect < 0.4 * mixed.length, `${imperfect} of ${mixed.length} imperfect at rate 0.3`);
  for (const d of mixed) {
    t.true(demonstrationText(d).endsWith(`<answer> ${d.golds[0]} </answer>`));
    if (d.style === 'no-search') {
      t.is(d.hops, 1);
      t.is(d.segments.length, 1);
      t.false(d.grounded);
    }
    if (d.style === 'wrong-guess') {
      const guess = /I guess the answer is (.+?), but I should check\./.exec(d.segments[0]!.text)![1]!;
      t.false(d.golds.includes(guess));
      t.true(d.segments.at(-1)!.text.includes(`not ${guess}.`), 'the guess is corrected at the end');
    }
    if (d.style === 'vague-search') t.true(d.searches.length > d.hops || d.searches[0]!.foundEvidence);
  }
  const subset = questions.slice(0, 60);
  const again = await buildDemonstrations(world, subset, retriever, { seed: 3, imperfectRate: 0.3 });
  t.deepEqual(again, mixed.slice(0, 60), 'same seed, same demonstrations');
  const other = await buildDemonstrations(world, subset, retriever, { seed: 4, imperfectRate: 0.3 });
  t.notDeepEqual(other.map((d) => d.style), again.map((d) => d.style), 'another seed, other styles');
  const onlyGuess = await buildDemonstrations(world, subset, retriever, { imperfectRate: 1, imperfectStyles: ['wrong-guess'] });
  t.true(onlyGuess.every((d) => d.style === 'wrong-guess'));
});

test('token ids and loss mask: prompt and information masked, model text and the final <|im_end|> trained', (t) => {
  const imEnd = tokenizer.encode('<|im_end|>');
  t.is(imEnd.length, 1);
  const lengths: number[] = [];
  for (const d of mixed) {
    const seq = demonstrationSequence(d, tokenizer);
    lengths.push(seq.tokens.length);
    t.is(seq.components.length, seq.tokens.length);
    t.is(seq.lossMask.length, seq.tokens.length);
    const prompt = tokenizer.encode(tokenizer.applyChatTemplate(buildPromptMessages(d.question), { addGenerationPrompt: true }));
    t.deepEqual(seq.tokens.slice(0, seq.promptLength), prompt);
    t.true(seq.components.slice(0, seq.promptLength).every((c) => c === COMPONENT.prompt));
    t.true(seq.components.slice(seq.promptLength).every((c) => c === COMPONENT.model || c === COMPONENT.information));
    seq.lossMask.forEach((m, i) => {
      if (m !== (seq.components[i] === COMPONENT.model ? 1 : 0)) t.fail(`token ${i}: mask ${m} on component ${seq.components[i]}`);
    });
    t.is(seq.tokens.at(-1), imEnd[0]);
    t.is(seq.lossMask.at(-1), 1);
    const pick = (code: number) => seq.tokens.filter((_, i) => seq.components[i] === code);
    t.is(tokenizer.decode(pick(COMPONENT.information)), d.segments.filter((s) => s.kind === 'information').map((s) => s.text).join(''));
    t.is(tokenizer.decode(pick(COMPONENT.model)), `${d.segments.filter((s) => s.kind === 'model').map((s) => s.text).join('')}<|im_end|>`);
    // Segment by segment: each segment's ids are its own encoding.
    let at = seq.promptLength;
    for (const segment of d.segments) {
      const ids = tokenizer.encode(segment.text);
      t.deepEqual(seq.tokens.slice(at, at + ids.length), ids);
      at += ids.length;
    }
    t.is(at, seq.tokens.length - 1);
  }
  const mean = lengths.reduce((a, b) => a + b, 0) / lengths.length;
  const promptLength = demonstrationSequence(mixed[0]!, tokenizer).promptLength;
  t.log(`world tokenizer: ${tokenizer.vocabSize} ids; demonstration tokens mean ${mean.toFixed(1)}, max ${Math.max(...lengths)}; prompt ${promptLength}`);
  t.true(mean < 400, `mean ${mean}`);
  t.true(Math.max(...lengths) < 700);
  t.throws(() => demonstrationSequence(mixed[0]!, tokenizer, { eosText: 'two words' }), { instanceOf: RangeError, message: /options\.eosText/ });
  t.throws(() => demonstrationSequence(mixed[0]!, null as never), { instanceOf: TypeError, message: /tokenizer/ });
});

test('the world tokenizer: trained on the given text, special tokens never merged, the default unchanged', (t) => {
  t.deepEqual(buildTinyTokenizer(), buildTinyTokenizer(400, TINY_CORPUS), 'the default text is TINY_CORPUS');
  const person = world.people[0]!;
  t.is(tokenizer.encode(` ${person.given}`).length, 1, 'a name in the world is one token');
  t.is(tokenizer.encode(' information').length, 1);
  const generic = buildTinyTokenizer();
  const genericIds = Object.keys((generic.tokenizerJson.model as { vocab: Record<string, number> }).vocab);
  t.false(genericIds.includes(`Ġ${person.given}`), 'the default tokenizer does not know the world');
  const withSpecials = buildTinyTokenizer(200, '<|im_start|>user\nhello hello<|im_end|>\n<|im_start|>user\nhello<|im_end|>');
  const vocab = Object.keys((withSpecials.tokenizerJson.model as { vocab: Record<string, number> }).vocab);
  t.false(vocab.some((symbol) => symbol.includes('<|') || symbol.includes('|>') || symbol.includes('im_')), 'special tokens are not learned');
  t.true(vocab.includes('hello'));
  t.throws(() => buildTinyTokenizer(10, ''), { instanceOf: TypeError });
});

test('bad arguments are named', async (t) => {
  await t.throwsAsync(buildDemonstrations(world, questions.slice(0, 2), {} as never), { instanceOf: TypeError, message: /retriever must be a Retriever/ });
  await t.throwsAsync(buildDemonstrations(world, questions.slice(0, 2), retriever, { imperfectRate: 2 }), { instanceOf: RangeError, message: /options\.imperfectRate/ });
  await t.throwsAsync(buildDemonstrations(world, questions.slice(0, 2), retriever, { imperfectStyles: ['lazy' as never] }), { instanceOf: RangeError, message: /options\.imperfectStyles\[0\]/ });
  await t.throwsAsync(writeTinyModel(join(root, 'bad'), { seed: 0, tokenizerText: '' }), { instanceOf: RangeError, message: /options\.tokenizerText/ });
});
