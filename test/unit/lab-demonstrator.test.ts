// The lab's demonstrator and gold queries: every held-out question is answerable by following its hops with gold
// queries through the real BM25 index; demonstrations use fresh names, real observations, and shortcut at the set rates.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { labDemonstrations } from '../../lib/data/lab-demonstrator.js';
import { labGoldQuery } from '../../lib/data/lab-templates.js';
import { writeLabWorldFiles } from '../../lib/data/lab-world-files.js';
import { generateLabWorld, labEntityMap, labQuestions } from '../../lib/data/lab-world.js';
import { buildIndex } from '../../lib/retrieval/build.js';
import { LocalRetriever } from '../../lib/retrieval/local-retriever.js';
import type { Retriever } from '../../lib/retrieval/types.js';
import { informationObservation } from '../../lib/rollout/observation.js';

const world = generateLabWorld({ seed: 1 });
const questions = labQuestions(world);
let retriever: LocalRetriever;
let dir: string;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rexrag-lab-world-'));
  const files = await writeLabWorldFiles(join(dir, 'world'), world, questions);
  await buildIndex({ corpus: files.corpus, out: join(dir, 'index'), embedder: 'bm25' });
  retriever = await LocalRetriever.open(join(dir, 'index'));
});
test.after.always(async () => {
  await retriever?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('every hop of every test question: the gold query retrieves the gold page at top 1 (at least 99%)', async (t) => {
  const byId = labEntityMap(world);
  const hops = questions.test.flatMap((q) => q.chain.slice(0, -1).map((id) => byId.get(id)!));
  const hits = await retriever.search(hops.map((e) => labGoldQuery(e.kind, e.name)), 1);
  const found = hits.filter((list, i) => list[0]?.document.id === hops[i]!.id).length;
  t.true(found / hops.length >= 0.99, `${found}/${hops.length}`);
  // Following the pages reaches each question's answer.
  for (const q of questions.test) {
    let at = byId.get(q.chain[0]!)!;
    for (let h = 0; h < q.hops; h++) at = byId.get(at.link!)!;
    t.is(at.name, q.golds[0]!);
  }
});

test('demonstrations: fresh mini-worlds at the set share, real observations, shortcuts at the set rates', async (t) => {
  const shortcut = { 'country-of-birth/2': 0.5, 'founder-country/3': 0.9 };
  const demos = await labDemonstrations(world, questions.train, retriever, { seed: 3, count: 4000, freshFraction: 0.7, shortcut });
  const fresh = demos.filter((d) => d.fresh).length / demos.length;
  t.true(Math.abs(fresh - 0.7) < 0.03, `fresh share ${fresh}`);
  const worldNames = new Set(world.entities.map((e) => e.name));
  for (const [template, p] of Object.entries(shortcut)) {
    const mine = demos.filter((d) => d.data_source === template);
    const rate = mine.filter((d) => d.shortcut).length / mine.length;
    t.true(mine.length > 200 && Math.abs(rate - p) < 0.06, `${template}: ${rate} over ${mine.length}`);
    for (const d of mine.filter((x) => x.shortcut)) t.true(d.searches >= 1 && d.searches < d.hops);
  }
  for (const d of demos.filter((x) => x.data_source === 'director-country/3' || x.hops === 1)) t.false(d.shortcut, 'templates without a rate never shortcut');
  for (const d of demos) {
    const answer = d.segments[d.segments.length - 1]!.text;
    t.is(d.segments.filter((s) => s.kind === 'information').length, d.searches);
    t.is(answer.startsWith('<answer> '), true);
    if (!d.shortcut) t.is(answer, `<answer> ${d.golds[0]} </answer>`);
    else t.not(answer, `<answer> ${d.golds[0]} </answer>`);
    if (d.fresh) {
      const names = d.question.split(' ').filter((w) => /^[a-z]{4,}$/.test(w) && !['where', 'which', 'country', 'directed', 'founded', 'director', 'founder'].includes(w));
      t.true(names.every((n) => !worldNames.has(n)), `fresh names are never the world's: ${d.question}`);
    }
  }
});

test('real demonstrations show exactly what the retriever returns for the gold queries', async (t) => {
  const demos = await labDemonstrations(world, questions.train.slice(0, 20), retriever, { seed: 1, count: 20, freshFraction: 0 });
  for (const d of demos) {
    const queries = d.segments.filter((s, i) => i % 2 === 0 && i < d.segments.length - 1).map((s) => /^<search> (.*) <\/search>$/.exec(s.text)![1]!);
    const hits = await retriever.search(queries, 1);
    t.deepEqual(d.segments.filter((s) => s.kind === 'information').map((s) => s.text), hits.map((h) => informationObservation(h)));
  }
  const failing: Retriever = { search: async () => [] };
  await t.throwsAsync(labDemonstrations(world, questions.train, failing, { seed: 1, count: 5, freshFraction: 0 }), { message: /returned 0 result lists/ });
  await t.throwsAsync(labDemonstrations(world, questions.train, retriever, { seed: 1, count: 5, shortcut: { 'nope/2': 0.5 } }), { message: /unknown lab template/ });
});
