// The Search-R1 user prompt (template 'base' of scripts/data_process/nq_search.py in PeterGriffinJin/Search-R1,
// repeated by its qa_search_*_merge.py scripts) and its question preprocessing. Rendering the chat template is
// the tokenizer's job.
import type { ChatMessage } from '../tokenizer/types.js';
import { expectString } from '../validate.js';

// The instruction text is data: it must match the original byte for byte (checked by a test). The original is
// one Python string built from backslash-continued lines, so there are no newlines inside it.
const INSTRUCTION =
  'Answer the given question. ' +
  'You must conduct reasoning inside <think> and </think> first every time you get new information. ' +
  'After reasoning, if you find you lack some knowledge, you can call a search engine by <search> query </search> ' +
  'and it will return the top searched results between <information> and </information>. ' +
  'You can search as many times as your want. ' +
  'If you find no further external knowledge needed, you can directly provide the answer inside <answer> and ' +
  '</answer>, without detailed illustrations. For example, <answer> Beijing </answer>. ';

/** Search-R1's question preprocessing: strip surrounding whitespace, then append '?' unless it ends with one. */
export function preprocessQuestion(question: string): string {
  const stripped = expectString(question, 'question').trim();
  if (stripped.length === 0) throw new RangeError('question must not be empty or only whitespace');
  return stripped.endsWith('?') ? stripped : `${stripped}?`;
}

/** The user message text: the instruction, then `Question: {question}` and a newline (question preprocessed). */
export function searchR1Prompt(question: string): string {
  return `${INSTRUCTION}Question: ${preprocessQuestion(question)}\n`;
}

/**
 * How a question becomes the user message: 'search-r1' (the default, for real models) prepends Search-R1's
 * instruction; 'compact' is the preprocessed question alone, for small models trained on the protocol (the lab).
 */
export type PromptTemplate = 'search-r1' | 'compact';

/** The prompt templates, for validation and usage texts. */
export const PROMPT_TEMPLATES: readonly PromptTemplate[] = ['search-r1', 'compact'];

/** The conversation for a question: one user message, as Search-R1's parquet `prompt` column holds it by default. */
export function buildPromptMessages(question: string, template: PromptTemplate = 'search-r1'): ChatMessage[] {
  if (template === 'search-r1') return [{ role: 'user', content: searchR1Prompt(question) }];
  if (template === 'compact') return [{ role: 'user', content: preprocessQuestion(question) }];
  throw new RangeError(`prompt template must be one of ${PROMPT_TEMPLATES.join(', ')}, got ${JSON.stringify(template)}`);
}
