// Question files for training, rollouts and evaluation: Search-R1's parquet files (`id`, `question`,
// `golden_answers`, `data_source`, `reward_model.ground_truth.target`, ...) or JSONL with the same field names
// (or the short `golds`/`answers`). Decoding parquet is parquet-reader.ts; this file turns rows into questions.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

import { RexragError } from '../errors.js';
import type { RolloutQuestion } from '../rollout/rollout-types.js';
import { readParquetRows } from './parquet-reader.js';

/** The columns a question needs; the rest (prompt, ability, extra_info) is not decoded. */
export const QUESTION_COLUMNS = ['id', 'question', 'golden_answers', 'golds', 'answers', 'data_source', 'reward_model'] as const;

/** True when `path` names a parquet file (by its extension). */
export function isParquetPath(path: string): boolean {
  return /\.parquet$/i.test(path);
}

/** A raw question row and where it came from, before ids are made unique. */
interface QuestionRow {
  where: string;
  id: string;
  question: RolloutQuestion;
}

/**
 * Reads a question file, parquet (by the `.parquet` extension, streamed one row group at a time) or JSONL.
 * Every question keeps its `data_source` as `dataSource` (when the row has one). Ids default to the JSONL line
 * number or the parquet row index; an id used under two data sources is re-keyed `data_source:id` on every row
 * that has it; an id repeated within one source is an error naming both rows.
 */
export async function readQuestions(path: string): Promise<RolloutQuestion[]> {
  const rows: QuestionRow[] = [];
  if (isParquetPath(path)) {
    for await (const { row, index } of readParquetRows(path, { columns: QUESTION_COLUMNS })) {
      rows.push(toQuestionRow(row, `${path} row ${index}`, String(index)));
    }
  } else {
    rows.push(...await readJsonlRows(path));
  }
  if (rows.length === 0) throw new RexragError(`${path} holds no questions`, 'ERR_INVALID_ARG');
  return uniqueIds(rows);
}

/** Reads questions from a JSONL file (see readQuestions); kept for callers that name the format. */
export async function readQuestionsJsonl(path: string): Promise<RolloutQuestion[]> {
  const rows = await readJsonlRows(path);
  if (rows.length === 0) throw new RexragError(`${path} holds no questions`, 'ERR_INVALID_ARG');
  return uniqueIds(rows);
}

async function readJsonlRows(path: string): Promise<QuestionRow[]> {
  const rows: QuestionRow[] = [];
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let lineNumber = 0;
  try {
    for await (const line of lines) {
      lineNumber++;
      if (line.trim() === '') continue;
      const where = `${path}:${lineNumber}`;
      let row: unknown;
      try {
        row = JSON.parse(line);
      } catch (error) {
        throw new RexragError(`${where}: not valid JSON (${(error as Error).message})`, 'ERR_INVALID_ARG');
      }
      if (typeof row !== 'object' || row === null || Array.isArray(row)) throw new RexragError(`${where}: a line must be a JSON object`, 'ERR_INVALID_ARG');
      rows.push(toQuestionRow(row as Record<string, unknown>, where, String(lineNumber)));
    }
  } catch (error) {
    if (error instanceof RexragError) throw error;
    throw new RexragError(`cannot read questions from ${path}: ${(error as Error).message}`, 'ERR_IO', { cause: error });
  }
  return rows;
}

/** Checks one row and builds its question; errors name the row and the column. */
function toQuestionRow(row: Record<string, unknown>, where: string, defaultId: string): QuestionRow {
  if (typeof row.question !== 'string' || row.question.trim() === '') {
    throw new RexragError(`${where}, column "question": needs a non-empty string, got ${describe(row.question)}`, 'ERR_INVALID_ARG');
  }
  const golds = goldAnswers(row, where);
  let dataSource: string | undefined;
  if (row.data_source !== undefined && row.data_source !== null) {
    if (typeof row.data_source !== 'string' || row.data_source === '') {
      throw new RexragError(`${where}, column "data_source": needs a non-empty string, got ${describe(row.data_source)}`, 'ERR_INVALID_ARG');
    }
    dataSource = row.data_source;
  }
  let id = defaultId;
  if (row.id !== undefined && row.id !== null) {
    if ((typeof row.id !== 'string' && typeof row.id !== 'number') || row.id === '') {
      throw new RexragError(`${where}, column "id": needs a non-empty string or a number, got ${describe(row.id)}`, 'ERR_INVALID_ARG');
    }
    id = String(row.id);
  }
  return { where, id, question: { id, question: row.question, golds, ...(dataSource !== undefined ? { dataSource } : {}) } };
}

/** `golden_answers` (or `golds` / `answers`), else `reward_model.ground_truth.target`: a non-empty string list. */
function goldAnswers(row: Record<string, unknown>, where: string): string[] {
  const named = (['golden_answers', 'golds', 'answers'] as const).find((name) => row[name] !== undefined && row[name] !== null);
  const target = (row.reward_model as { ground_truth?: { target?: unknown } } | null | undefined)?.ground_truth?.target;
  const candidates: [string, unknown][] = [];
  if (named) candidates.push([named, row[named]]);
  if (target !== undefined && target !== null) candidates.push(['reward_model.ground_truth.target', target]);
  if (candidates.length === 0) {
    throw new RexragError(`${where}: needs "golden_answers" (or "golds"/"answers", or reward_model.ground_truth.target): a non-empty list of strings`, 'ERR_INVALID_ARG');
  }
  for (const [, value] of candidates) {
    if (isStringList(value)) return value;
  }
  const [column, value] = candidates[0]!;
  throw new RexragError(`${where}, column "${column}": needs a non-empty list of strings, got ${describe(value)}`, 'ERR_INVALID_ARG');
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string');
}

/**
 * Makes ids unique: an id shared by rows of different data sources becomes `data_source:id` on each of them;
 * a clash that remains (same source, or rows without a source) is an error naming both rows.
 */
function uniqueIds(rows: QuestionRow[]): RolloutQuestion[] {
  const sourcesById = new Map<string, Set<string | undefined>>();
  for (const { id, question } of rows) {
    const sources = sourcesById.get(id) ?? new Set();
    sources.add(question.dataSource);
    sourcesById.set(id, sources);
  }
  const seen = new Map<string, string>();
  return rows.map(({ id, question, where }) => {
    const key = sourcesById.get(id)!.size > 1 && question.dataSource !== undefined ? `${question.dataSource}:${id}` : id;
    const first = seen.get(key);
    if (first !== undefined) throw new RexragError(`${where}: question id "${key}" is not unique (first used at ${first})`, 'ERR_INVALID_ARG');
    seen.set(key, where);
    return key === id ? question : { ...question, id: key };
  });
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text === undefined ? typeof value : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
