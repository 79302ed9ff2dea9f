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

/** The conversation for a question: one user message, as Search-R1's parquet `prompt` column holds it. */
export function buildPromptMessages(question: string): ChatMessage[] {
  return [{ role: 'user', content: searchR1Prompt(question) }];
}
