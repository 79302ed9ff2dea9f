// Generated corpora for the retrieval tests: seeded random words, titles and passages in the Search-R1 JSONL
// layout, written to a fresh temporary folder. Nothing is downloaded.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { mulberry32 } from '../../lib/util/random.js';
import type { CorpusDocument } from '../../lib/retrieval/types.js';

/** A seeded PRNG giving floats in [0, 1) (the library's mulberry32). */
export function seededRandom(seed: number): () => number {
  return mulberry32(seed);
}

const SYLLABLES = ['ka', 'lo', 'mi', 'ren', 'tu', 'sa', 'vel', 'no', 'pri', 'da', 'gor', 'shi', 'ta', 'bel', 'qua', 'zo', 'fen', 'ri', 'mor', 'lin'];

/** `size` distinct pseudo-words made of 2–4 syllables. */
export function vocabulary(size: number, random: () => number): string[] {
  const words = new Set<string>();
  while (words.size < size) {
    const length = 2 + Math.floor(random() * 3);
    let word = '';
    for (let i = 0; i < length; i++) word += SYLLABLES[Math.floor(random() * SYLLABLES.length)];
    words.add(word);
  }
  return [...words];
}

export interface GeneratedCorpus {
  rows: CorpusDocument[];
  words: string[];
}

/** `count` rows `{id, contents: "\"Title\"\ntext"}` with 2-word titles and `wordsPerPassage`-word texts. */
export function generateCorpus(count: number, options: { seed?: number; vocabularySize?: number; wordsPerPassage?: number } = {}): GeneratedCorpus {
  const random = seededRandom(options.seed ?? 1);
  const words = vocabulary(options.vocabularySize ?? 2000, random);
  const pick = () => words[Math.floor(random() * words.length)]!;
  const rows: CorpusDocument[] = [];
  for (let i = 0; i < count; i++) {
    const title = `${pick()} ${pick()}`;
    const text = Array.from({ length: options.wordsPerPassage ?? 30 }, pick).join(' ');
    rows.push({ id: `doc-${i}`, contents: `"${title}"\n${text}` });
  }
  return { rows, words };
}

const created: string[] = [];

/** A fresh temporary folder, removed by `removeTemporaryFolders()`. */
export async function temporaryFolder(prefix = 'rexrag-retrieval-'): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), prefix));
  created.push(folder);
  return folder;
}

/** Removes every folder `temporaryFolder()` made in this process (call it from `test.after.always`). */
export async function removeTemporaryFolders(): Promise<void> {
  await Promise.all(created.splice(0).map((folder) => rm(folder, { recursive: true, force: true })));
}

/** Writes `lines` (objects are JSON-encoded, strings written as they are) as a JSONL file; returns its path. */
export async function writeJsonl(folder: string, name: string, lines: ReadonlyArray<unknown>): Promise<string> {
  const path = join(folder, name);
  await writeFile(path, lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n') + '\n');
  return path;
}
