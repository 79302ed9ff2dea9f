// The embedder seam: one interface for dense text encoders, a serialisable spec saved in every index manifest,
// and a parser for the CLI's --embedder strings. Building an encoder from its spec is embedder-registry.ts's
// job; BM25 is a searcher, so its spec is parsed here but built by the index layer.
import { RexragError } from '../errors.js';
import { describe, expectObject, expectString } from '../validate.js';

/** A dense text encoder: each output vector has `dim` entries and unit L2 norm (or is all zeros for empty input). */
export interface DenseEmbedder {
  readonly name: string;
  readonly dim: number;
  /** The spec that recreates this embedder; saved in the index manifest. */
  readonly spec: DenseEmbedderSpec;
  /** Encodes search queries (E5 would prefix "query: "). */
  embedQueries(texts: readonly string[]): Promise<Float32Array[]>;
  /** Encodes corpus passages (E5 would prefix "passage: "). */
  embedPassages(texts: readonly string[]): Promise<Float32Array[]>;
}

/** Signed feature hashing of word unigrams/bigrams and character n-grams (see hashed-embedder.ts). */
export interface HashedEmbedderSpec {
  kind: 'hashed';
  dim: number;
  /** Character n-gram lengths, inclusive, taken inside each word padded with boundary marks. */
  charNgramMin: number;
  charNgramMax: number;
  /** Weights of the three feature families (each family's sub-vector is L2-normalised before weighting). */
  unigramWeight: number;
  bigramWeight: number;
  charWeight: number;
  /** Hash seed. */
  seed: number;
}

/** The native E5/BERT encoder, loaded from a Hugging Face model folder. */
export interface E5EmbedderSpec {
  kind: 'e5';
  modelDir: string;
}

/** BM25 over an inverted index (Lucene's formula; k1 and b as pyserini's defaults). */
export interface Bm25Spec {
  kind: 'bm25';
  k1: number;
  b: number;
}

export type DenseEmbedderSpec = HashedEmbedderSpec | E5EmbedderSpec;
/** What an index is built with: a dense embedder or BM25. */
export type EmbedderSpec = DenseEmbedderSpec | Bm25Spec;

export const DEFAULT_HASHED_SPEC: HashedEmbedderSpec = Object.freeze({
  kind: 'hashed',
  dim: 512,
  charNgramMin: 3,
  charNgramMax: 5,
  unigramWeight: 1,
  bigramWeight: 0.5,
  charWeight: 0.5,
  seed: 0,
});

/** pyserini's defaults for BM25 over MS MARCO-style passages. */
export const DEFAULT_BM25_SPEC: Bm25Spec = Object.freeze({ kind: 'bm25', k1: 0.9, b: 0.4 });

/**
 * Parses a CLI embedder string: `hashed`, `hashed:DIM`, `bm25`, `bm25:K1,B` or `e5:MODEL_DIR`.
 * Anything else is a RexragError('ERR_INVALID_ARG') listing the accepted forms.
 */
export function parseEmbedderSpec(text: string): EmbedderSpec {
  expectString(text, 'embedder', { nonEmpty: true });
  const colon = text.indexOf(':');
  const kind = colon < 0 ? text : text.slice(0, colon);
  const argument = colon < 0 ? undefined : text.slice(colon + 1);
  const accepted = 'accepted: hashed, hashed:DIM, bm25, bm25:K1,B, e5:MODEL_DIR';
  if (kind === 'hashed') {
    if (argument === undefined) return { ...DEFAULT_HASHED_SPEC };
    const dim = Number(argument);
    if (!/^\d+$/.test(argument) || dim < 8 || dim > 65536) {
      throw new RexragError(`embedder "${text}": the dimension must be an integer in [8, 65536]`, 'ERR_INVALID_ARG');
    }
    return { ...DEFAULT_HASHED_SPEC, dim };
  }
  if (kind === 'bm25') {
    if (argument === undefined) return { ...DEFAULT_BM25_SPEC };
    const parts = argument.split(',').map((part) => Number(part));
    const [k1, b] = parts;
    if (parts.length !== 2 || k1 === undefined || b === undefined || !(k1 >= 0) || !(b >= 0 && b <= 1)) {
      throw new RexragError(`embedder "${text}": expected bm25:K1,B with K1 >= 0 and 0 <= B <= 1`, 'ERR_INVALID_ARG');
    }
    return { kind: 'bm25', k1, b };
  }
  if (kind === 'e5') {
    if (!argument) throw new RexragError(`embedder "${text}": e5 needs a model folder, e.g. e5:./models/e5-base-v2`, 'ERR_INVALID_ARG');
    return { kind: 'e5', modelDir: argument };
  }
  throw new RexragError(`unknown embedder "${text}"; ${accepted}`, 'ERR_INVALID_ARG');
}

/** A short human-readable name for a spec (`hashed-512`, `bm25`, `e5:/path`). */
export function embedderLabel(spec: EmbedderSpec): string {
  if (spec.kind === 'hashed') return `hashed-${spec.dim}`;
  if (spec.kind === 'bm25') return `bm25(k1=${spec.k1},b=${spec.b})`;
  return `e5:${spec.modelDir}`;
}
