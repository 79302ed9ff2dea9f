// The document store persisted next to an index: rows in `documents.jsonl` (one JSON object per line, in index
// order) plus `offsets.bin`, N+1 little-endian uint64 byte offsets (offsets[i]..offsets[i+1] is row i, newline
// included), so a hit's row is read by random access without loading the corpus. Searching is left to others.
import { open, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

import { RexragError } from '../errors.js';
import { expectInteger, expectString } from '../validate.js';
import type { CorpusDocument } from './types.js';

export const DOCUMENTS_FILE = 'documents.jsonl';
export const OFFSETS_FILE = 'offsets.bin';
const OFFSET_BYTES = 8;

/** How far a store was written: `documents` rows occupying `documentsBytes` bytes of documents.jsonl. */
export interface StoreCheckpoint {
  documents: number;
  documentsBytes: number;
}

/** Appends rows to a store folder; `checkpoint()` says how far it got, `sync()` makes that durable. */
export class DocumentStoreWriter {
  private constructor(
    private readonly documentsHandle: FileHandle,
    private readonly offsetsHandle: FileHandle,
    private documents: number,
    private documentsBytes: number,
  ) {}

  /**
   * Opens the store files in `folder` for appending. Without `resumeFrom` they are emptied; with it they are
   * truncated back to that checkpoint (dropping anything a crashed build wrote after it). A store shorter
   * than the checkpoint is an ERR_IO error (the folder is not the one the checkpoint describes).
   */
  static async open(folder: string, resumeFrom?: StoreCheckpoint): Promise<DocumentStoreWriter> {
    expectString(folder, 'folder', { nonEmpty: true });
    const documentsPath = join(folder, DOCUMENTS_FILE);
    const offsetsPath = join(folder, OFFSETS_FILE);
    if (resumeFrom) {
      const needOffsets = (resumeFrom.documents + 1) * OFFSET_BYTES;
      const [docsSize, offsetsSize] = [await sizeOf(documentsPath), await sizeOf(offsetsPath)];
      if (docsSize < resumeFrom.documentsBytes || offsetsSize < needOffsets) {
        throw new RexragError(`cannot resume: ${folder} holds fewer documents than its build state records (${DOCUMENTS_FILE} ${docsSize} bytes, ${OFFSETS_FILE} ${offsetsSize} bytes); rebuild with --restart`, 'ERR_IO');
      }
    }
    const documentsHandle = await open(documentsPath, resumeFrom ? 'r+' : 'w');
    const offsetsHandle = await open(offsetsPath, resumeFrom ? 'r+' : 'w');
    if (resumeFrom) {
      await documentsHandle.truncate(resumeFrom.documentsBytes);
      await offsetsHandle.truncate((resumeFrom.documents + 1) * OFFSET_BYTES);
      return new DocumentStoreWriter(documentsHandle, offsetsHandle, resumeFrom.documents, resumeFrom.documentsBytes);
    }
    await offsetsHandle.write(encodeOffsets([0]), 0, OFFSET_BYTES, 0);
    return new DocumentStoreWriter(documentsHandle, offsetsHandle, 0, 0);
  }

  /** Appends `rows` in order, each serialised as one JSON line. */
  async append(rows: readonly CorpusDocument[]): Promise<void> {
    if (rows.length === 0) return;
    const lines = rows.map((row) => Buffer.from(`${JSON.stringify(row)}\n`, 'utf8'));
    const ends: number[] = [];
    let end = this.documentsBytes;
    for (const line of lines) {
      end += line.length;
      ends.push(end);
    }
    const data = Buffer.concat(lines);
    await writeFully(this.documentsHandle, data, this.documentsBytes);
    await writeFully(this.offsetsHandle, encodeOffsets(ends), (this.documents + 1) * OFFSET_BYTES);
    this.documents += rows.length;
    this.documentsBytes = end;
  }

  /** How far the store has been written. */
  checkpoint(): StoreCheckpoint {
    return { documents: this.documents, documentsBytes: this.documentsBytes };
  }

  /** Flushes both files to disk. */
  async sync(): Promise<void> {
    await this.documentsHandle.sync();
    await this.offsetsHandle.sync();
  }

  async close(): Promise<void> {
    await this.documentsHandle.close();
    await this.offsetsHandle.close();
  }
}

/** Reads rows of a store folder by index, by random access. */
export class DocumentStore {
  private constructor(
    private readonly documentsHandle: FileHandle,
    private readonly offsetsHandle: FileHandle,
    /** Number of rows. */
    readonly size: number,
    private readonly folder: string,
  ) {}

  /**
   * Opens the store in `folder` and checks that its two files agree: offsets.bin holds N+1 entries starting
   * at 0 and ending at documents.jsonl's size, and N equals `expectedDocuments` when given.
   */
  static async open(folder: string, expectedDocuments?: number): Promise<DocumentStore> {
    expectString(folder, 'folder', { nonEmpty: true });
    const documentsPath = join(folder, DOCUMENTS_FILE);
    const offsetsPath = join(folder, OFFSETS_FILE);
    const [docsSize, offsetsSize] = [await sizeOf(documentsPath), await sizeOf(offsetsPath)];
    if (offsetsSize < OFFSET_BYTES || offsetsSize % OFFSET_BYTES !== 0) {
      throw new RexragError(`${offsetsPath} is damaged: ${offsetsSize} bytes is not a whole number of ${OFFSET_BYTES}-byte offsets`, 'ERR_IO');
    }
    const size = offsetsSize / OFFSET_BYTES - 1;
    if (expectedDocuments !== undefined && size !== expectedDocuments) {
      throw new RexragError(`${offsetsPath} lists ${size} documents but the manifest says ${expectedDocuments}`, 'ERR_IO');
    }
    const documentsHandle = await open(documentsPath, 'r');
    const offsetsHandle = await open(offsetsPath, 'r');
    const store = new DocumentStore(documentsHandle, offsetsHandle, size, folder);
    try {
      const [first] = await store.readOffsets(0, 1);
      const [last] = await store.readOffsets(size, 1);
      if (first !== 0 || last !== docsSize) {
        throw new RexragError(`${folder}: ${OFFSETS_FILE} does not match ${DOCUMENTS_FILE} (offsets run ${first}..${last}, the file has ${docsSize} bytes)`, 'ERR_IO');
      }
    } catch (error) {
      await store.close();
      throw error;
    }
    return store;
  }

  /** Row `index` (0-based). */
  async get(index: number): Promise<CorpusDocument> {
    expectInteger(index, 'index', { min: 0, max: this.size - 1 });
    const [start, end] = await this.readOffsets(index, 2) as [number, number];
    const buffer = Buffer.alloc(end - start);
    await readFully(this.documentsHandle, buffer, start);
    try {
      return JSON.parse(buffer.toString('utf8')) as CorpusDocument;
    } catch (error) {
      throw new RexragError(`${join(this.folder, DOCUMENTS_FILE)} is damaged: row ${index} is not valid JSON`, 'ERR_IO', { cause: error });
    }
  }

  /** Rows at `indices`, in the same order (duplicates allowed). */
  getMany(indices: readonly number[]): Promise<CorpusDocument[]> {
    return Promise.all(indices.map((index) => this.get(index)));
  }

  async close(): Promise<void> {
    await this.documentsHandle.close();
    await this.offsetsHandle.close();
  }

  private async readOffsets(first: number, count: number): Promise<number[]> {
    const buffer = Buffer.alloc(count * OFFSET_BYTES);
    await readFully(this.offsetsHandle, buffer, first * OFFSET_BYTES);
    const offsets: number[] = [];
    for (let i = 0; i < count; i++) offsets.push(Number(buffer.readBigUInt64LE(i * OFFSET_BYTES)));
    return offsets;
  }
}

function encodeOffsets(offsets: readonly number[]): Buffer {
  const buffer = Buffer.alloc(offsets.length * OFFSET_BYTES);
  offsets.forEach((offset, i) => buffer.writeBigUInt64LE(BigInt(offset), i * OFFSET_BYTES));
  return buffer;
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    throw new RexragError(`cannot read ${path}: ${(error as Error).message}`, 'ERR_IO', { cause: error });
  }
}

/** Writes all of `data` at `position` (FileHandle.write may write less than asked). */
export async function writeFully(handle: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

/** Fills `buffer` from `position`; a file that ends early is an ERR_IO error. */
export async function readFully(handle: FileHandle, buffer: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < buffer.length) {
    const { bytesRead } = await handle.read(buffer, done, buffer.length - done, position + done);
    if (bytesRead === 0) throw new RexragError(`unexpected end of file at byte ${position + done}`, 'ERR_IO');
    done += bytesRead;
  }
}
