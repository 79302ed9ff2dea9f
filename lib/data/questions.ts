// Question files for rollouts and evaluation: JSONL, one question per line, in the FlashRAG / Search-R1 field
// names (`question`, `golden_answers`) or the short ones (`golds`, `answers`). Parquet readers come later.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

import { RexragError } from '../errors.js';
import type { RolloutQuestion } from '../rollout/rollout-types.js';

function goldList(row: Record<string, unknown>): unknown {
  const target = (row.reward_model as { ground_truth?: { target?: unknown } } | undefined)?.ground_truth?.target;
  return row.golden_answers ?? row.golds ?? row.answers ?? target;
}

/**
 * Reads questions from a JSONL file. Ids default to `<file line>`; they must be unique (they are GRPO group ids).
 * A malformed line fails the read with its line number.
 */
export async function readQuestionsJsonl(path: string): Promise<RolloutQuestion[]> {
  const questions: RolloutQuestion[] = [];
  const seen = new Set<string>();
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let lineNumber = 0;
  try {
    for await (const line of lines) {
      lineNumber++;
      if (line.trim() === '') continue;
      const where = `${path}:${lineNumber}`;
      let row: Record<string, unknown>;
      try {
        row = JSON.parse(line) as Record<string, unknown>;
      } catch (error) {
        throw new RexragError(`${where}: not valid JSON (${(error as Error).message})`, 'ERR_INVALID_ARG');
      }
      if (typeof row !== 'object' || row === null || typeof row.question !== 'string' || row.question.trim() === '') {
        throw new RexragError(`${where}: needs a non-empty "question" string`, 'ERR_INVALID_ARG');
      }
      const golds = goldList(row);
      if (!Array.isArray(golds) || golds.length === 0 || !golds.every((g) => typeof g === 'string')) {
        throw new RexragError(`${where}: needs "golden_answers" (or "golds"/"answers"): a non-empty list of strings`, 'ERR_INVALID_ARG');
      }
      const id = row.id === undefined ? String(lineNumber) : String(row.id);
      if (seen.has(id)) throw new RexragError(`${where}: question id "${id}" is not unique`, 'ERR_INVALID_ARG');
      seen.add(id);
      questions.push({ id, question: row.question, golds: golds as string[] });
    }
  } catch (error) {
    if (error instanceof RexragError) throw error;
    throw new RexragError(`cannot read questions from ${path}: ${(error as Error).message}`, 'ERR_IO', { cause: error });
  }
  if (questions.length === 0) throw new RexragError(`${path} holds no questions`, 'ERR_INVALID_ARG');
  return questions;
}
