// What the index layer needs from a search backend (dense ANN/exact or BM25): rows and scores for texts.
// Turning rows into documents is the document store's job.
import type { ScoredIndex } from './top-k.js';

export type { ScoredIndex } from './top-k.js';

/** A search backend over rows 0..size-1 of an index. */
export interface Searcher {
  /** Number of rows searched. */
  readonly size: number;
  /** For /health and summaries, e.g. `{ kind: 'dense', search: 'hnsw', dim: 512 }`. */
  describe(): Record<string, unknown>;
  /** The best `k` rows for each query, best first; fewer when the index has fewer than `k` rows. */
  searchTexts(queries: readonly string[], k: number): Promise<ScoredIndex[][]>;
}
