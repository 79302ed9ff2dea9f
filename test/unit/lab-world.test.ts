// The lab world: deterministic, entity-disjoint splits, templates with data_source names, confusable distractors.
import test from 'ava';

import { isLabName } from '../../lib/data/lab-names.js';
import { LAB_TEMPLATES } from '../../lib/data/lab-templates.js';
import { generateLabWorld, labCorpus, labEntityMap, labQuestions, LAB_SPLITS } from '../../lib/data/lab-world.js';

test('the same seed gives the same world and questions; another seed another world', (t) => {
  const a = generateLabWorld({ seed: 5 });
  t.deepEqual(generateLabWorld({ seed: 5 }), a);
  t.deepEqual(labQuestions(generateLabWorld({ seed: 5 })), labQuestions(a));
  t.notDeepEqual(generateLabWorld({ seed: 6 }).entities.map((e) => e.name), a.entities.map((e) => e.name));
});

test('names are unique syllable words and distractors extend a real name of their split by one syllable', (t) => {
  const world = generateLabWorld({ seed: 1 });
  const names = world.entities.map((e) => e.name);
  t.is(new Set(names).size, names.length);
  t.true(names.every(isLabName));
  const distractors = world.entities.filter((e) => e.distractor);
  t.true(distractors.length > 0);
  for (const d of distractors) {
    const base = world.entities.find((e) => !e.distractor && e.kind === d.kind && e.split === d.split && d.name.startsWith(e.name) && d.name.length === e.name.length + 2);
    t.truthy(base, `${d.name} extends a real ${d.kind}`);
    t.not(d.link, base!.link ?? null, 'a distractor links elsewhere than its original');
  }
});

test('train, dev and test questions share no entity (subject, bridge or answer)', (t) => {
  const world = generateLabWorld({ seed: 3 });
  const questions = labQuestions(world);
  const byId = labEntityMap(world);
  const entitiesOf = (split: (typeof LAB_SPLITS)[number]) => new Set(questions[split].flatMap((q) => q.chain));
  const names = (ids: Set<string>) => new Set([...ids].map((id) => byId.get(id)!.name));
  for (const [x, y] of [['train', 'dev'], ['train', 'test'], ['dev', 'test']] as const) {
    const a = names(entitiesOf(x));
    const shared = [...names(entitiesOf(y))].filter((n) => a.has(n));
    t.deepEqual(shared, [], `${x} and ${y}`);
  }
  for (const split of LAB_SPLITS) {
    for (const q of questions[split]) t.true(q.chain.every((id) => byId.get(id)!.split === split));
  }
});

test('every template has 1-, 2- or 3-hop questions named template/hops, answered by following the links', (t) => {
  const world = generateLabWorld({ seed: 4 });
  const questions = labQuestions(world).test;
  const byId = labEntityMap(world);
  t.deepEqual([...new Set(questions.map((q) => q.data_source))].sort(), LAB_TEMPLATES.map((x) => x.id).sort());
  t.deepEqual([...new Set(questions.map((q) => q.hops))].sort(), [1, 2, 3]);
  for (const q of questions) {
    t.is(q.data_source.split('/')[1], String(q.hops));
    t.is(q.chain.length, q.hops + 1);
    for (let h = 0; h < q.hops; h++) t.is(byId.get(q.chain[h]!)!.link, q.chain[h + 1]!);
    t.deepEqual(q.golds, [byId.get(q.chain[q.hops]!)!.name]);
    t.true(q.question.includes(` ${byId.get(q.chain[0]!)!.name} `));
  }
});

test('each entity has one page that names it and what it links to; bad sizes are refused', (t) => {
  const world = generateLabWorld({ seed: 2 });
  const corpus = labCorpus(world);
  const byId = labEntityMap(world);
  t.is(corpus.length, world.entities.length);
  for (const page of corpus) {
    const e = byId.get(page.id)!;
    const [title, text] = page.contents.split('\n');
    t.is(title, e.name);
    t.true(text!.startsWith(`${e.name} `));
    if (e.link) t.true(text!.includes(` ${byId.get(e.link)!.name} `));
  }
  t.throws(() => generateLabWorld({ seed: 1, sizes: { countries: 4, cities: 3 } }), { message: /cities \(3\) must be at least/ });
  t.throws(() => generateLabWorld({ seed: -1 }), { message: /seed/ });
});
