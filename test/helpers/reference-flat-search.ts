// The obvious exact search, one scalar inner product at a time: the reference for the native flat search.
import { TopK, type ScoredIndex } from '../../lib/retrieval/top-k.js';

export function referenceFlatSearch(vectors: Float32Array, dim: number, queries: readonly Float32Array[], k: number): ScoredIndex[][] {
  const size = vectors.length / dim;
  return queries.map((query) => {
    const top = new TopK(Math.min(k, size));
    for (let row = 0; row < size; row++) {
      let dot = 0;
      for (let j = 0; j < dim; j++) dot += query[j]! * vectors[row * dim + j]!;
      top.push(row, dot);
    }
    return top.sorted();
  });
}
