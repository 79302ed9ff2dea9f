// A dense embedder that needs no weights: signed feature hashing of words, word bigrams and character n-grams
// into a fixed number of dimensions. Deterministic and symmetric (queries and passages are encoded alike).
// It is a lexical baseline for tests and demos; learned encoders (E5) plug in through embedder.ts.
import { expectArray, expectInteger, expectNumber, expectObject, expectString } from '../validate.js';
import type { DenseEmbedder, HashedEmbedderSpec } from './embedder.js';
import { hashString } from '../util/hash.js';
import { wordTokens } from './tokenize.js';

// Distinct prefixes keep the three families' features apart before hashing.
const UNIGRAM = 'w\u0001';
const BIGRAM = 'b\u0001';
const CHAR = 'c\u0001';

/**
 * The hashing trick (Weinberger et al., 2009) with sublinear term frequency:
 * for each family f (word unigrams, word bigrams, character n-grams of each word padded as `<word>`),
 *   v_f[h(x) mod dim] += sign(x) * (1 + ln tf(x))    over the distinct features x of that family,
 * where sign(x) is the top bit of the hash; each v_f is L2-normalised, then
 *   v = Σ_f w_f v_f,  returned as v / ||v||  (all zeros when the text has no word).
 * So the cosine of two texts is roughly Σ_f w_f² cos_f / Σ_f w_f² up to hash collisions.
 */
export class HashedEmbedder implements DenseEmbedder {
  readonly name: string;
  readonly dim: number;
  readonly spec: HashedEmbedderSpec;

  constructor(spec: HashedEmbedderSpec) {
    this.spec = { ...checkHashedSpec(spec) };
    this.dim = spec.dim;
    this.name = `hashed-${spec.dim}`;
  }

  async embedQueries(texts: readonly string[]): Promise<Float32Array[]> {
    return this.embedAll(texts, 'texts');
  }

  async embedPassages(texts: readonly string[]): Promise<Float32Array[]> {
    return this.embedAll(texts, 'texts');
  }

  /** The vector of one text (synchronous; the batch methods wrap it). */
  embed(text: string): Float32Array {
    const words = wordTokens(text);
    const { dim, seed } = this.spec;
    const families: Array<[number, Map<string, number>]> = [
      [this.spec.unigramWeight, countFeatures(words.map((word) => UNIGRAM + word))],
      [this.spec.bigramWeight, countFeatures(words.slice(1).map((word, i) => `${BIGRAM}${words[i]} ${word}`))],
      [this.spec.charWeight, countFeatures(charNgrams(words, this.spec.charNgramMin, this.spec.charNgramMax))],
    ];
    const vector = new Float32Array(dim);
    const family = new Float64Array(dim);
    for (const [weight, counts] of families) {
      if (weight === 0 || counts.size === 0) continue;
      family.fill(0);
      for (const [feature, tf] of counts) {
        const h = hashString(feature, seed);
        const sign = h & 0x80000000 ? -1 : 1;
        family[h % dim]! += sign * (1 + Math.log(tf));
      }
      let sumSquares = 0;
      for (let i = 0; i < dim; i++) sumSquares += family[i]! * family[i]!;
      if (sumSquares === 0) continue;
      const norm = Math.sqrt(sumSquares);
      for (let i = 0; i < dim; i++) vector[i]! += (weight * family[i]!) / norm;
    }
    return l2Normalise(vector);
  }

  private embedAll(texts: readonly string[], name: string): Float32Array[] {
    expectArray(texts, name);
    return texts.map((text, i) => this.embed(expectString(text, `${name}[${i}]`)));
  }
}

/** Checks a hashed spec's fields, naming the bad one. */
export function checkHashedSpec(spec: HashedEmbedderSpec): HashedEmbedderSpec {
  expectObject(spec, 'spec');
  if (spec.kind !== 'hashed') throw new RangeError(`spec.kind must be 'hashed', got ${String(spec.kind)}`);
  expectInteger(spec.dim, 'spec.dim', { min: 8, max: 65536 });
  expectInteger(spec.charNgramMin, 'spec.charNgramMin', { min: 1, max: 16 });
  expectInteger(spec.charNgramMax, 'spec.charNgramMax', { min: spec.charNgramMin, max: 16 });
  expectNumber(spec.unigramWeight, 'spec.unigramWeight', { min: 0 });
  expectNumber(spec.bigramWeight, 'spec.bigramWeight', { min: 0 });
  expectNumber(spec.charWeight, 'spec.charWeight', { min: 0 });
  expectInteger(spec.seed, 'spec.seed', { min: 0, max: 0xffffffff });
  return spec;
}

/** Scales `vector` in place to unit L2 norm (a zero vector stays zero) and returns it. */
export function l2Normalise(vector: Float32Array): Float32Array {
  let sumSquares = 0;
  for (let i = 0; i < vector.length; i++) sumSquares += vector[i]! * vector[i]!;
  if (sumSquares === 0) return vector;
  const scale = 1 / Math.sqrt(sumSquares);
  for (let i = 0; i < vector.length; i++) vector[i]! *= scale;
  return vector;
}

function countFeatures(features: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const feature of features) counts.set(feature, (counts.get(feature) ?? 0) + 1);
  return counts;
}

function charNgrams(words: readonly string[], min: number, max: number): string[] {
  const grams: string[] = [];
  for (const word of words) {
    const padded = `<${word}>`;
    if (padded.length < min) {
      grams.push(CHAR + padded);
      continue;
    }
    for (let n = min; n <= max && n <= padded.length; n++) {
      for (let start = 0; start + n <= padded.length; start++) grams.push(CHAR + padded.slice(start, start + n));
    }
  }
  return grams;
}
