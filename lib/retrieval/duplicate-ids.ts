// Finds corpus ids used by more than one stored passage, in bounded memory: one pass over documents.jsonl keeps
// a 64-bit hash per passage (8 bytes each), sorting finds equal hashes, and a second pass (only when there are
// any) confirms them on the ids themselves. What to do about duplicates is the build's decision.
import { createReadStream } from 'node:fs';
import { join } from 'node:path';

import { RexragError } from '../errors.js';
import { readBoundedLines } from '../util/bounded-lines.js';
import { hashString } from '../util/hash.js';
import { DOCUMENTS_FILE } from './doc-store.js';

/** One id stored more than once, with the 1-based numbers of the passages that carry it. */
export interface DuplicateId {
  id: string;
  passages: number[];
}

export interface DuplicateIdReport {
  /** Passages whose id an earlier passage already has (0 when every id is unique). */
  duplicatePassages: number;
  /** Distinct ids carried by more than one passage. */
  duplicateIds: number;
  /** Up to `maxExamples` duplicated ids, in order of first appearance. */
  examples: DuplicateId[];
}

/** Rows of a document store are written by the build itself; any longer line means the file is damaged. */
const MAX_STORED_ROW_BYTES = 1 << 30;

/** Scans the document store in `folder` (holding `documents` rows) for repeated ids. */
export async function findDuplicateIds(folder: string, documents: number, maxExamples = 10): Promise<DuplicateIdReport> {
  const path = join(folder, DOCUMENTS_FILE);
  const hashes = new BigUint64Array(documents);
  let row = 0;
  for await (const id of storedIds(path)) {
    if (row >= documents) break;
    hashes[row++] = idHash(id);
  }
  const sorted = hashes.slice().sort();
  const repeated = new Set<bigint>();
  for (let i = 1; i < sorted.length; i++) if (sorted[i] === sorted[i - 1]) repeated.add(sorted[i]!);
  if (repeated.size === 0) return { duplicatePassages: 0, duplicateIds: 0, examples: [] };

  // Equal hashes are almost always equal ids; compare the ids themselves to be sure.
  const passagesById = new Map<string, number[]>();
  row = 0;
  for await (const id of storedIds(path)) {
    if (row >= documents) break;
    if (repeated.has(hashes[row]!)) {
      const list = passagesById.get(id) ?? [];
      list.push(row + 1);
      passagesById.set(id, list);
    }
    row++;
  }
  let duplicatePassages = 0;
  let duplicateIds = 0;
  const examples: DuplicateId[] = [];
  for (const [id, passages] of passagesById) {
    if (passages.length < 2) continue;
    duplicatePassages += passages.length - 1;
    duplicateIds++;
    if (examples.length < maxExamples) examples.push({ id, passages });
  }
  return { duplicatePassages, duplicateIds, examples };
}

/** `"a" (passages 1 and 7), "b" (passages 2, 3 and 9)`: the examples for a message. */
export function describeDuplicates(report: DuplicateIdReport): string {
  const list = (numbers: number[]) => (numbers.length === 2 ? numbers.join(' and ') : `${numbers.slice(0, -1).join(', ')} and ${numbers.at(-1)}`);
  const shown = report.examples.map((example) => `${JSON.stringify(example.id)} (passages ${list(example.passages)})`).join(', ');
  const plural = report.duplicatePassages === 1 ? 'passage repeats' : 'passages repeat';
  return `${report.duplicatePassages} ${plural} an earlier id: ${shown}${report.examples.length < report.duplicateIds ? ', ...' : ''}`;
}

/** 64 bits from two seeded 32-bit hashes of the id. */
function idHash(id: string): bigint {
  return (BigInt(hashString(id, 0x9e3779b9)) << 32n) | BigInt(hashString(id, 0x85ebca6b));
}

/** The `id` of every row of documents.jsonl, in order; reads the id without parsing the row when it comes first. */
async function* storedIds(path: string): AsyncGenerator<string> {
  const stream = createReadStream(path);
  try {
    for await (const { number, text } of readBoundedLines(stream, MAX_STORED_ROW_BYTES)) {
      if (text === undefined || text === '') continue;
      const leading = /^\{"id":("(?:[^"\\]|\\.)*")/.exec(text);
      let id: string;
      try {
        id = leading ? JSON.parse(leading[1]!) as string : String((JSON.parse(text) as { id: unknown }).id);
      } catch (error) {
        throw new RexragError(`${path} is damaged: row ${number} is not valid JSON`, 'ERR_IO', { cause: error });
      }
      yield id;
    }
  } finally {
    stream.destroy();
  }
}
