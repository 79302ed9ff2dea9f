// The synthetic world: the same seed gives the same world, corpus and files (byte for byte), another seed a
// different one; the world's invariants hold (capitals inside their country, symmetric marriages, every river
// and language used, unique invented names); the corpus rows are valid Search-R1 rows; bad options are named.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { generateWorld, readWorld, worldCorpus, writeWorldFiles } from '../../lib/data/synthetic-world.js';
import { readCorpusBatches, toCorpusDocument } from '../../lib/retrieval/corpus.js';

let root: string;
test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'rexrag-world-'));
});
test.after.always(async () => {
  await rm(root, { recursive: true, force: true });
});

const FILES = ['corpus.jsonl', 'train.jsonl', 'dev.jsonl', 'world.json'];

test('same seed: identical world and byte-identical files; another seed: a different world', async (t) => {
  t.deepEqual(generateWorld({ seed: 5 }), generateWorld({ seed: 5 }));
  const [a, b, c] = [join(root, 'a'), join(root, 'b'), join(root, 'c')];
  await writeWorldFiles(a, generateWorld({ seed: 5 }));
  await writeWorldFiles(b, generateWorld({ seed: 5 }));
  await writeWorldFiles(c, generateWorld({ seed: 6 }));
  for (const file of FILES) {
    const [bytesA, bytesB, bytesC] = await Promise.all([a, b, c].map((dir) => readFile(join(dir, file))));
    t.true(bytesA!.equals(bytesB!), `${file} is reproducible`);
    t.false(bytesA!.equals(bytesC!), `${file} depends on the seed`);
  }
  const names = (seed: number) => generateWorld({ seed }).people.map((p) => p.name);
  const shared = names(5).filter((name) => names(6).includes(name));
  t.true(shared.length < 3, `seeds 5 and 6 share ${shared.length} people`);
  t.deepEqual(await readWorld(join(a, 'world.json')), generateWorld({ seed: 5 }), 'world.json round-trips');
});

test('default sizes and the world\'s invariants', (t) => {
  const world = generateWorld({ seed: 11 });
  t.is(world.people.length, 60);
  t.is(world.cities.length, 25);
  t.is(world.countries.length, 10);
  t.is(world.works.length, 60);
  const cityById = new Map(world.cities.map((city) => [city.id, city]));
  const personById = new Map(world.people.map((person) => [person.id, person]));
  for (const country of world.countries) {
    t.is(cityById.get(country.capital)!.country, country.id, `${country.name}'s capital lies in it`);
  }
  for (const person of world.people) {
    t.true(cityById.has(person.birthCity));
    if (person.spouse !== null) {
      t.not(person.spouse, person.id);
      t.is(personById.get(person.spouse)!.spouse, person.id, 'marriages are symmetric');
    }
    t.is(world.works.find((work) => work.id === person.work)!.creator, person.id);
  }
  t.is(world.people.filter((person) => person.spouse !== null).length, 30, 'half the people are married');
  for (const river of world.rivers) t.true(world.cities.some((city) => city.river === river.id), `${river.name} flows somewhere`);
  for (const language of world.languages) t.true(world.countries.some((c) => c.language === language.id), `${language.name} is spoken`);

  const words = [
    ...world.people.flatMap((p) => [p.given, p.surname]), ...world.cities.map((c) => c.name),
    ...world.countries.map((c) => c.name), ...world.rivers.map((r) => r.shortName), ...world.languages.map((l) => l.name),
  ];
  t.is(new Set(words.map((w) => w.toLowerCase())).size, words.length, 'every invented word is used once');
  for (const word of words) t.regex(word, /^[A-Z][a-z]{4,}$/, `${word} is one capitalised word of five letters or more`);
  t.is(new Set(world.works.map((w) => w.title)).size, world.works.length, 'work titles are unique');
});

test('sizes are options; bad options are named', (t) => {
  const world = generateWorld({ seed: 1, people: 8, cities: 4, countries: 2, rivers: 2, languages: 1, marriedFraction: 1 });
  t.is(world.people.length, 8);
  t.is(world.cities.length, 4);
  t.true(world.people.every((p) => p.spouse !== null));
  t.is(worldCorpus(world).length, 8 + 4 + 2 + 2 + 1 + 8);
  t.throws(() => generateWorld({ seed: -1 }), { instanceOf: RangeError, message: /options\.seed/ });
  t.throws(() => generateWorld({ seed: 1.5 }), { instanceOf: TypeError, message: /options\.seed must be an integer/ });
  t.throws(() => generateWorld({ seed: 1, countries: 5, cities: 3, rivers: 2, languages: 2 }), { instanceOf: RangeError, message: /options\.cities/ });
  t.throws(() => generateWorld({ seed: 1, languages: 4, countries: 3 }), { instanceOf: RangeError, message: /options\.languages/ });
  t.throws(() => generateWorld({ seed: 1, marriedFraction: 2 }), { instanceOf: RangeError, message: /options\.marriedFraction/ });
  t.throws(() => generateWorld(null as never), { instanceOf: TypeError, message: /options must be an object/ });
});

test('the corpus: one valid Search-R1 row per entity, titled with its name, a few hundred words at most', async (t) => {
  const world = generateWorld({ seed: 3 });
  const rows = worldCorpus(world);
  const entities = world.people.length + world.cities.length + world.countries.length + world.rivers.length + world.languages.length + world.works.length;
  t.is(rows.length, entities);
  t.is(new Set(rows.map((row) => row.id)).size, rows.length, 'ids are unique');
  for (const row of rows) {
    t.deepEqual(toCorpusDocument(JSON.parse(JSON.stringify(row))), row);
    t.regex(row.contents, /^"[^"\n]+"\n[^\n]+$/, 'contents is "Title"\\ntext');
    t.true(row.contents.split(/\s+/).length <= 40, `page ${row.id} is short`);
  }
  const tavo = world.people[0]!;
  const page = rows.find((row) => row.id === tavo.id)!;
  t.true(page.contents.startsWith(`"${tavo.name}"\n`));
  t.true(page.contents.includes(world.cities.find((c) => c.id === tavo.birthCity)!.name));

  const files = await writeWorldFiles(join(root, 'corpus'), world);
  const read = [];
  for await (const batch of readCorpusBatches(files.corpus)) read.push(...batch.documents);
  t.deepEqual(read, rows, 'corpus.jsonl reads back through lib/retrieval');
  t.is(files.documents, rows.length);
});
