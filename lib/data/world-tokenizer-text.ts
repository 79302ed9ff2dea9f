// The text a world's tiny tokenizer learns its BPE merges from: every corpus page, every question inside the
// Search-R1 prompt and the ChatML frame (special tokens left out: they are added tokens, never merged), and the
// demonstrations' responses. Training the tokenizer is left to lib/tokenizer/tiny-tokenizer.ts.
import { searchR1Prompt } from '../rollout/search-r1-prompt.js';
import { QWEN2_DEFAULT_SYSTEM_MESSAGE } from '../tokenizer/chatml-template.js';
import { expectArray, expectObject } from '../validate.js';
import { demonstrationText, type Demonstration } from './demonstrations.js';
import { worldCorpus } from './world-corpus.js';
import { worldQuestions } from './world-questions.js';
import type { World } from './world-types.js';

/**
 * A merges budget for writeTinyModel with worldTokenizerText: the default world's text supports about 1,300
 * merges that occur at least twice, so 2000 learns all of them (the vocabulary stays under 2,000 ids).
 */
export const WORLD_TOKENIZER_MERGES = 2000;

export interface WorldTokenizerTextOptions {
  /** Questions whose prompts are included; default every question of worldQuestions(world). */
  questions?: readonly { question: string }[];
  /** Demonstrations whose responses (reasoning, searches, observations, answers) are included. */
  demonstrations?: readonly Demonstration[];
}

/**
 * The training text: the corpus pages (`"Title"\ntext`), then for each question the ChatML frame as the chat
 * template renders it minus the special tokens (`system\n{default system message}\nuser\n{Search-R1 prompt}\n
 * assistant\n`), then each demonstration's response text. Frequent words (the instruction, the tags, the names)
 * thus become single tokens, which keeps the lab's sequences short.
 */
export function worldTokenizerText(world: World, options: WorldTokenizerTextOptions = {}): string {
  expectObject(world, 'world');
  expectObject(options, 'options');
  const parts: string[] = worldCorpus(world).map((row) => row.contents);
  let questions = options.questions;
  if (questions === undefined) {
    const splits = worldQuestions(world);
    questions = [...splits.train, ...splits.dev];
  }
  expectArray(questions, 'options.questions').forEach((question, i) => {
    const text = expectObject(question, `options.questions[${i}]`).question;
    if (typeof text !== 'string') throw new TypeError(`options.questions[${i}].question must be a string`);
    parts.push(`system\n${QWEN2_DEFAULT_SYSTEM_MESSAGE}\nuser\n${searchR1Prompt(text)}\nassistant\n`);
  });
  expectArray(options.demonstrations ?? [], 'options.demonstrations').forEach((demonstration) => {
    parts.push(demonstrationText(demonstration as Demonstration));
  });
  return parts.join('\n');
}
