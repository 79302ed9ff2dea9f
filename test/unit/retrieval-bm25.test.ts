// BM25: ranking sanity on a hand-made corpus, agreement with the formula computed directly, and segment
// merging (several chunks give the same scores as one).
import test from 'ava';

import { Bm25Searcher, buildBm25Segment } from '../../lib/retrieval/bm25.js';
import { wordTokens } from '../../lib/retrieval/tokenize.js';
import { generateCorpus, seededRandom } from '../helpers/retrieval-corpus.js';

const spec = { kind: 'bm25' as const, k1: 0.9, b: 0.4 };

test('ranks documents by the rare query terms they contain', async (t) => {
  const texts = [
    'the cat sat on the mat',
    'the dog chased the cat across the yard',
    'quantum chromodynamics describes the strong interaction',
    'the the the the the the',
    'a dog and a cat and a quantum dog',
  ];
  const searcher = Bm25Searcher.fromSegments(spec, [buildBm25Segment(texts, 0)]);
  const [quantum, dogCat, none] = await searcher.searchTexts(['Quantum chromodynamics', 'dog cat', 'zebra'], 5);
  t.deepEqual(quantum!.map((hit) => hit.index).slice(0, 2), [2, 4]);
  t.is(quantum!.length, 2, 'rows without any query term are not returned');
  t.deepEqual(dogCat!.slice(0, 2).map((hit) => hit.index).sort(), [1, 4]);
  t.deepEqual(none, []);
  t.true(quantum![0]!.score > quantum![1]!.score);
});

/** The BM25 formula written out directly, as the reference. */
function referenceScore(texts: string[], query: string, row: number, k1: number, b: number): number {
  const documents = texts.map(wordTokens);
  const n = documents.length;
  const avgdl = documents.reduce((sum, d) => sum + d.length, 0) / n;
  let score = 0;
  for (const term of wordTokens(query)) {
    const df = documents.filter((d) => d.includes(term)).length;
    if (df === 0) continue;
    const tf = documents[row]!.filter((token) => token === term).length;
    const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
    score += idf * tf / (tf + k1 * (1 - b + b * documents[row]!.length / avgdl));
  }
  return score;
}

test('scores equal the BM25 formula, and several segments equal one', async (t) => {
  const { rows, words } = generateCorpus(120, { seed: 21, vocabularySize: 150, wordsPerPassage: 12 });
  const texts = rows.map((row) => row.contents);
  const whole = Bm25Searcher.fromSegments(spec, [buildBm25Segment(texts, 0)]);
  const split = Bm25Searcher.fromSegments(spec, [buildBm25Segment(texts.slice(0, 50), 0), buildBm25Segment(texts.slice(50, 51), 50), buildBm25Segment(texts.slice(51), 51)]);
  const random = seededRandom(2);
  const queries = Array.from({ length: 15 }, () => Array.from({ length: 3 }, () => words[Math.floor(random() * words.length)]).join(' '));
  const [a, b] = [await whole.searchTexts(queries, 10), await split.searchTexts(queries, 10)];
  t.deepEqual(a, b);
  let largest = 0;
  queries.forEach((query, q) => {
    for (const hit of a[q]!) largest = Math.max(largest, Math.abs(hit.score - referenceScore(texts, query, hit.index, spec.k1, spec.b)));
    // the best reference score over all rows must be the first hit's
    const best = Math.max(...texts.map((_, row) => referenceScore(texts, query, row, spec.k1, spec.b)));
    if (best > 0) t.true(Math.abs(a[q]![0]!.score - best) < 1e-9, `query ${q}`);
  });
  t.true(largest < 1e-9, `largest difference ${largest}`);
});

test('segments must be contiguous', (t) => {
  t.throws(() => Bm25Searcher.fromSegments(spec, [buildBm25Segment(['a'], 0), buildBm25Segment(['b'], 5)]), { message: /not contiguous/ });
});
