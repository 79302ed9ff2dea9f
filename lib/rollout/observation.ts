// The text the environment appends after a turn: retrieved documents in Search-R1's format
// (generation.py::_passages2string, wrapped in <information>), or the invalid-action notice.
// Tokenising and capping the observation is the rollout loop's job.
import type { SearchHit } from '../retrieval/types.js';
import { describe, expectArray, expectObject } from '../validate.js';

export type InvalidNoticeStyle = 'rex' | 'search-r1';

/** REX-RAG's notice (thinking_prompts.py `action_invalid_prompt`). */
export const REX_INVALID_NOTICE = '\nMy action is invalid. ';

/** Search-R1's notice (generation.py::execute_predictions), one string without inner newlines. */
export const SEARCH_R1_INVALID_NOTICE =
  '\nMy previous action is invalid. ' +
  'If I want to search, I should put the query between <search> and </search>. ' +
  'If I want to give the final answer, I should put the answer between <answer> and </answer>. Let me try again.\n';

/**
 * The documents of one search as Search-R1 shows them: for hit i (1-based), the title is the first line of
 * `document.contents` (wiki-18 keeps its quotes) and the text is the remaining lines joined by '\n';
 * each entry is `Doc {i}(Title: {title}) {text}\n` (no space before '('); the concatenation is trimmed.
 */
export function formatDocuments(hits: readonly SearchHit[]): string {
  expectArray(hits, 'hits');
  let formatted = '';
  hits.forEach((hit, i) => {
    const document = expectObject(expectObject(hit, `hits[${i}]`).document, `hits[${i}].document`);
    const contents = document.contents;
    if (typeof contents !== 'string') {
      throw new TypeError(`hits[${i}].document.contents must be a string, got ${describe(contents)}`);
    }
    const [title, ...lines] = contents.split('\n');
    formatted += `Doc ${i + 1}(Title: ${title}) ${lines.join('\n')}\n`;
  });
  return formatted.trim();
}

/** The observation appended after a search: `\n\n<information>{formatDocuments(hits)}</information>\n\n`. */
export function informationObservation(hits: readonly SearchHit[]): string {
  return `\n\n<information>${formatDocuments(hits)}</information>\n\n`;
}

/** The notice appended after a turn without a valid action; 'rex' (default) or Search-R1's longer text. */
export function invalidActionNotice(style: InvalidNoticeStyle = 'rex'): string {
  if (style === 'rex') return REX_INVALID_NOTICE;
  if (style === 'search-r1') return SEARCH_R1_INVALID_NOTICE;
  throw new RangeError(`style must be "rex" or "search-r1", got ${describe(style)}`);
}
