// What rollouts need from retrieval: a batched search, in-process (an index) or over HTTP (a Search-R1 server).

/** One corpus row as Search-R1 stores it: `contents` is "\"Title\"\ntext"; extra fields pass through. */
export interface CorpusDocument {
  id: string;
  contents: string;
  [field: string]: unknown;
}

export interface SearchHit {
  document: CorpusDocument;
  score: number;
}

export interface Retriever {
  /** One list of `topk` hits per query, in query order. Rejects (after any retries) rather than return nothing. */
  search(queries: string[], topk: number): Promise<SearchHit[][]>;
}
