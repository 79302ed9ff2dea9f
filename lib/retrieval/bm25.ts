// BM25 as an exact lexical searcher: an inverted index written as one segment file per build chunk (so an
// interrupted build resumes at a chunk boundary) and merged in memory when loaded. Tokenisation is
// tokenize.ts (lowercase words, no stemming); the document rows themselves live in the document store.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { RexragError } from '../errors.js';
import { expectArray, expectInteger, expectString } from '../validate.js';
import type { Bm25Spec } from './embedder.js';
import type { Searcher } from './searcher.js';
import { TopK, type ScoredIndex } from './top-k.js';
import { wordTokens } from './tokenize.js';

const SEGMENT_FORMAT = 'rexrag-bm25-segment';
const SEGMENT_VERSION = 1;

/** The file name of segment `chunk` inside an index folder. */
export function bm25SegmentFile(chunk: number): string {
  return `bm25-${String(chunk).padStart(6, '0')}.json`;
}

/** The postings of one chunk of documents: rows firstDocument .. firstDocument+docLengths.length-1. */
export interface Bm25Segment {
  firstDocument: number;
  /** Token count of each row of the chunk. */
  docLengths: number[];
  /** [term, [row offset within the chunk, term frequency, row offset, tf, ...]] with row offsets ascending. */
  terms: Array<[string, number[]]>;
}

/** Builds the segment of `texts`, which are rows firstDocument.. of the index. */
export function buildBm25Segment(texts: readonly string[], firstDocument: number): Bm25Segment {
  expectArray(texts, 'texts');
  expectInteger(firstDocument, 'firstDocument', { min: 0 });
  const postings = new Map<string, number[]>();
  const docLengths: number[] = [];
  texts.forEach((text, row) => {
    const tokens = wordTokens(expectString(text, `texts[${row}]`));
    docLengths.push(tokens.length);
    const counts = new Map<string, number>();
    for (const token of tokens) counts.set(token, (counts.get(token) ?? 0) + 1);
    for (const [term, tf] of counts) {
      let list = postings.get(term);
      if (!list) postings.set(term, (list = []));
      list.push(row, tf);
    }
  });
  return { firstDocument, docLengths, terms: [...postings] };
}

/** Serialises a segment for its file. */
export function serialiseBm25Segment(segment: Bm25Segment): string {
  return JSON.stringify({ format: SEGMENT_FORMAT, version: SEGMENT_VERSION, ...segment });
}

/** Reads and checks one segment file; a damaged file is an ERR_IO RexragError naming it. */
export async function readBm25Segment(path: string): Promise<Bm25Segment> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new RexragError(`cannot read BM25 segment ${path}: ${(error as Error).message}`, 'ERR_IO', { cause: error });
  }
  const segment = value as Partial<Bm25Segment> & { format?: unknown; version?: unknown };
  if (segment.format !== SEGMENT_FORMAT || segment.version !== SEGMENT_VERSION
    || !Number.isInteger(segment.firstDocument) || !Array.isArray(segment.docLengths) || !Array.isArray(segment.terms)) {
    throw new RexragError(`BM25 segment ${path} is damaged or of an unknown format`, 'ERR_IO');
  }
  return segment as Bm25Segment;
}

interface Postings {
  rows: Uint32Array;
  tfs: Uint32Array;
}

/**
 * Okapi BM25 as Lucene ≥ 8 (and so pyserini) scores it:
 *   score(q, d) = Σ_{t ∈ q} idf(t) · tf(t,d) / (tf(t,d) + k1 · (1 − b + b · |d| / avgdl)),
 *   idf(t) = ln(1 + (N − df(t) + 0.5) / (df(t) + 0.5)),
 * a query term repeated n times counts n times. Unlike Lucene, document lengths are exact (Lucene stores
 * them lossily in one byte), and tokens are not stemmed.
 */
export class Bm25Searcher implements Searcher {
  readonly size: number;
  private readonly avgdl: number;
  private readonly accumulator: Float64Array;

  private constructor(
    private readonly spec: Bm25Spec,
    private readonly postings: Map<string, Postings>,
    private readonly docLengths: Uint32Array,
  ) {
    this.size = docLengths.length;
    let total = 0;
    for (const length of docLengths) total += length;
    this.avgdl = this.size === 0 ? 0 : total / this.size;
    this.accumulator = new Float64Array(this.size);
  }

  /** Merges segments (in order, each continuing where the previous ended) into a searcher. */
  static fromSegments(spec: Bm25Spec, segments: readonly Bm25Segment[]): Bm25Searcher {
    const lists = new Map<string, { rows: number[]; tfs: number[] }>();
    const docLengths: number[] = [];
    for (const segment of segments) {
      if (segment.firstDocument !== docLengths.length) {
        throw new RexragError(`BM25 segments are not contiguous: a segment starts at row ${segment.firstDocument}, expected ${docLengths.length}`, 'ERR_IO');
      }
      for (const [term, flat] of segment.terms) {
        let list = lists.get(term);
        if (!list) lists.set(term, (list = { rows: [], tfs: [] }));
        for (let i = 0; i < flat.length; i += 2) {
          list.rows.push(segment.firstDocument + flat[i]!);
          list.tfs.push(flat[i + 1]!);
        }
      }
      docLengths.push(...segment.docLengths);
    }
    const postings = new Map<string, Postings>();
    for (const [term, list] of lists) postings.set(term, { rows: Uint32Array.from(list.rows), tfs: Uint32Array.from(list.tfs) });
    return new Bm25Searcher(spec, postings, Uint32Array.from(docLengths));
  }

  /** Loads segments 0..segmentCount-1 from an index folder. */
  static async load(folder: string, spec: Bm25Spec, segmentCount: number): Promise<Bm25Searcher> {
    const segments: Bm25Segment[] = [];
    for (let chunk = 0; chunk < segmentCount; chunk++) segments.push(await readBm25Segment(join(folder, bm25SegmentFile(chunk))));
    return Bm25Searcher.fromSegments(spec, segments);
  }

  /** Number of distinct terms. */
  get vocabularySize(): number {
    return this.postings.size;
  }

  describe(): Record<string, unknown> {
    return { kind: 'bm25', k1: this.spec.k1, b: this.spec.b, terms: this.postings.size, avgdl: this.avgdl };
  }

  async searchTexts(queries: readonly string[], k: number): Promise<ScoredIndex[][]> {
    expectArray(queries, 'queries');
    expectInteger(k, 'k', { min: 1 });
    return queries.map((query, i) => this.searchOne(expectString(query, `queries[${i}]`), k));
  }

  /** BM25 top-k of one query (term-at-a-time accumulation). Rows with no query term are not returned. */
  searchOne(query: string, k: number): ScoredIndex[] {
    const { k1, b } = this.spec;
    const n = this.size;
    const scores = this.accumulator;
    const touched: number[] = [];
    const queryCounts = new Map<string, number>();
    for (const term of wordTokens(query)) queryCounts.set(term, (queryCounts.get(term) ?? 0) + 1);
    for (const [term, repeats] of queryCounts) {
      const list = this.postings.get(term);
      if (!list) continue;
      const df = list.rows.length;
      const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
      for (let i = 0; i < df; i++) {
        const row = list.rows[i]!;
        const tf = list.tfs[i]!;
        const norm = k1 * (1 - b + (b * this.docLengths[row]!) / this.avgdl);
        if (scores[row] === 0) touched.push(row);
        scores[row]! += (repeats * idf * tf) / (tf + norm);
      }
    }
    const top = new TopK(k);
    for (const row of touched) {
      top.push(row, scores[row]!);
      scores[row] = 0;
    }
    return top.sorted();
  }
}
