// Writes the lab world to a folder in the formats the rest of rexrag reads: corpus.jsonl (Search-R1 corpus rows),
// train/dev/test.jsonl (FlashRAG question rows with data_source) and world.json. Indexing is lib/retrieval's job.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { RexragError } from '../errors.js';
import { labCorpus, labQuestions, LAB_SPLITS, type LabQuestion, type LabSplit, type LabWorld } from './lab-world.js';
import { makeFolder } from '../util/make-folder.js';

export interface LabWorldFiles {
  corpus: string;
  world: string;
  questions: Record<LabSplit, string>;
  documents: number;
}

const jsonl = (rows: readonly object[]) => rows.map((row) => `${JSON.stringify(row)}\n`).join('');

/** One question row: FlashRAG's `question` / `golden_answers` plus the lab's fields. */
function row(q: LabQuestion): Record<string, unknown> {
  return { id: q.id, question: q.question, golden_answers: q.golds, data_source: q.data_source, hops: q.hops, chain: q.chain };
}

/** Writes the world's files into `dir` (created when missing); the same world gives byte-identical files. */
export async function writeLabWorldFiles(dir: string, world: LabWorld, questions = labQuestions(world)): Promise<LabWorldFiles> {
  const corpus = labCorpus(world);
  const files: LabWorldFiles = {
    corpus: join(dir, 'corpus.jsonl'),
    world: join(dir, 'world.json'),
    questions: { train: join(dir, 'train.jsonl'), dev: join(dir, 'dev.jsonl'), test: join(dir, 'test.jsonl') },
    documents: corpus.length,
  };
  try {
    await makeFolder(dir);
    await writeFile(files.corpus, jsonl(corpus));
    await writeFile(files.world, `${JSON.stringify(world, null, 2)}\n`);
    for (const split of LAB_SPLITS) await writeFile(files.questions[split], jsonl(questions[split].map(row)));
  } catch (error) {
    throw new RexragError(`cannot write the lab world in ${dir}: ${(error as Error).message}`, 'ERR_IO', { cause: error });
  }
  return files;
}
