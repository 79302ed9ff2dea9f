// Resumable evaluation: greedy rollouts (evaluate.ts) over the questions in batches, each question's result
// appended to a JSONL file as its batch finishes, so a rerun after an interruption skips what is already there
// and counts every question once. Grouping into the per-source table is by-source.ts.
import { appendFile, readFile, truncate } from 'node:fs/promises';

import type { RlConfig } from '../config/rl-config.js';
import { RexragError } from '../errors.js';
import type { Policy } from '../model/policy.js';
import type { Retriever } from '../retrieval/types.js';
import type { RolloutQuestion } from '../rollout/rollout-types.js';
import { aggregateBySource, scoreTrajectories, sourceOf, type QuestionScore, type SourceTable } from './by-source.js';
import { evaluate } from './evaluate.js';

/** Progress after each batch: questions done (resumed ones included), and the time estimate for the rest. */
export interface EvalProgress {
  label: string;
  done: number;
  total: number;
  resumed: number;
  elapsedSeconds: number;
  etaSeconds: number;
}

export interface ResumableEvalOptions {
  policy: Policy;
  retriever: Retriever;
  questions: RolloutQuestion[];
  rollout: RlConfig['rollout'];
  /** Which model the results belong to (a model folder or a checkpoint step); results of other labels are kept apart. */
  label: string;
  /** JSONL file that receives one line per question; read first to skip questions already evaluated. */
  resultsFile?: string;
  /** Settings recorded in the results file; a file made with other settings is refused. */
  settings?: Record<string, unknown>;
  /** Questions per rollout call (and per append). Default 32. */
  batchSize?: number;
  onProgress?: (progress: EvalProgress) => void;
}

/** One line of the results file. */
interface ResultLine extends QuestionScore {
  label: string;
  answer: string | null;
  finishReason: string;
  searches: number;
}

/**
 * Evaluates `questions` (skipping those the results file already holds for `label`) and returns the per-source
 * table over all of them, with how many were taken from the file.
 */
export async function evaluateResumable(options: ResumableEvalOptions): Promise<{ table: SourceTable; scores: QuestionScore[]; resumed: number }> {
  const { questions, label, resultsFile } = options;
  const batchSize = options.batchSize ?? 32;
  const done = resultsFile ? await readResults(resultsFile, label, options.settings) : new Map<string, QuestionScore>();
  const wanted = new Set(questions.map((q) => String(q.id)));
  const resumed = [...done.keys()].filter((id) => wanted.has(id)).length;
  const pending = questions.filter((q) => !done.has(String(q.id)));
  const started = performance.now();
  let finished = 0;
  for (let first = 0; first < pending.length; first += batchSize) {
    const batch = pending.slice(first, first + batchSize);
    const { trajectories } = await evaluate({ policy: options.policy, retriever: options.retriever, questions: batch, rollout: options.rollout });
    const originals = trajectories.filter((t) => !t.isProbe);
    const scores = scoreTrajectories(originals);
    const lines: ResultLine[] = scores.map((score, i) => {
      const t = originals[i]!;
      return { label, ...score, answer: t.answer, finishReason: t.finishReason, searches: t.searches.length };
    });
    if (resultsFile) await appendFile(resultsFile, lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
    for (const score of scores) done.set(score.id, score);
    finished += batch.length;
    const elapsedSeconds = (performance.now() - started) / 1000;
    options.onProgress?.({
      label, done: resumed + finished, total: questions.length, resumed, elapsedSeconds,
      etaSeconds: (elapsedSeconds / finished) * (pending.length - finished),
    });
  }
  const scores = questions.map((q) => done.get(String(q.id))!).map((score, i) => ({ ...score, dataSource: sourceOf(questions[i]!) }));
  return { table: aggregateBySource(scores), scores, resumed };
}

/**
 * Reads the scores of `label` from a results file (missing file: none). The first line records the settings;
 * a different setting is an error. An unterminated last line (torn by a crash mid-write) is cut off the file and
 * its question evaluated again; any other bad line is an error.
 */
async function readResults(path: string, label: string, settings: Record<string, unknown> | undefined): Promise<Map<string, QuestionScore>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new RexragError(`cannot read ${path}: ${(error as Error).message}`, 'ERR_IO', { cause: error });
    text = '';
  }
  const wantedSettings = JSON.stringify(settings ?? {});
  if (text === '') {
    await appendFile(path, `${JSON.stringify({ settings: settings ?? {} })}\n`);
    return new Map();
  }
  const lines = text.split('\n');
  const torn = lines.pop()!; // '' when the file ends with a newline
  if (torn !== '') await truncate(path, Buffer.byteLength(text) - Buffer.byteLength(torn));
  if (lines.every((line) => line.trim() === '')) {
    await appendFile(path, `${JSON.stringify({ settings: settings ?? {} })}\n`);
    return new Map();
  }
  const scores = new Map<string, QuestionScore>();
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.trim() === '') continue;
    let line: Partial<ResultLine> & { settings?: unknown };
    try {
      line = JSON.parse(raw) as typeof line;
    } catch {
      throw new RexragError(`${path} line ${i + 1}: not valid JSON; move the file away to start the evaluation afresh`, 'ERR_INVALID_ARG');
    }
    if (i === 0) {
      if (JSON.stringify(line.settings) !== wantedSettings) {
        throw new RexragError(`${path} holds results made with other settings (${JSON.stringify(line.settings)}); use another --results file or the same settings`, 'ERR_INVALID_ARG');
      }
      continue;
    }
    if (line.label !== label) continue;
    if (typeof line.id !== 'string' || typeof line.em !== 'number' || typeof line.f1 !== 'number' || typeof line.dataSource !== 'string') {
      throw new RexragError(`${path} line ${i + 1}: not a question result (needs label, id, dataSource, em, f1)`, 'ERR_INVALID_ARG');
    }
    if (!scores.has(line.id)) scores.set(line.id, { id: line.id, dataSource: line.dataSource, em: line.em, f1: line.f1 });
  }
  return scores;
}
