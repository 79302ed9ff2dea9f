// The checkpoint of an unfinished index build (build-state.json in the output folder), rewritten atomically
// after every completed chunk so a killed build can resume from the last one. The build loop is build.ts.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { z } from 'zod';

import { RexragError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { embedderSpecSchema, hnswParamsSchema } from './manifest.js';

export const BUILD_STATE_FILE = 'build-state.json';

const buildStateSchema = z.object({
  format: z.literal('rexrag-build-state'),
  version: z.literal(1),
  /** What is being built: a resume must ask for exactly the same. */
  corpus: z.object({ path: z.string(), bytes: z.number().int().min(0), mtimeMs: z.number() }).strict(),
  embedder: embedderSpecSchema,
  chunkSize: z.number().int().min(1),
  onMalformed: z.enum(['skip', 'fail']),
  ann: z.enum(['hnsw', 'flat']),
  hnsw: hnswParamsSchema,
  /** Dense indexes: the number of passage-range shards (absent: one). */
  shards: z.number().int().min(1).optional(),
  /** How far it got: chunks done, the last corpus line they cover, and the data file sizes after them. */
  chunks: z.number().int().min(0),
  lastLine: z.number().int().min(0),
  skippedLines: z.number().int().min(0),
  documents: z.number().int().min(0),
  documentsBytes: z.number().int().min(0),
  vectorsBytes: z.number().int().min(0),
  /** 'ingest' while reading the corpus; 'graph' once every chunk is stored and only the HNSW graph is left. */
  phase: z.enum(['ingest', 'graph']),
}).strict();

export type BuildState = z.infer<typeof buildStateSchema>;

/** Writes the build state atomically. */
export async function writeBuildState(folder: string, state: BuildState): Promise<void> {
  await writeFileAtomic(join(folder, BUILD_STATE_FILE), `${JSON.stringify(buildStateSchema.parse(state))}\n`);
}

/** Reads the build state of `folder`; undefined when there is none; a damaged one is an ERR_IO error. */
export async function readBuildState(folder: string): Promise<BuildState | undefined> {
  let text: string;
  try {
    text = await readFile(join(folder, BUILD_STATE_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new RexragError(`cannot read ${join(folder, BUILD_STATE_FILE)}: ${(error as Error).message}`, 'ERR_IO', { cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const parsed = buildStateSchema.safeParse(value);
  if (!parsed.success) {
    throw new RexragError(`${join(folder, BUILD_STATE_FILE)} is damaged; rebuild with --restart`, 'ERR_IO');
  }
  return parsed.data;
}
