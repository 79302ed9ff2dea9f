// A generated retrieval corpus: topical passages of pseudo-words (Zipf-distributed, as word frequencies in text
// are) in Search-R1's `"Title"\ntext` form, and queries made of a few content words of one passage plus a stray
// word. Deterministic for a seed; nothing is downloaded.
import { createRng, randomInt } from './synthetic.js';

const SYLLABLES = [
  'ka', 'ro', 'mi', 'te', 'su', 'na', 'lo', 'vi', 'pe', 'da', 'fu', 'gi', 'ho', 'ja', 'ku', 'le', 'mo', 'ni',
  'po', 'ra', 'si', 'to', 'u', 'va', 'we', 'xo', 'yu', 'ze', 'an', 'el', 'in', 'or', 'ul', 'est', 'ing', 'ath',
];

/** `count` distinct pseudo-words of 1–4 syllables. */
export function makeVocabulary(count: number, seed: number): string[] {
  const rng = createRng(seed);
  const words = new Set<string>();
  while (words.size < count) {
    const syllables = randomInt(rng, 1, 5);
    let word = '';
    for (let s = 0; s < syllables; s++) word += SYLLABLES[randomInt(rng, 0, SYLLABLES.length)]!;
    words.add(word);
  }
  return [...words];
}

/** Samples ranks 0..n-1 with P(r) ∝ 1 / (r + 1)^exponent (Zipf's law), by binary search on the CDF. */
export function zipfSampler(n: number, exponent: number, rng: () => number): () => number {
  const cdf = new Float64Array(n);
  let total = 0;
  for (let r = 0; r < n; r++) {
    total += 1 / Math.pow(r + 1, exponent);
    cdf[r] = total;
  }
  return () => {
    const u = rng() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

export interface GeneratedCorpus {
  passages: string[];
  queries: string[];
  /** The passage each query was drawn from. */
  sources: number[];
}

const TOPICS = 2000;
const TOPIC_WORDS = 60;
const TOPIC_SHARE = 0.6;

/**
 * Topical passages, as an encyclopedia's are: each of 2000 topics owns 60 content words; a passage takes ~60 %
 * of its 40–80 words from its topic (Zipf over the topic's words) and the rest from the whole Zipf-distributed
 * vocabulary, plus a 2–4-word title from its topic. A query is 3–6 content words of one passage and one stray
 * word from the whole vocabulary.
 */
export function generateCorpus(passages: number, queries: number, seed: number): GeneratedCorpus {
  const rng = createRng(seed);
  const vocabulary = makeVocabulary(30_000, seed + 1);
  const background = zipfSampler(vocabulary.length, 1.07, rng);
  const topicRank = zipfSampler(TOPIC_WORDS, 0.8, rng);
  const topics = Array.from({ length: TOPICS }, () => Array.from({ length: TOPIC_WORDS }, () => vocabulary[randomInt(rng, 0, vocabulary.length)]!));
  const texts: string[] = [];
  const contentWords: string[][] = [];
  for (let p = 0; p < passages; p++) {
    const topic = topics[randomInt(rng, 0, TOPICS)]!;
    const title = Array.from({ length: randomInt(rng, 2, 5) }, () => {
      const w = topic[topicRank()]!;
      return w[0]!.toUpperCase() + w.slice(1);
    }).join(' ');
    const content: string[] = [];
    const body = Array.from({ length: randomInt(rng, 40, 81) }, () => {
      if (rng() < TOPIC_SHARE) {
        const w = topic[topicRank()]!;
        content.push(w);
        return w;
      }
      return vocabulary[background()]!;
    });
    contentWords.push(content.length ? content : body);
    texts.push(`"${title}"\n${body.join(' ')}.`);
  }
  const queryTexts: string[] = [];
  const sources: number[] = [];
  for (let q = 0; q < queries; q++) {
    const source = randomInt(rng, 0, passages);
    const words = contentWords[source]!;
    const picked = Array.from({ length: randomInt(rng, 3, 7) }, () => words[randomInt(rng, 0, words.length)]!);
    picked.splice(randomInt(rng, 0, picked.length + 1), 0, vocabulary[background()]!);
    queryTexts.push(picked.join(' '));
    sources.push(source);
  }
  return { passages: texts, queries: queryTexts, sources };
}
