// Public surface of the retrieval layer: corpus reading, the document store, embedders, index build/load,
// the local and HTTP retrievers and the Search-R1-compatible server. Each piece lives in its own file.
export type { CorpusDocument, Retriever, SearchHit } from './types.js';
export {
  contentsFromTitleText, CorpusFormatError, DEFAULT_MAX_LINE_BYTES, parseCorpusLine, readCorpusBatches, splitContents, toCorpusDocument,
} from './corpus.js';
export type { CorpusBatch, CorpusReadOptions, MalformedLine, MalformedPolicy } from './corpus.js';
export { DocumentStore, DocumentStoreWriter } from './doc-store.js';
export { DEFAULT_BM25_SPEC, DEFAULT_HASHED_SPEC, embedderLabel, parseEmbedderSpec } from './embedder.js';
export type { Bm25Spec, DenseEmbedder, DenseEmbedderSpec, E5EmbedderSpec, EmbedderSpec, HashedEmbedderSpec } from './embedder.js';
export { createEmbedder, registerEmbedder } from './embedder-registry.js';
export type { EmbedderFactory } from './embedder-registry.js';
export { HashedEmbedder } from './hashed-embedder.js';
export { Bm25Searcher } from './bm25.js';
export { DEFAULT_HNSW_PARAMS, DenseSearcher, FlatVectorSearch, HnswVectorSearch } from './dense-index.js';
export type { HnswParams, VectorSearch } from './dense-index.js';
export { hnswShardFile, mergeTopK, shardRanges, ShardedVectorSearch } from './shards.js';
export type { Searcher, ScoredIndex } from './searcher.js';
export { buildIndex, clearIndexFolder } from './build.js';
export type { DuplicateId, DuplicateIdReport } from './duplicate-ids.js';
export type { BuildEvent, BuildIndexOptions, BuildMode, BuildSummary } from './build.js';
export { readManifest } from './manifest.js';
export type { IndexManifest } from './manifest.js';
export { loadIndex } from './load.js';
export type { LoadedIndex, LoadIndexOptions } from './load.js';
export { LocalRetriever } from './local-retriever.js';
export { HttpRetriever } from './http-client.js';
export type { HttpRetrieverOptions } from './http-client.js';
export { startRetrievalServer } from './server.js';
export type { RetrievalServer, RetrievalServerEvent, RetrievalServerOptions, ServedRetriever } from './server.js';
