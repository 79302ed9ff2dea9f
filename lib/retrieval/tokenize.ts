// Word tokenisation shared by the lexical retrieval pieces (the hashed embedder and BM25).
// Deliberately simple: Unicode NFKC, lowercase, runs of letters/digits; no stemming and no stopword list.

const WORD = /[\p{L}\p{N}]+/gu;

/**
 * Splits `text` into lowercased word tokens: maximal runs of Unicode letters and digits after NFKC
 * normalisation ("Évan O'Neil, 1998" -> ["évan", "o", "neil", "1998"]).
 */
export function wordTokens(text: string): string[] {
  return text.normalize('NFKC').toLowerCase().match(WORD) ?? [];
}
