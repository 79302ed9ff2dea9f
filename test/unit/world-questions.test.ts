// World questions: unique ids, disjoint train/dev splits stratified by type, files that readQuestionsJsonl reads,
// and every gold reachable from the corpus by the stated hops: each hop's fact is on the pages that state it,
// and a two-hop question's two facts never share a page nor does its first page name the answer.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { readQuestionsJsonl } from '../../lib/data/questions.js';
import {
  generateWorld, QUESTION_TYPES, worldCorpus, WorldLookup, worldQuestions, writeWorldFiles, type Target, type WorldQuestion,
} from '../../lib/data/synthetic-world.js';
import { normalizeAnswer } from '../../lib/reward/qa-em.js';

let root: string;
test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'rexrag-world-q-'));
});
test.after.always(async () => {
  await rm(root, { recursive: true, force: true });
});

const world = generateWorld({ seed: 21 });
const splits = worldQuestions(world, { seed: 4 });
const all: WorldQuestion[] = [...splits.train, ...splits.dev];

function mentions(page: string, name: string): boolean {
  return ` ${normalizeAnswer(page)} `.includes(` ${normalizeAnswer(name)} `);
}

test('ids are unique, train and dev are disjoint, both hold one- and two-hop questions of every type', (t) => {
  t.is(new Set(all.map((q) => q.id)).size, all.length);
  const trainIds = new Set(splits.train.map((q) => q.id));
  t.false(splits.dev.some((q) => trainIds.has(q.id)));
  const trainTexts = new Set(splits.train.map((q) => q.question));
  t.false(splits.dev.some((q) => trainTexts.has(q.question)), 'no question text is in both splits');
  t.true(all.length > 300, `${all.length} questions`);
  for (const type of QUESTION_TYPES) {
    const n = all.filter((q) => q.type === type).length;
    const dev = splits.dev.filter((q) => q.type === type).length;
    t.true(n > 0, `type ${type} is asked`);
    t.is(dev, Math.round(n * 0.2), `dev holds a fifth of ${type}`);
  }
  for (const split of [splits.train, splits.dev]) {
    t.true(split.some((q) => q.hops === 1) && split.some((q) => q.hops === 2));
  }
  t.true(all.every((q) => q.hops === q.chain.length && q.evidence.length === q.hops && q.type === q.chain.join('>')));
  t.deepEqual(worldQuestions(world, { seed: 4 }), splits, 'deterministic');
  t.notDeepEqual(worldQuestions(world, { seed: 5 }).dev.map((q) => q.id), splits.dev.map((q) => q.id), 'the seed picks the split');
});

test('every gold follows from the corpus by the stated hops, on the pages stated', (t) => {
  const lookup = new WorldLookup(world);
  const pages = new Map(worldCorpus(world).map((row) => [row.id, row.contents]));
  let twoHop = 0;
  for (const q of all) {
    let at: Target = q.subject;
    const stating: string[][] = [];
    t.true(q.question.includes(lookup.name(q.subject)), `${q.id} names its subject`);
    for (const relation of q.chain) {
      const next: Target = lookup.follow(relation, at as never)!;
      const onPages = lookup.pagesStating(relation, at as never, next);
      for (const id of onPages) {
        const text = pages.get(id)!;
        t.true(mentions(text, lookup.name(at)) && mentions(text, lookup.name(next)), `${q.id}: page ${id} names both sides of ${relation}`);
      }
      stating.push(onPages);
      at = next;
    }
    t.deepEqual(q.golds, lookup.aliases(at), `${q.id}: golds are the chain's end`);
    t.deepEqual(q.evidence, stating.map((list) => list[0]));
    if (q.hops === 2) {
      twoHop++;
      t.not(q.evidence[0], q.evidence[1]);
      t.false(stating[0]!.some((id) => stating[1]!.includes(id)), `${q.id}: no page states both facts`);
      t.false(stating[0]!.some((id) => q.golds.some((gold) => mentions(pages.get(id)!, gold))), `${q.id}: the first page does not name the answer`);
    }
  }
  t.true(twoHop > 150, `${twoHop} two-hop questions`);
  const river = all.find((q) => q.type === 'river')!;
  t.is(river.golds.length, 2, 'a river is also accepted without "River"');
  t.is(river.golds[1], river.golds[0]!.replace(/ River$/, ''));
});

test('train.jsonl and dev.jsonl read back through readQuestionsJsonl', async (t) => {
  const files = await writeWorldFiles(join(root, 'w'), world, { seed: 4 });
  const train = await readQuestionsJsonl(files.train);
  const dev = await readQuestionsJsonl(files.dev);
  t.deepEqual(train, splits.train.map(({ id, question, golds }) => ({ id, question, golds, dataSource: 'rexrag-world' })));
  t.deepEqual(dev, splits.dev.map(({ id, question, golds }) => ({ id, question, golds, dataSource: 'rexrag-world' })));
  t.is(files.trainQuestions, splits.train.length);
  t.is(files.devQuestions, splits.dev.length);
});

test('options: split shares, types, and named errors', (t) => {
  const only = worldQuestions(world, { types: ['capital'], splits: { train: 1, dev: 0 } });
  t.is(only.train.length, world.countries.length);
  t.is(only.dev.length, 0);
  const half = worldQuestions(world, { types: ['birthplace'], splits: { train: 1, dev: 1 } });
  t.is(half.dev.length, 30);
  t.throws(() => worldQuestions(world, { types: ['nope' as never] }), { instanceOf: RangeError, message: /options\.types\[0\]/ });
  t.throws(() => worldQuestions(world, { splits: { train: 0, dev: 0 } }), { instanceOf: RangeError, message: /must be > 0/ });
  t.throws(() => worldQuestions(world, { splits: { train: -1, dev: 1 } }), { instanceOf: RangeError, message: /options\.splits\.train/ });
});
