// The in-process Retriever: searches a loaded index and reads each hit's row from its document store.
// Loading is load.ts; serving it over HTTP is server.ts.
import { expectArray, expectInteger, expectString } from '../validate.js';
import { embedderLabel } from './embedder.js';
import { loadIndex, type LoadedIndex, type LoadIndexOptions } from './load.js';
import type { Retriever, SearchHit } from './types.js';

/** A Retriever over an index folder on this machine. */
export class LocalRetriever implements Retriever {
  constructor(readonly index: LoadedIndex) {}

  /** Loads the index in `folder` (see loadIndex) and wraps it. */
  static async open(folder: string, options: LoadIndexOptions = {}): Promise<LocalRetriever> {
    return new LocalRetriever(await loadIndex(folder, options));
  }

  /**
   * The best `topk` documents for each query, in query order, each with its score (inner product for dense
   * indexes, BM25 for lexical ones). A list is shorter than `topk` only when the index holds fewer matching
   * rows (BM25 returns only rows sharing a term with the query).
   */
  async search(queries: string[], topk: number): Promise<SearchHit[][]> {
    expectArray(queries, 'queries');
    queries.forEach((query, i) => expectString(query, `queries[${i}]`));
    expectInteger(topk, 'topk', { min: 1 });
    const ranked = await this.index.searcher.searchTexts(queries, topk);
    return Promise.all(ranked.map(async (hits) => {
      const documents = await this.index.store.getMany(hits.map((hit) => hit.index));
      return hits.map((hit, i) => ({ document: documents[i]!, score: hit.score }));
    }));
  }

  /** Counts and settings, for health checks and logs. */
  stats(): Record<string, unknown> {
    const { manifest } = this.index;
    return {
      documents: manifest.documents,
      kind: manifest.kind,
      embedder: embedderLabel(manifest.embedder),
      ...this.index.searcher.describe(),
      corpus: manifest.corpus.path,
    };
  }

  async close(): Promise<void> {
    await this.index.close();
  }
}
