// Reads parquet files row group by row group with hyparquet (snappy, zstd, gzip, brotli, lz4 through
// hyparquet-compressors): only one row group's decoded rows are held at a time. What the rows mean is the
// caller's business (questions.ts, the data command).
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema, type FileMetaData, type SchemaTree } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';

import { RexragError } from '../errors.js';

/** One decoded row: nested lists and structs as arrays and objects, INT64 as numbers (strings past 2^53). */
export type ParquetRow = Record<string, unknown>;

/** What the footer says about a file: row count, row groups, top-level columns and the schema as text. */
export interface ParquetFileInfo {
  path: string;
  rows: number;
  rowGroups: number;
  columns: string[];
  /** One line per schema node, indented by depth: `golden_answers: list<string>` style. */
  schema: string[];
  createdBy: string | undefined;
}

async function openParquet(path: string): Promise<{ file: Awaited<ReturnType<typeof asyncBufferFromFile>>; metadata: FileMetaData }> {
  let file: Awaited<ReturnType<typeof asyncBufferFromFile>>;
  try {
    file = await asyncBufferFromFile(path);
  } catch (error) {
    throw new RexragError(`cannot read ${path}: ${(error as Error).message}`, 'ERR_IO', { cause: error });
  }
  try {
    return { file, metadata: await parquetMetadataAsync(file) };
  } catch (error) {
    throw new RexragError(`${path} is not a readable parquet file (${(error as Error).message})`, 'ERR_INVALID_ARG', { cause: error });
  }
}

/** Reads the footer of a parquet file; the data pages are not touched. */
export async function readParquetInfo(path: string): Promise<ParquetFileInfo> {
  const { metadata } = await openParquet(path);
  const tree = parquetSchema(metadata);
  return {
    path,
    rows: Number(metadata.num_rows),
    rowGroups: metadata.row_groups.length,
    columns: tree.children.map((child) => child.element.name),
    schema: tree.children.flatMap((child) => describeNode(child, 0)),
    createdBy: metadata.created_by,
  };
}

/**
 * Yields the rows of a parquet file in order, decoding one row group at a time; `columns` limits the top-level
 * columns read (absent ones are skipped, so optional columns may be listed). Each row comes with its 0-based
 * index in the file. A damaged file is an ERR_INVALID_ARG RexragError naming the file and row group.
 */
export async function* readParquetRows(path: string, options: { columns?: readonly string[] } = {}): AsyncGenerator<{ row: ParquetRow; index: number }> {
  const { file, metadata } = await openParquet(path);
  const present = new Set(parquetSchema(metadata).children.map((child) => child.element.name));
  const columns = options.columns?.filter((name) => present.has(name));
  let rowStart = 0;
  for (let group = 0; group < metadata.row_groups.length; group++) {
    const rowEnd = rowStart + Number(metadata.row_groups[group]!.num_rows);
    let rows: Record<string, unknown>[];
    try {
      rows = await parquetReadObjects({ file, metadata, compressors, rowStart, rowEnd, ...(columns ? { columns: [...columns] } : {}) });
    } catch (error) {
      throw new RexragError(`${path}: cannot decode row group ${group} (rows ${rowStart}-${rowEnd - 1}): ${(error as Error).message}`, 'ERR_INVALID_ARG', { cause: error });
    }
    for (let i = 0; i < rows.length; i++) yield { row: plainValue(rows[i]) as ParquetRow, index: rowStart + i };
    rowStart = rowEnd;
  }
}

/** Turns decoded values into JSON-safe ones: bigint to number (or string when unsafe), typed arrays to arrays. */
export function plainValue(value: unknown): unknown {
  if (typeof value === 'bigint') return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
  if (value instanceof Date) return value.toISOString();
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as unknown as ArrayLike<unknown>, plainValue);
  if (Array.isArray(value)) return value.map(plainValue);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([key, inner]) => [key, plainValue(inner)]));
  }
  return value;
}

/** Schema lines for one node and its children, e.g. `prompt: list` then `  element: struct`. */
function describeNode(node: SchemaTree, depth: number): string[] {
  const { element } = node;
  const kind = element.converted_type === 'LIST' ? 'list' : element.converted_type === 'MAP' ? 'map'
    : node.children.length > 0 ? 'struct'
      : element.converted_type === 'UTF8' || element.logical_type?.type === 'STRING' ? 'string' : String(element.type ?? 'group').toLowerCase();
  const optional = element.repetition_type === 'OPTIONAL' ? '?' : element.repetition_type === 'REPEATED' ? '[]' : '';
  const line = `${'  '.repeat(depth)}${element.name}: ${kind}${optional}`;
  // LIST's repeated "list" wrapper adds nothing for a reader: show its element directly.
  const children = element.converted_type === 'LIST' && node.children.length === 1 && node.children[0]!.children.length === 1
    ? node.children[0]!.children : node.children;
  return [line, ...children.flatMap((child) => describeNode(child, depth + 1))];
}
