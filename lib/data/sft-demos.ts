// The demonstration file `rexrag sft` trains on (demos.jsonl: one trajectory a line, a question and its
// response segments), reading it, and turning a demonstration into token ids and a loss mask as a rollout holds
// them. The training loop is lib/train/sft.ts's job.
import { readFile } from 'node:fs/promises';

import { RexragError } from '../errors.js';
import { buildPromptMessages, type PromptTemplate } from '../rollout/search-r1-prompt.js';
import type { TextTokenizer } from '../tokenizer/types.js';

export interface SftSegment {
  /** 'model': text the policy writes (trained on); 'information': what the environment appended (not trained on). */
  kind: 'model' | 'information';
  text: string;
}

/** One line of demos.jsonl. Other fields (golds, data_source, ...) are kept but not used for training. */
export interface SftDemo {
  question: string;
  segments: SftSegment[];
  [field: string]: unknown;
}

/** Checks one parsed demonstration; `where` names it in errors. */
export function checkSftDemo(value: unknown, where: string): SftDemo {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new RexragError(`${where}: a demonstration must be a JSON object`, 'ERR_INVALID_ARG');
  const demo = value as Record<string, unknown>;
  if (typeof demo.question !== 'string' || demo.question.trim() === '') throw new RexragError(`${where}: needs a non-empty "question" string`, 'ERR_INVALID_ARG');
  if (!Array.isArray(demo.segments) || demo.segments.length === 0) throw new RexragError(`${where}: needs a non-empty "segments" list`, 'ERR_INVALID_ARG');
  demo.segments.forEach((segment, i) => {
    const s = segment as Record<string, unknown> | null;
    if (s === null || typeof s !== 'object' || (s.kind !== 'model' && s.kind !== 'information') || typeof s.text !== 'string') {
      throw new RexragError(`${where}: segments[${i}] must be {"kind": "model" | "information", "text": string}`, 'ERR_INVALID_ARG');
    }
  });
  if (!demo.segments.some((s) => (s as SftSegment).kind === 'model' && (s as SftSegment).text.length > 0)) {
    throw new RexragError(`${where}: has no model text to train on`, 'ERR_INVALID_ARG');
  }
  return demo as SftDemo;
}

/** Reads demos.jsonl (blank lines skipped); a bad line fails with its line number. */
export async function readSftDemos(path: string): Promise<SftDemo[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new RexragError(`cannot read demonstrations ${path}: ${(error as Error).message}`, 'ERR_IO', { cause: error });
  }
  const demos: SftDemo[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new RexragError(`${path}:${i + 1}: not valid JSON (${(error as Error).message})`, 'ERR_INVALID_ARG');
    }
    demos.push(checkSftDemo(value, `${path}:${i + 1}`));
  });
  if (demos.length === 0) throw new RexragError(`${path} holds no demonstrations`, 'ERR_INVALID_ARG');
  return demos;
}

/** Writes demonstrations as JSONL text. */
export function sftDemosJsonl(demos: readonly SftDemo[]): string {
  return demos.map((d) => `${JSON.stringify(d)}\n`).join('');
}

export interface SftSequence {
  ids: number[];
  /** 1 on model tokens, 0 on prompt and information tokens. */
  lossMask: number[];
  promptLength: number;
}

/**
 * Tokenises a demonstration as a rollout would hold it: the chat template over buildPromptMessages(question,
 * template) with the generation prompt, then each segment encoded on its own (never across a boundary).
 */
export function sftSequence(demo: SftDemo, tokenizer: TextTokenizer, template: PromptTemplate): SftSequence {
  const prompt = tokenizer.encode(tokenizer.applyChatTemplate(buildPromptMessages(demo.question, template), { addGenerationPrompt: true }));
  const ids = [...prompt];
  const lossMask = prompt.map(() => 0);
  for (const segment of demo.segments) {
    const part = tokenizer.encode(segment.text);
    ids.push(...part);
    for (let k = 0; k < part.length; k++) lossMask.push(segment.kind === 'model' ? 1 : 0);
  }
  return { ids, lossMask, promptLength: prompt.length };
}
