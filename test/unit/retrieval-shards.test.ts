// Sharded indexes: passage ranges split evenly, a flat index built with --shards returns exactly what one
// unsharded flat index returns (rows, order and scores, ties included), sharded HNSW graphs are built one per
// range and searched together, and the shard count is part of what a resume must match.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

import test from 'ava';

import { isRexragError } from '../../lib/errors.js';
import { buildIndex } from '../../lib/retrieval/build.js';
import { LocalRetriever } from '../../lib/retrieval/local-retriever.js';
import { mergeTopK, shardRanges } from '../../lib/retrieval/shards.js';
import { generateCorpus, removeTemporaryFolders, temporaryFolder, writeJsonl } from '../helpers/retrieval-corpus.js';

test.after.always(removeTemporaryFolders);

test('shard ranges are contiguous, cover every row once and differ in size by at most one', (t) => {
  t.deepEqual(shardRanges(10, 3), [{ first: 0, count: 3 }, { first: 3, count: 3 }, { first: 6, count: 4 }]);
  t.deepEqual(shardRanges(5, 1), [{ first: 0, count: 5 }]);
  const error = t.throws(() => shardRanges(2, 3));
  t.true(isRexragError(error, 'ERR_INVALID_ARG'));
});

test('merging keeps the best k by score, ties to the lower row', (t) => {
  const merged = mergeTopK([[{ index: 5, score: 0.9 }, { index: 7, score: 0.5 }], [{ index: 1, score: 0.5 }, { index: 2, score: 0.1 }]], 3);
  t.deepEqual(merged, [{ index: 5, score: 0.9 }, { index: 1, score: 0.5 }, { index: 7, score: 0.5 }]);
});

test('a sharded flat index returns the hits one flat index returns (scores to float rounding)', async (t) => {
  const folder = await temporaryFolder();
  const { rows } = generateCorpus(700, { seed: 5 });
  // Duplicated passages in different shards give tied scores: the merge must order them as one index does.
  rows[650] = { ...rows[650]!, contents: rows[10]!.contents };
  rows[400] = { ...rows[400]!, contents: rows[10]!.contents };
  const corpus = await writeJsonl(folder, 'corpus.jsonl', rows);
  const single = await buildIndex({ corpus, out: join(folder, 'one'), ann: 'flat', chunkSize: 100 });
  const sharded = await buildIndex({ corpus, out: join(folder, 'four'), ann: 'flat', shards: 4, chunkSize: 100 });
  t.is(single.shards, 1);
  t.is(sharded.shards, 4);
  t.true(sharded.passagesPerSecond > 0);
  const one = await LocalRetriever.open(join(folder, 'one'));
  const four = await LocalRetriever.open(join(folder, 'four'));
  try {
    t.is(four.stats().shards, 4);
    const queries = [rows[10]!.contents, ...rows.filter((_, i) => i % 37 === 0).map((row) => row.contents.split('\n')[1]!.split(' ').slice(0, 4).join(' ')), 'nothing shared at all'];
    for (const topk of [1, 3, 10]) {
      const expected = await one.search(queries, topk);
      const actual = await four.search(queries, topk);
      // The same hits in the same order; a score may differ in its last bit, because BLAS sums a dot product in
      // an order that depends on the matrix shape (one index's chunks vs a shard's).
      t.deepEqual(actual.map((hits) => hits.map((hit) => hit.document)), expected.map((hits) => hits.map((hit) => hit.document)), `topk ${topk}`);
      const scoreGap = Math.max(...actual.flatMap((hits, q) => hits.map((hit, j) => Math.abs(hit.score - expected[q]![j]!.score))));
      t.true(scoreGap <= 1e-6, `topk ${topk}: largest score difference ${scoreGap}`);
    }
    const [tied] = await four.search([rows[10]!.contents], 3);
    t.deepEqual(tied!.map((hit) => hit.document.id), [rows[10]!.id, rows[400]!.id, rows[650]!.id], 'ties across shards in row order');
  } finally {
    await one.close();
    await four.close();
  }
});

test('sharded HNSW: one graph per passage range, searched together; exact search and resume checks agree', async (t) => {
  const folder = await temporaryFolder();
  const { rows } = generateCorpus(400, { seed: 8 });
  const corpus = await writeJsonl(folder, 'corpus.jsonl', rows);
  const out = join(folder, 'hnsw');
  const graphEvents: number[] = [];
  await buildIndex({ corpus, out, shards: 3, chunkSize: 64, onEvent: (e) => { if (e.type === 'graph') graphEvents.push(e.shard); } });
  const files = (await readdir(out)).filter((name) => name.startsWith('hnsw'));
  t.deepEqual(files.sort(), ['hnsw-shard-000.bin', 'hnsw-shard-001.bin', 'hnsw-shard-002.bin']);
  t.deepEqual([...new Set(graphEvents)], [0, 1, 2], 'the shards are built one after another');

  const graph = await LocalRetriever.open(out);
  const exact = await LocalRetriever.open(out, { search: 'exact' });
  try {
    // A passage's own text finds it first, whichever shard holds it.
    for (const i of [0, 133, 134, 266, 267, 399]) {
      const [hits] = await graph.search([rows[i]!.contents], 3);
      t.is(hits![0]!.document.id, rows[i]!.id, `row ${i}`);
    }
    const queries = rows.filter((_, i) => i % 25 === 0).map((row) => row.contents);
    const [a, b] = [await graph.search(queries, 3), await exact.search(queries, 3)];
    const overlap = a.reduce((sum, hits, q) => sum + hits.filter((hit) => b[q]!.some((e) => e.document.id === hit.document.id)).length, 0);
    t.true(overlap / (queries.length * 3) >= 0.95, `recall@3 of sharded HNSW vs exact: ${overlap / (queries.length * 3)}`);
  } finally {
    await graph.close();
    await exact.close();
  }
  const resumed = await buildIndex({ corpus, out, shards: 3, mode: 'resume' });
  t.true(resumed.alreadyComplete);
  t.is(resumed.shards, 3);
  const bm25 = await t.throwsAsync(buildIndex({ corpus, out: join(folder, 'bm25'), embedder: 'bm25', shards: 2 }));
  t.true(isRexragError(bm25, 'ERR_INVALID_ARG'));
});
