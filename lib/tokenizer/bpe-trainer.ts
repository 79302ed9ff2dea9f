// A tiny, deterministic byte-level BPE trainer (Sennrich et al. 2016, as used by GPT-2): start from the 256 byte
// symbols and repeatedly merge the most frequent adjacent pair. It builds the test tokenizer; splitting text into
// words is left to the caller (the same pre-tokenizer the tokenizer will use).
import { byteSymbolsInVocabOrder } from './byte-level.js';

export interface BpeModel {
  /** Symbol -> id: the 256 byte symbols (GPT-2 order) as ids 0..255, then each new merge result in order. */
  vocab: Map<string, number>;
  /** Merge rules in rank order: [left, right]. */
  merges: [string, string][];
}

/**
 * Learns up to `mergeCount` merges from `words` (pre-tokenized words in the byte-level alphabet). Each step
 * counts adjacent symbol pairs over all words (weighted by how often each word occurs), merges the most frequent
 * pair everywhere (ties: the pair that sorts first, so training is deterministic) and stops early when no pair
 * occurs at least `minFrequency` times.
 */
export function trainByteLevelBpe(words: readonly string[], mergeCount: number, minFrequency = 2): BpeModel {
  const vocab = new Map<string, number>(byteSymbolsInVocabOrder.map((symbol, id) => [symbol, id]));
  const counts = new Map<string, number>();
  for (const word of words) counts.set(word, (counts.get(word) ?? 0) + 1);
  const segmented = [...counts].map(([word, count]) => ({ symbols: Array.from(word), count }));
  for (const { symbols } of segmented) {
    for (const symbol of symbols) {
      if (!vocab.has(symbol)) throw new RangeError(`word symbol ${JSON.stringify(symbol)} is not in the byte-level alphabet`);
    }
  }

  const merges: [string, string][] = [];
  while (merges.length < mergeCount) {
    const pairCounts = new Map<string, { pair: [string, string]; count: number }>();
    for (const { symbols, count } of segmented) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = `${symbols[i]}\u0000${symbols[i + 1]}`;
        const entry = pairCounts.get(key);
        if (entry) entry.count += count;
        else pairCounts.set(key, { pair: [symbols[i]!, symbols[i + 1]!], count });
      }
    }
    let best: { key: string; pair: [string, string]; count: number } | undefined;
    for (const [key, entry] of pairCounts) {
      if (!best || entry.count > best.count || (entry.count === best.count && key < best.key)) best = { key, ...entry };
    }
    if (!best || best.count < minFrequency) break;
    const [left, right] = best.pair;
    const merged = left + right;
    merges.push([left, right]);
    if (!vocab.has(merged)) vocab.set(merged, vocab.size);
    for (const word of segmented) {
      const out: string[] = [];
      for (let i = 0; i < word.symbols.length; i++) {
        if (word.symbols[i] === left && word.symbols[i + 1] === right) {
          out.push(merged);
          i++;
        } else {
          out.push(word.symbols[i]!);
        }
      }
      word.symbols = out;
    }
  }
  return { vocab, merges };
}
