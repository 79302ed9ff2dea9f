// Outcome rewards for open-domain QA, as Search-R1's qa_em.py: SQuAD answer normalisation, exact match,
// substring match and token F1 against a list of gold answers, on the last <answer> block of a response.
// Where the reward lands in the token sequence (the last response token) is the trainer's business.
import { describe, expectArray, expectObject, expectString } from '../validate.js';

export type AnswerMetric = 'em' | 'f1' | 'subem';

// Python's string.punctuation.
const PUNCTUATION = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');
// Python 3's \b in a str pattern is Unicode-aware (word chars: letters, digits, underscore); JS's \b is ASCII-only,
// so the word boundaries are spelled out with Unicode classes.
const ARTICLES = /(?<![\p{L}\p{N}_])(?:a|an|the)(?![\p{L}\p{N}_])/gu;
// Python's str.split() with no argument also splits on \x1c-\x1f, which JS's \s does not include.
const WHITESPACE = /[\s\x1c-\x1f]+/u;

/**
 * SQuAD answer normalisation (Search-R1 `qa_em.normalize_answer`): lowercase, drop every string.punctuation
 * character, replace the whole words a/an/the with a space, then collapse whitespace runs to one space and trim.
 */
export function normalizeAnswer(text: string): string {
  expectString(text, 'text');
  const lowered = text.toLowerCase();
  let withoutPunctuation = '';
  for (const ch of lowered) if (!PUNCTUATION.has(ch)) withoutPunctuation += ch;
  return splitWords(withoutPunctuation.replace(ARTICLES, ' ')).join(' ');
}

/** 1 when the normalised prediction equals any normalised gold answer, else 0 (Search-R1 `em_check`). */
export function exactMatch(prediction: string, golds: readonly string[]): number {
  const normalized = normalizeAnswer(expectString(prediction, 'prediction'));
  return checkGolds(golds).some((gold) => normalizeAnswer(gold) === normalized) ? 1 : 0;
}

/**
 * 1 when any normalised gold answer is a substring of the normalised prediction, else 0 (Search-R1
 * `subem_check`; as there, a gold answer that normalises to the empty string matches everything).
 */
export function substringExactMatch(prediction: string, golds: readonly string[]): number {
  const normalized = normalizeAnswer(expectString(prediction, 'prediction'));
  return checkGolds(golds).some((gold) => normalized.includes(normalizeAnswer(gold))) ? 1 : 0;
}

/**
 * SQuAD token F1, the maximum over gold answers. Tokens are the whitespace-separated words of the normalised
 * strings; the overlap counts each common word min(count in prediction, count in gold) times.
 * F1 = 2PR/(P+R) with P = overlap/|prediction|, R = overlap/|gold|. When either side has no tokens, F1 is 1 if
 * both are empty and 0 otherwise (the SQuAD 2.0 evaluator's rule).
 */
export function tokenF1(prediction: string, golds: readonly string[]): number {
  const predicted = splitWords(normalizeAnswer(expectString(prediction, 'prediction')));
  let best = 0;
  for (const gold of checkGolds(golds)) {
    const expected = splitWords(normalizeAnswer(gold));
    if (predicted.length === 0 || expected.length === 0) {
      best = Math.max(best, predicted.length === expected.length ? 1 : 0);
      continue;
    }
    const counts = new Map<string, number>();
    for (const word of expected) counts.set(word, (counts.get(word) ?? 0) + 1);
    let overlap = 0;
    for (const word of predicted) {
      const left = counts.get(word) ?? 0;
      if (left > 0) {
        overlap++;
        counts.set(word, left - 1);
      }
    }
    if (overlap === 0) continue;
    const precision = overlap / predicted.length;
    const recall = overlap / expected.length;
    best = Math.max(best, (2 * precision * recall) / (precision + recall));
  }
  return best;
}

/**
 * The content of the LAST `<answer>…</answer>` block in a response (dot matches newlines, non-greedy), trimmed;
 * null when there is none.
 *
 * Difference from Search-R1's `extract_solution`: that scores decode(prompt + response) and requires at least two
 * matches, because the prompt's own example `<answer> Beijing </answer>` is always the first. rexrag scores the
 * response text only, where the example is absent, so one match is enough.
 */
export function extractAnswer(responseText: string): string | null {
  expectString(responseText, 'responseText');
  let last: string | null = null;
  for (const match of responseText.matchAll(/<answer>([\s\S]*?)<\/answer>/g)) last = match[1]!;
  return last === null ? null : last.trim();
}

/**
 * The reward of a response in [0, 1]: the chosen metric (default 'em') of its last answer against the gold
 * answers; 0 when the response has no complete answer block.
 */
export function scoreAnswer(
  responseText: string,
  golds: readonly string[],
  options: { metric?: AnswerMetric } = {},
): number {
  expectObject(options, 'options');
  const metric = options.metric ?? 'em';
  if (metric !== 'em' && metric !== 'f1' && metric !== 'subem') {
    throw new RangeError(`options.metric must be "em", "f1" or "subem", got ${describe(metric)}`);
  }
  checkGolds(golds);
  const answer = extractAnswer(responseText);
  if (answer === null) return 0;
  if (metric === 'em') return exactMatch(answer, golds);
  if (metric === 'subem') return substringExactMatch(answer, golds);
  return tokenF1(answer, golds);
}

function splitWords(text: string): string[] {
  return text.split(WHITESPACE).filter((word) => word.length > 0);
}

function checkGolds(golds: readonly string[]): readonly string[] {
  expectArray(golds, 'golds').forEach((gold, i) => expectString(gold, `golds[${i}]`));
  return golds;
}
