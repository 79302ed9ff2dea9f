// Writes a synthetic world to a folder in the formats the rest of rexrag reads: corpus.jsonl (Search-R1 corpus
// rows), train.jsonl / dev.jsonl (FlashRAG question rows) and world.json; and reads world.json back. Indexing the
// corpus and reading the questions are left to lib/retrieval and lib/data/questions.ts.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { RexragError } from '../errors.js';
import { expectObject, expectString } from '../validate.js';
import { worldCorpus } from './world-corpus.js';
import { worldQuestions, type WorldQuestion, type WorldQuestionOptions, type WorldQuestionSplits } from './world-questions.js';
import type { World } from './world-types.js';

export interface WorldFiles {
  dir: string;
  /** Absolute or dir-relative paths as joined from `dir`. */
  corpus: string;
  train: string;
  dev: string;
  world: string;
  documents: number;
  trainQuestions: number;
  devQuestions: number;
}

export interface WriteWorldOptions extends WorldQuestionOptions {
  /** Questions to write; default worldQuestions(world, options). */
  questions?: WorldQuestionSplits;
}

/** One question as a JSONL row: the FlashRAG names (`question`, `golden_answers`) plus the world's fields. */
function questionRow(question: WorldQuestion): Record<string, unknown> {
  return {
    id: question.id,
    question: question.question,
    golden_answers: question.golds,
    hops: question.hops,
    type: question.type,
    subject: question.subject,
    chain: question.chain,
    evidence: question.evidence,
    data_source: 'rexrag-world',
  };
}

function jsonl(rows: readonly object[]): string {
  return rows.map((row) => `${JSON.stringify(row)}\n`).join('');
}

/**
 * Writes corpus.jsonl, train.jsonl, dev.jsonl and world.json into `dir` (created when missing). The same world
 * and options give byte-identical files.
 */
export async function writeWorldFiles(dir: string, world: World, options: WriteWorldOptions = {}): Promise<WorldFiles> {
  expectString(dir, 'dir', { nonEmpty: true });
  expectObject(world, 'world');
  expectObject(options, 'options');
  const corpus = worldCorpus(world);
  const questions = options.questions ?? worldQuestions(world, options);
  const files = {
    corpus: join(dir, 'corpus.jsonl'),
    train: join(dir, 'train.jsonl'),
    dev: join(dir, 'dev.jsonl'),
    world: join(dir, 'world.json'),
  };
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(files.corpus, jsonl(corpus));
    await writeFile(files.train, jsonl(questions.train.map(questionRow)));
    await writeFile(files.dev, jsonl(questions.dev.map(questionRow)));
    await writeFile(files.world, `${JSON.stringify(world, null, 2)}\n`);
  } catch (error) {
    throw new RexragError(`cannot write the world files in ${dir}: ${(error as Error).message}`, 'ERR_IO', { cause: error });
  }
  return { dir, ...files, documents: corpus.length, trainQuestions: questions.train.length, devQuestions: questions.dev.length };
}

/** Reads a world.json written by writeWorldFiles (checks its format tag and entity lists). */
export async function readWorld(path: string): Promise<World> {
  expectString(path, 'path', { nonEmpty: true });
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new RexragError(`cannot read the world ${path}: ${(error as Error).message}`, 'ERR_IO', { cause: error });
  }
  const world = value as Partial<World> | null;
  const lists = ['people', 'cities', 'countries', 'rivers', 'languages', 'works'] as const;
  if (world === null || typeof world !== 'object' || world.format !== 'rexrag-world/1' || lists.some((key) => !Array.isArray(world[key]))) {
    throw new RexragError(`${path} is not a rexrag world (format "rexrag-world/1" with ${lists.join(', ')} lists)`, 'ERR_INVALID_ARG');
  }
  return world as World;
}
