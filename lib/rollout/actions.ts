// Parsing a turn's text for the agent's action: the first complete <search>…</search> or <answer>…</answer> block
// (REX-RAG's rule), and the re-check that a stop on a closing tag really closed a block. Executing the action
// is the rollout loop's job.
import { expectString } from '../validate.js';

export type ActionKind = 'search' | 'answer';

export interface ActionBlock {
  action: ActionKind;
  /** The text between the tags, trimmed (the search query or the answer). */
  content: string;
  /** Offsets of the block in the text: `text.slice(start, end)` is `<tag>…</tag>`. */
  start: number;
  end: number;
}

/** The two closing tags a turn stops on. */
export const ACTION_STOP_STRINGS: readonly string[] = ['</search>', '</answer>'];

/**
 * The first complete action block, as `re.search(r'<(search|answer)>(.*?)</\1>', text, re.DOTALL)` in
 * Search-R1 / REX-RAG: the closing tag must match the opening one, the content is the shortest possible and
 * stripped. null when the text has none.
 */
export function findFirstActionBlock(text: string): ActionBlock | null {
  expectString(text, 'text');
  const match = /<(search|answer)>([\s\S]*?)<\/\1>/.exec(text);
  if (!match) return null;
  return {
    action: match[1] as ActionKind,
    content: match[2]!.trim(),
    start: match.index,
    end: match.index + match[0].length,
  };
}

/**
 * REX-RAG's `_postprocess_responses`: keep the text up to the end of the first complete action block, or all of
 * it when there is none.
 */
export function truncateAfterFirstAction(text: string): string {
  const block = findFirstActionBlock(text);
  return block === null ? text : text.slice(0, block.end);
}

/**
 * For a turn that stopped on `closingTag` (`</search>` or `</answer>`): whether the matching opening tag occurs
 * before the last occurrence of that closing tag. false means the closing tag is orphaned, and generation should
 * go on (the original code, which has no stop strings, would have kept generating).
 */
export function hasMatchingOpenTag(text: string, closingTag: string): boolean {
  expectString(text, 'text');
  const match = /^<\/(search|answer)>$/.exec(expectString(closingTag, 'closingTag'));
  if (!match) throw new RangeError(`closingTag must be "</search>" or "</answer>", got ${JSON.stringify(closingTag)}`);
  const close = text.lastIndexOf(closingTag);
  return close >= 0 && text.lastIndexOf(`<${match[1]}>`, close) >= 0;
}
