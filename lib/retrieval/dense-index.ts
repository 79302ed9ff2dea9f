// Dense search over the unit vectors of an index: exact (flat, brute-force inner product over vectors.f32,
// the recall reference and the fallback) or approximate (an hnswlib HNSW graph in 'ip' space).
// Encoding texts is the embedder's job; this file only sees vectors.
import { closeSync, openSync, readSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';

import hnsw from 'hnswlib-node';

import { RexragError } from '../errors.js';
import { native } from '../native.js';
import { expectArray, expectInteger } from '../validate.js';
import { readFully } from './doc-store.js';
import type { DenseEmbedder } from './embedder.js';
import type { Searcher } from './searcher.js';
import type { ScoredIndex } from './top-k.js';

export const VECTORS_FILE = 'vectors.f32';
export const HNSW_FILE = 'hnsw.bin';

/** HNSW parameters (Malkov & Yashunin, 2018): graph degree M, build-time and search-time beam widths. */
export interface HnswParams {
  M: number;
  efConstruction: number;
  efSearch: number;
  randomSeed: number;
}

/**
 * Defaults for recall@3 ≥ 0.98 against exact search, read off the benchmark suite's efSearch sweep
 * (`retrieval/<size>/recall_at_3_ef*`; full run 2026-12-02, 100k hashed passages, 2000 queries): efSearch 32
 * 0.882, 64 0.944, 128 0.976, 256 0.991 (225 queries/s), 512 0.998 (126 queries/s). 256 is the smallest that
 * reaches 0.98. The build parameters set the graph's quality; efSearch only the search beam.
 */
export const DEFAULT_HNSW_PARAMS: HnswParams = Object.freeze({ M: 32, efConstruction: 200, efSearch: 256, randomSeed: 100 });

/** Checks HNSW parameters, naming the bad one. */
export function checkHnswParams(params: HnswParams): HnswParams {
  expectInteger(params.M, 'hnsw.M', { min: 2, max: 512 });
  expectInteger(params.efConstruction, 'hnsw.efConstruction', { min: 1, max: 100_000 });
  expectInteger(params.efSearch, 'hnsw.efSearch', { min: 1, max: 100_000 });
  expectInteger(params.randomSeed, 'hnsw.randomSeed', { min: 0, max: 0x7fffffff });
  return params;
}

/** Something that finds the best rows for query vectors. */
export interface VectorSearch {
  readonly size: number;
  readonly dim: number;
  readonly method: 'flat' | 'hnsw';
  searchVectors(queries: readonly Float32Array[], k: number): ScoredIndex[][];
}

/** Exact maximum-inner-product search over row-major vectors (N × dim). */
export class FlatVectorSearch implements VectorSearch {
  readonly method = 'flat';
  readonly size: number;

  constructor(readonly vectors: Float32Array, readonly dim: number) {
    expectInteger(dim, 'dim', { min: 1 });
    if (vectors.length % dim !== 0) throw new RangeError(`vectors.length (${vectors.length}) must be a multiple of dim (${dim})`);
    this.size = vectors.length / dim;
  }

  /** Reads `count` × `dim` float32 values from a vectors file (the whole file is held in memory). */
  static async load(path: string, count: number, dim: number): Promise<FlatVectorSearch> {
    const bytes = await readFile(path);
    if (bytes.length !== count * dim * 4) {
      throw new RexragError(`${path} has ${bytes.length} bytes, expected ${count} × ${dim} float32 = ${count * dim * 4}`, 'ERR_IO');
    }
    const vectors = new Float32Array(count * dim);
    new Uint8Array(vectors.buffer).set(bytes);
    return new FlatVectorSearch(vectors, dim);
  }

  /**
   * score(q, i) = Σ_j q_j · x_ij, the inner product (cosine for unit vectors); top k per query. All queries go
   * through libtorch at once: one matrix product and top-k per chunk of rows, the chunk sized so the score block
   * stays near FLAT_SCORE_BLOCK floats.
   */
  searchVectors(queries: readonly Float32Array[], k: number): ScoredIndex[][] {
    const { vectors, dim, size } = this;
    const count = Math.min(expectInteger(k, 'k', { min: 0 }), size);
    if (queries.length === 0 || count === 0) return queries.map(() => []);
    const packed = new Float32Array(queries.length * dim);
    queries.forEach((query, q) => {
      checkQuery(query, dim, `queries[${q}]`);
      packed.set(query, q * dim);
    });
    const chunkRows = Math.max(1024, Math.floor(FLAT_SCORE_BLOCK / queries.length));
    const { indices, scores } = native().flatSearch(vectors, dim, packed, count, chunkRows);
    return queries.map((_, q) => Array.from({ length: count }, (_, j) => ({ index: indices[q * count + j]!, score: scores[q * count + j]! })));
  }
}

/** Score floats per chunk of the flat search (64 MiB): bounds its memory whatever the corpus and query count. */
export const FLAT_SCORE_BLOCK = 1 << 24;

/** Approximate search on an hnswlib graph in inner-product space; score = 1 − hnswlib's distance. */
export class HnswVectorSearch implements VectorSearch {
  readonly method = 'hnsw';

  private constructor(private readonly graph: hnsw.HierarchicalNSW, readonly dim: number, readonly size: number, private efSearch: number) {}

  /** Loads a graph written by `buildHnswGraph`; its element count and dimension (read from its header) must match. */
  static load(path: string, count: number, dim: number, efSearch: number): HnswVectorSearch {
    checkHnswHeader(path, count, dim);
    const graph = new hnsw.HierarchicalNSW('ip', dim);
    try {
      graph.readIndexSync(path);
    } catch (error) {
      throw new RexragError(`cannot read HNSW graph ${path}: ${(error as Error).message}`, 'ERR_IO', { cause: error });
    }
    if (graph.getCurrentCount() !== count || graph.getNumDimensions() !== dim) {
      throw new RexragError(`HNSW graph ${path} holds ${graph.getCurrentCount()} vectors of dim ${graph.getNumDimensions()}, expected ${count} of dim ${dim}`, 'ERR_IO');
    }
    return new HnswVectorSearch(graph, dim, count, efSearch);
  }

  /** Wraps an in-memory graph (as built by `buildHnswGraph`). */
  static fromGraph(graph: hnsw.HierarchicalNSW, efSearch: number): HnswVectorSearch {
    return new HnswVectorSearch(graph, graph.getNumDimensions(), graph.getCurrentCount(), efSearch);
  }

  /** The search beam width; raised to k for a search with more results than it. */
  setEfSearch(efSearch: number): void {
    this.efSearch = expectInteger(efSearch, 'efSearch', { min: 1 });
  }

  searchVectors(queries: readonly Float32Array[], k: number): ScoredIndex[][] {
    const count = Math.min(k, this.size);
    this.graph.setEf(Math.max(this.efSearch, count));
    return queries.map((query, q) => {
      checkQuery(query, this.dim, `queries[${q}]`);
      const { neighbors, distances } = this.graph.searchKnn(Array.from(query), count);
      const hits = neighbors.map((index, i) => ({ index, score: 1 - distances[i]! }));
      return hits.sort((a, b) => (b.score - a.score) || (a.index - b.index));
    });
  }
}

/**
 * Builds an HNSW graph from `count` vectors in a vectors file, starting at row `firstRow` (default 0; a shard),
 * reading `chunkRows` rows at a time and calling `onProgress(added)` after each chunk; row firstRow + i gets
 * label i. Deterministic for a given file and params (single-threaded insertion in row order with a fixed
 * seed). Stops between chunks when `signal` aborts.
 */
export async function buildHnswGraph(
  vectorsPath: string,
  count: number,
  dim: number,
  params: HnswParams,
  options: { chunkRows?: number; firstRow?: number; onProgress?: (added: number) => void; signal?: AbortSignal } = {},
): Promise<hnsw.HierarchicalNSW> {
  checkHnswParams(params);
  const chunkRows = options.chunkRows ?? 4096;
  const graph = new hnsw.HierarchicalNSW('ip', dim);
  graph.initIndex({ maxElements: Math.max(1, count), m: params.M, efConstruction: params.efConstruction, randomSeed: params.randomSeed });
  const handle = await open(vectorsPath, 'r');
  try {
    for (let first = 0; first < count; first += chunkRows) {
      options.signal?.throwIfAborted();
      const rows = Math.min(chunkRows, count - first);
      const buffer = new Uint8Array(rows * dim * 4);
      await readFully(handle, buffer, ((options.firstRow ?? 0) + first) * dim * 4);
      const vectors = new Float32Array(buffer.buffer);
      for (let row = 0; row < rows; row++) {
        graph.addPoint(Array.from(vectors.subarray(row * dim, (row + 1) * dim)), first + row);
      }
      options.onProgress?.(first + rows);
    }
  } finally {
    await handle.close();
  }
  return graph;
}

/** A Searcher that encodes query texts with a dense embedder and searches vectors. */
export class DenseSearcher implements Searcher {
  constructor(readonly embedder: DenseEmbedder, readonly vectors: VectorSearch) {
    if (embedder.dim !== vectors.dim) throw new RexragError(`embedder ${embedder.name} has dim ${embedder.dim} but the index vectors have dim ${vectors.dim}`, 'ERR_INVALID_ARG');
  }

  get size(): number {
    return this.vectors.size;
  }

  describe(): Record<string, unknown> {
    const shards = (this.vectors as { shards?: readonly unknown[] }).shards?.length;
    return { kind: 'dense', embedder: this.embedder.name, dim: this.embedder.dim, search: this.vectors.method, ...(shards ? { shards } : {}) };
  }

  async searchTexts(queries: readonly string[], k: number): Promise<ScoredIndex[][]> {
    expectArray(queries, 'queries');
    expectInteger(k, 'k', { min: 1 });
    if (queries.length === 0) return [];
    const encoded = await this.embedder.embedQueries(queries);
    return this.vectors.searchVectors(encoded, k);
  }
}

/**
 * Reads the first words of an hnswlib index file (offsetLevel0, maxElements, curElementCount,
 * sizeDataPerElement, labelOffset, offsetData: little-endian uint64) and checks the vector size it was built with,
 * labelOffset − offsetData = dim × 4 bytes, and its element count. hnswlib itself trusts the dim it is given, so
 * a graph read with another dim searches on misread vectors.
 */
function checkHnswHeader(path: string, count: number, dim: number): void {
  const header = Buffer.alloc(48);
  let read = 0;
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    read = readSync(fd, header, 0, header.length, 0);
  } catch (error) {
    throw new RexragError(`cannot read HNSW graph ${path}: ${(error as Error).message}`, 'ERR_IO', { cause: error });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (read < header.length) throw new RexragError(`HNSW graph ${path} is damaged: ${read} bytes, shorter than its header`, 'ERR_IO');
  const elements = Number(header.readBigUInt64LE(16));
  const vectorBytes = Number(header.readBigUInt64LE(32) - header.readBigUInt64LE(40));
  if (vectorBytes !== dim * 4 || elements !== count) {
    throw new RexragError(`HNSW graph ${path} holds ${elements} vectors of ${vectorBytes / 4} dims, but the manifest expects ${count} of ${dim} dims`, 'ERR_IO');
  }
}

function checkQuery(query: Float32Array, dim: number, name: string): void {
  if (!(query instanceof Float32Array) || query.length !== dim) {
    throw new TypeError(`${name} must be a Float32Array of length ${dim}`);
  }
}
