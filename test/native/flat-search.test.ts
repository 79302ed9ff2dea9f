// The exact (flat) dense search in libtorch against the scalar reference: same hits in the same order, scores to
// float rounding, whatever the chunking; bad arguments are refused with errors naming them.
import test from 'ava';

import { native } from '../../lib/native.js';
import { FlatVectorSearch } from '../../lib/retrieval/dense-index.js';
import { mulberry32 } from '../../lib/util/random.js';
import { referenceFlatSearch } from '../helpers/reference-flat-search.js';

function randomRows(count: number, dim: number, seed: number): Float32Array {
  const random = mulberry32(seed);
  return Float32Array.from({ length: count * dim }, () => random() * 2 - 1);
}

test('native flat search finds the reference top k over several chunks', (t) => {
  const dim = 24;
  const vectors = randomRows(5000, dim, 1);
  const queries = Array.from({ length: 7 }, (_, q) => randomRows(1, dim, 100 + q));
  const expected = referenceFlatSearch(vectors, dim, queries, 10);
  for (const chunkRows of [5000, 1024, 333, 7]) {
    const packed = new Float32Array(queries.length * dim);
    queries.forEach((query, q) => packed.set(query, q * dim));
    const { indices, scores } = native().flatSearch(vectors, dim, packed, 10, chunkRows);
    queries.forEach((_, q) => {
      t.deepEqual(Array.from(indices.subarray(q * 10, q * 10 + 10)), expected[q]!.map((hit) => hit.index), `chunk ${chunkRows}, query ${q}`);
      expected[q]!.forEach((hit, j) => t.true(Math.abs(scores[q * 10 + j]! - hit.score) < 1e-4));
    });
  }
});

test('FlatVectorSearch returns the reference hits, k capped at the corpus size', (t) => {
  const dim = 8;
  const vectors = randomRows(50, dim, 2);
  const search = new FlatVectorSearch(vectors, dim);
  const queries = [randomRows(1, dim, 3), randomRows(1, dim, 4)];
  const hits = search.searchVectors(queries, 3);
  t.deepEqual(hits.map((row) => row.map((h) => h.index)), referenceFlatSearch(vectors, dim, queries, 3).map((row) => row.map((h) => h.index)));
  t.is(search.searchVectors(queries, 80)[0]!.length, 50);
  t.deepEqual(search.searchVectors(queries, 0), [[], []]);
  t.throws(() => search.searchVectors([new Float32Array(3)], 2), { message: /queries\[0\]/ });
});

test('flatSearch refuses arguments that do not fit', (t) => {
  const vectors = new Float32Array(12);
  t.throws(() => native().flatSearch(vectors, 5, new Float32Array(5), 1, 10), { message: /vectors.length \(12\) must be a positive multiple of dim \(5\)/ });
  t.throws(() => native().flatSearch(vectors, 4, new Float32Array(3), 1, 10), { message: /queries.length/ });
  t.throws(() => native().flatSearch(vectors, 4, new Float32Array(4), 4, 10), { message: /k \(4\) is larger than the 3 vectors/ });
  t.throws(() => native().flatSearch(vectors, 4, new Float32Array(4), 1, 0), { message: /chunkRows must be an integer >= 1/ });
  t.throws(() => native().flatSearch([1, 2] as unknown as Float32Array, 1, new Float32Array(1), 1, 1), { message: /vectors must be a Float32Array/ });
});
