// Where dense encoders plug in: a factory per spec kind ('hashed' and the native 'e5' are built in) and the
// function that builds the encoder an index manifest names. The specs themselves are embedder.ts's.
import { RexragError } from '../errors.js';
import { describe, expectObject, expectString } from '../validate.js';
import type { DenseEmbedder, DenseEmbedderSpec, E5EmbedderSpec, EmbedderSpec, HashedEmbedderSpec } from './embedder.js';
import { HashedEmbedder } from './hashed-embedder.js';

/** Builds a dense embedder from its spec. */
export type EmbedderFactory<S extends DenseEmbedderSpec = DenseEmbedderSpec> = (spec: S) => Promise<DenseEmbedder>;

const factories = new Map<string, EmbedderFactory>([
  ['hashed', async (spec) => new HashedEmbedder(spec as HashedEmbedderSpec)],
  // Imported on first use, so the tokenizer library and the native addon load only when an e5 model is used.
  ['e5', async (spec) => (await import('./e5-embedder.js')).E5Embedder.load((spec as E5EmbedderSpec).modelDir)],
]);

/**
 * Registers the factory for dense embedders of `kind`, replacing any earlier one. 'hashed' and 'e5' are built
 * in. Returns a function that restores the previous one.
 */
export function registerEmbedder<K extends DenseEmbedderSpec['kind']>(kind: K, factory: EmbedderFactory<Extract<DenseEmbedderSpec, { kind: K }>>): () => void {
  expectString(kind, 'kind', { nonEmpty: true });
  if (typeof factory !== 'function') throw new TypeError(`factory must be a function, got ${describe(factory)}`);
  const previous = factories.get(kind);
  factories.set(kind, factory as EmbedderFactory);
  return () => {
    if (previous) factories.set(kind, previous);
    else factories.delete(kind);
  };
}

/**
 * Creates the dense embedder a spec describes. `bm25` is refused (it is a searcher: the index layer builds
 * it), and a kind with no registered factory is a RexragError('ERR_INVALID_ARG').
 */
export async function createEmbedder(spec: DenseEmbedderSpec | EmbedderSpec): Promise<DenseEmbedder> {
  const checked = expectObject(spec, 'spec');
  const kind = expectString(checked.kind, 'spec.kind', { nonEmpty: true });
  if (kind === 'bm25') {
    throw new RexragError('bm25 is a lexical searcher, not a dense embedder; build a BM25 index instead (rexrag index --embedder bm25)', 'ERR_INVALID_ARG');
  }
  const factory = factories.get(kind);
  if (!factory) throw new RexragError(`no embedder is registered for kind "${kind}"`, 'ERR_INVALID_ARG');
  return factory(spec as DenseEmbedderSpec);
}
