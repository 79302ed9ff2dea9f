// Opens a complete index folder: validates its manifest and files, recreates its embedder, and wires the
// document store to the right searcher (HNSW, exact flat, or BM25). Serving and the Retriever API are elsewhere.
import { join, resolve } from 'node:path';

import { RexragError } from '../errors.js';
import { expectInteger, expectObject, expectString } from '../validate.js';
import { Bm25Searcher } from './bm25.js';
import { DenseSearcher, FlatVectorSearch, HNSW_FILE, HnswVectorSearch, VECTORS_FILE } from './dense-index.js';
import { DocumentStore } from './doc-store.js';
import { createEmbedder } from './embedder-registry.js';
import { readManifest, type IndexManifest } from './manifest.js';
import type { Searcher } from './searcher.js';
import { hnswShardFile, loadFlatShard, shardRanges, ShardedVectorSearch } from './shards.js';

export interface LoadIndexOptions {
  /** 'auto' (default): the HNSW graph when the index has one, else exact; 'exact': brute force; 'hnsw': require the graph. */
  search?: 'auto' | 'hnsw' | 'exact';
  /** HNSW search beam width (default: the value saved at build time). */
  efSearch?: number;
}

/** A loaded index: its manifest, its document store and its searcher. Call close() when done. */
export interface LoadedIndex {
  folder: string;
  manifest: IndexManifest;
  store: DocumentStore;
  searcher: Searcher;
  close(): Promise<void>;
}

/**
 * Loads the index in `folder`. A folder without a valid manifest (for instance an interrupted build) or whose
 * files disagree with it is refused with an ERR_IO RexragError that says what is wrong and how to fix it.
 */
export async function loadIndex(folder: string, options: LoadIndexOptions = {}): Promise<LoadedIndex> {
  const root = resolve(expectString(folder, 'folder', { nonEmpty: true }));
  expectObject(options, 'options');
  const mode = options.search ?? 'auto';
  if (mode !== 'auto' && mode !== 'hnsw' && mode !== 'exact') throw new RangeError(`options.search must be 'auto', 'hnsw' or 'exact', got ${String(mode)}`);
  if (options.efSearch !== undefined) expectInteger(options.efSearch, 'options.efSearch', { min: 1 });
  const manifest = await readManifest(root);
  const store = await DocumentStore.open(root, manifest.documents);
  try {
    const searcher = await openSearcher(root, manifest, mode, options.efSearch);
    return { folder: root, manifest, store, searcher, close: () => store.close() };
  } catch (error) {
    await store.close();
    throw error;
  }
}

async function openSearcher(folder: string, manifest: IndexManifest, mode: 'auto' | 'hnsw' | 'exact', efSearch: number | undefined): Promise<Searcher> {
  if (manifest.embedder.kind === 'bm25') {
    if (mode === 'hnsw') throw new RexragError(`${folder} is a BM25 index; it has no HNSW graph`, 'ERR_INVALID_ARG');
    return Bm25Searcher.load(folder, manifest.embedder, manifest.bm25!.segments);
  }
  const dense = manifest.dense!;
  const embedder = await createEmbedder(manifest.embedder);
  if (embedder.dim !== dense.dim) throw new RexragError(`${folder}: the embedder gives ${embedder.dim} dims but the index has ${dense.dim}`, 'ERR_IO');
  const useGraph = dense.ann === 'hnsw' && mode !== 'exact';
  if (mode === 'hnsw' && !useGraph) throw new RexragError(`${folder} was built with --ann flat; it has no HNSW graph`, 'ERR_INVALID_ARG');
  const ef = efSearch ?? dense.hnsw?.efSearch ?? 0;
  if ((dense.shards ?? 1) > 1) {
    // One searcher per passage-range shard; their hits are merged into one top-k (shards.ts).
    const parts = await Promise.all(shardRanges(manifest.documents, dense.shards!).map(async ({ first, count }, s) => ({
      first,
      search: useGraph ? HnswVectorSearch.load(join(folder, hnswShardFile(s)), count, dense.dim, ef)
        : await loadFlatShard(join(folder, VECTORS_FILE), first, count, dense.dim),
    })));
    return new DenseSearcher(embedder, new ShardedVectorSearch(parts));
  }
  const vectors = useGraph
    ? HnswVectorSearch.load(join(folder, HNSW_FILE), manifest.documents, dense.dim, ef)
    : await FlatVectorSearch.load(join(folder, VECTORS_FILE), manifest.documents, dense.dim);
  return new DenseSearcher(embedder, vectors);
}
