// Sharded dense search: an index's rows split into N contiguous passage ranges, each searched on its own (one
// HNSW graph per shard, or exact search over the shard's slice of vectors.f32), the per-shard top-k merged into
// one top-k. Merging ranks by score, then by global row, exactly as one unsharded TopK does.
import { open } from 'node:fs/promises';

import { RexragError } from '../errors.js';
import { expectInteger } from '../validate.js';
import { FlatVectorSearch, type VectorSearch } from './dense-index.js';
import { readFully } from './doc-store.js';
import type { ScoredIndex } from './top-k.js';

/** The graph file of shard `shard` (0-based) of a sharded HNSW index. */
export function hnswShardFile(shard: number): string {
  return `hnsw-shard-${String(shard).padStart(3, '0')}.bin`;
}

/** Row range [first, first + count) of each of `shards` shards over `rows` rows: contiguous, sizes differ by at most one. */
export function shardRanges(rows: number, shards: number): { first: number; count: number }[] {
  expectInteger(rows, 'rows', { min: 0 });
  expectInteger(shards, 'shards', { min: 1 });
  if (shards > Math.max(1, rows)) throw new RexragError(`cannot split ${rows} passages into ${shards} shards; use at most ${Math.max(1, rows)}`, 'ERR_INVALID_ARG');
  return Array.from({ length: shards }, (_, s) => {
    const first = Math.floor((s * rows) / shards);
    return { first, count: Math.floor(((s + 1) * rows) / shards) - first };
  });
}

/** Reads rows [first, first + count) of a vectors file into an exact searcher over local rows 0..count-1. */
export async function loadFlatShard(path: string, first: number, count: number, dim: number): Promise<FlatVectorSearch> {
  const handle = await open(path, 'r');
  try {
    const vectors = new Float32Array(count * dim);
    await readFully(handle, new Uint8Array(vectors.buffer), first * dim * 4);
    return new FlatVectorSearch(vectors, dim);
  } catch (error) {
    throw new RexragError(`cannot read rows ${first}..${first + count - 1} of ${path}: ${(error as Error).message}`, 'ERR_IO', { cause: error });
  } finally {
    await handle.close();
  }
}

/** Searches every shard (local rows, shifted by the shard's first row) and merges their hits into one top-k. */
export class ShardedVectorSearch implements VectorSearch {
  readonly size: number;
  readonly dim: number;
  readonly method: 'flat' | 'hnsw';

  constructor(readonly shards: readonly { first: number; search: VectorSearch }[]) {
    if (shards.length === 0) throw new RangeError('a sharded search needs at least one shard');
    this.dim = shards[0]!.search.dim;
    this.method = shards[0]!.search.method;
    this.size = shards.reduce((sum, shard) => sum + shard.search.size, 0);
    if (shards.some((shard) => shard.search.dim !== this.dim || shard.search.method !== this.method)) {
      throw new RexragError('every shard of an index must have the same dimension and search method', 'ERR_IO');
    }
  }

  /** The best k rows for each query over all shards: each shard's top k, merged by (score desc, row asc). */
  searchVectors(queries: readonly Float32Array[], k: number): ScoredIndex[][] {
    const perShard = this.shards.map(({ first, search }) =>
      search.searchVectors(queries, k).map((hits) => hits.map((hit) => ({ index: first + hit.index, score: hit.score }))));
    return queries.map((_, q) => mergeTopK(perShard.map((hits) => hits[q]!), k));
  }
}

/** Merges ranked hit lists into the best k, ties going to the lower row (TopK's order). */
export function mergeTopK(lists: readonly (readonly ScoredIndex[])[], k: number): ScoredIndex[] {
  return lists.flat().sort((a, b) => (b.score - a.score) || (a.index - b.index)).slice(0, k);
}
