// Streams a corpus in the Search-R1 / FlashRAG JSONL layout as batches of CorpusDocument, line by line, so a
// corpus larger than memory can be processed in chunks; no line longer than `maxLineBytes` is ever held whole.
// Embedding, storing and indexing are left to others.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';

import { RexragError } from '../errors.js';
import { readBoundedLines } from '../util/bounded-lines.js';
import { expectInteger, expectObject, expectString } from '../validate.js';
import type { CorpusDocument } from './types.js';

/** What to do with a line that is not a valid corpus row. */
export type MalformedPolicy = 'skip' | 'fail';

/** A line that could not be read as a corpus row. `line` is 1-based. */
export interface MalformedLine {
  path: string;
  line: number;
  reason: string;
}

/** A corpus line that is not a valid row, raised when `onMalformed` is 'fail'. */
export class CorpusFormatError extends RexragError {
  readonly path: string;
  readonly line: number;

  constructor(info: MalformedLine) {
    super(`${info.path} line ${info.line}: ${info.reason}`, 'ERR_INVALID_ARG');
    this.name = 'CorpusFormatError';
    this.path = info.path;
    this.line = info.line;
  }
}

/** The longest corpus line read by default: 8 MiB (a Search-R1 passage is under 1 KB; a whole article fits). */
export const DEFAULT_MAX_LINE_BYTES = 8 << 20;

export interface CorpusReadOptions {
  /** A line longer than this many bytes is malformed: it fails the read (naming it) or is skipped, never buffered whole. Default 8 MiB. */
  maxLineBytes?: number;
  /** Documents per batch (default 1024). */
  batchSize?: number;
  /** 'fail' (default) throws a CorpusFormatError at the first bad line; 'skip' drops it and reports it. */
  onMalformed?: MalformedPolicy;
  /** Called for every skipped line when `onMalformed` is 'skip'. */
  onSkip?: (info: MalformedLine) => void;
  /** Lines 1..startAfterLine are passed over unparsed (used to resume a build). Default 0. */
  startAfterLine?: number;
  /** Stops reading (the iterator throws the signal's reason) when aborted. */
  signal?: AbortSignal;
}

/** One batch of valid rows and where reading stands after it. */
export interface CorpusBatch {
  documents: CorpusDocument[];
  /** The number of the last line read (1-based): resuming after it continues exactly after this batch. */
  lastLine: number;
  /** Approximate bytes of the file consumed so far (for progress; counts one byte per line break). */
  bytesRead: number;
  /** Lines skipped as malformed so far in this read (excluding lines before `startAfterLine`). */
  skipped: number;
}

/**
 * Reads `path` line by line with node:readline and yields batches of at most `batchSize` valid rows.
 * Blank lines are ignored. A row is valid when it is a JSON object with an `id` (string, or a finite number,
 * converted to a string) and either a string `contents` or string `title`/`text` fields, from which
 * `contents` is built as Search-R1 lays it out: `"Title"\ntext` (see `contentsFromTitleText`).
 * Every other field passes through unchanged.
 */
export async function* readCorpusBatches(path: string, options: CorpusReadOptions = {}): AsyncGenerator<CorpusBatch> {
  expectString(path, 'path', { nonEmpty: true });
  expectObject(options, 'options');
  const batchSize = options.batchSize === undefined ? 1024 : expectInteger(options.batchSize, 'options.batchSize', { min: 1 });
  const startAfterLine = options.startAfterLine === undefined ? 0 : expectInteger(options.startAfterLine, 'options.startAfterLine', { min: 0 });
  const maxLineBytes = options.maxLineBytes === undefined ? DEFAULT_MAX_LINE_BYTES : expectInteger(options.maxLineBytes, 'options.maxLineBytes', { min: 1 });
  const policy = options.onMalformed ?? 'fail';
  if (policy !== 'skip' && policy !== 'fail') throw new RangeError(`options.onMalformed must be 'skip' or 'fail', got ${String(policy)}`);

  await statCorpus(path);
  const stream = createReadStream(path);
  let lineNumber = 0;
  let bytesRead = 0;
  let skipped = 0;
  let lastYielded = startAfterLine;
  let documents: CorpusDocument[] = [];
  try {
    for await (const { number, text, bytes } of readBoundedLines(stream, maxLineBytes)) {
      lineNumber = number;
      bytesRead += bytes;
      if (lineNumber <= startAfterLine) continue;
      options.signal?.throwIfAborted();
      const line = text !== undefined && lineNumber === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
      if (line !== undefined && line.trim() === '') continue;
      const parsed = line === undefined
        ? `the line is longer than ${maxLineBytes} bytes (${bytes} bytes; --max-line-bytes raises the limit)`
        : parseCorpusLine(line);
      if (typeof parsed === 'string') {
        const info: MalformedLine = { path, line: lineNumber, reason: parsed };
        if (policy === 'fail') throw new CorpusFormatError(info);
        skipped++;
        options.onSkip?.(info);
        continue;
      }
      documents.push(parsed);
      if (documents.length === batchSize) {
        yield { documents, lastLine: lineNumber, bytesRead, skipped };
        lastYielded = lineNumber;
        documents = [];
      }
    }
    // A last, possibly empty batch, so that trailing blank or skipped lines are accounted for too.
    if (documents.length > 0 || lineNumber > lastYielded) {
      yield { documents, lastLine: lineNumber, bytesRead, skipped };
    }
  } finally {
    stream.destroy();
  }
}

/** Size and modification time of a corpus file; a missing or unreadable file is an ERR_IO RexragError. */
export async function statCorpus(path: string): Promise<{ bytes: number; mtimeMs: number }> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new Error('not a regular file');
    return { bytes: info.size, mtimeMs: info.mtimeMs };
  } catch (error) {
    throw new RexragError(`cannot read corpus ${path}: ${(error as Error).message}`, 'ERR_IO', { cause: error });
  }
}

/**
 * Parses one JSONL line into a CorpusDocument, or returns a string saying why it is not one.
 * Accepts `{id, contents, ...}` and `{id, title, text, ...}` (contents built from title and text).
 */
export function parseCorpusLine(line: string): CorpusDocument | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return `invalid JSON (${(error as Error).message})`;
  }
  return toCorpusDocument(value);
}

/** Checks one decoded row; returns the document or a string saying what is wrong with it. */
export function toCorpusDocument(value: unknown): CorpusDocument | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'a row must be a JSON object';
  const row = value as Record<string, unknown>;
  let id: string;
  if (typeof row.id === 'string' && row.id !== '') id = row.id;
  else if (typeof row.id === 'number' && Number.isFinite(row.id)) id = String(row.id);
  else return row.id === undefined ? 'missing "id"' : '"id" must be a non-empty string or a number';
  if (typeof row.contents === 'string') return { ...row, id, contents: row.contents };
  if (row.contents !== undefined) return '"contents" must be a string';
  if (typeof row.title === 'string' && typeof row.text === 'string') {
    return { ...row, id, contents: contentsFromTitleText(row.title, row.text) };
  }
  return 'missing "contents" (or string "title" and "text")';
}

/**
 * Builds Search-R1's `contents` from a title and a text: the title in double quotes on the first line, the
 * text after it (`"Title"\ntext`). A title that is already quoted is not quoted again.
 */
export function contentsFromTitleText(title: string, text: string): string {
  const quoted = title.length >= 2 && title.startsWith('"') && title.endsWith('"') ? title : `"${title}"`;
  return `${quoted}\n${text}`;
}

/**
 * Splits `contents` as Search-R1's `_passages2string` does: the title is the first line, kept verbatim
 * (quotes included, e.g. `"Evan Morris"`), the text is the remaining lines joined with "\n".
 */
export function splitContents(contents: string): { title: string; text: string } {
  const newline = contents.indexOf('\n');
  if (newline < 0) return { title: contents, text: '' };
  return { title: contents.slice(0, newline), text: contents.slice(newline + 1) };
}
