// A Retriever for rollout tests: records every call and answers each query with `topk` made-up documents
// (contents "\"Title k\"\nabout {query}"), or fails when told to.
import type { Retriever, SearchHit } from '../../lib/retrieval/types.js';

export class FakeRetriever implements Retriever {
  readonly calls: { queries: string[]; topk: number }[] = [];

  constructor(private readonly answer: (query: string, topk: number) => SearchHit[] = fakeHits, private readonly failWith?: Error) {}

  async search(queries: string[], topk: number): Promise<SearchHit[][]> {
    this.calls.push({ queries: [...queries], topk });
    await new Promise((resolve) => setTimeout(resolve, 1));
    if (this.failWith) throw this.failWith;
    return queries.map((query) => this.answer(query, topk));
  }
}

/** The default documents for a query. */
export function fakeHits(query: string, topk: number): SearchHit[] {
  return Array.from({ length: topk }, (_, k) => ({
    document: { id: `${query}-${k}`, contents: `"Title ${k + 1}"\nabout ${query}` },
    score: 1 - k / 10,
  }));
}
