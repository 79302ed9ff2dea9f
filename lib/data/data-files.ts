// `rexrag data` as a library: inspect a question file (schema, row count, rows per data_source, sample rows)
// and convert it between parquet and JSONL, streaming rows (one parquet row group, or one batch of JSONL
// lines, at a time). Decoding is parquet-reader.ts, encoding parquet-writer.ts.
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

import { RexragError } from '../errors.js';
import { readParquetInfo, readParquetRows, type ParquetRow } from './parquet-reader.js';
import { ParquetRowWriter, SchemaInference, type InferredType } from './parquet-writer.js';
import { isParquetPath } from './questions.js';

/** What `rexrag data inspect` reports. */
export interface DataFileReport {
  file: string;
  format: 'parquet' | 'jsonl';
  rows: number;
  /** Parquet: row groups in the footer; JSONL: null. */
  rowGroups: number | null;
  /** One line per column (nested columns indented below theirs). */
  schema: string[];
  /** Rows per `data_source` value (`(none)` for rows without one), in first-seen order. */
  bySource: Record<string, number>;
  /** The first three rows, as read. */
  samples: ParquetRow[];
}

/** Rows of a parquet or JSONL file, in order, with a label naming each for errors. */
export async function* readDataRows(path: string): AsyncGenerator<{ row: ParquetRow; where: string }> {
  if (isParquetPath(path)) {
    for await (const { row, index } of readParquetRows(path)) yield { row, where: `${path} row ${index}` };
    return;
  }
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let lineNumber = 0;
  try {
    for await (const line of lines) {
      lineNumber++;
      if (line.trim() === '') continue;
      let row: unknown;
      try {
        row = JSON.parse(line);
      } catch (error) {
        throw new RexragError(`${path}:${lineNumber}: not valid JSON (${(error as Error).message})`, 'ERR_INVALID_ARG');
      }
      if (typeof row !== 'object' || row === null || Array.isArray(row)) throw new RexragError(`${path}:${lineNumber}: a line must be a JSON object`, 'ERR_INVALID_ARG');
      yield { row: row as ParquetRow, where: `${path}:${lineNumber}` };
    }
  } catch (error) {
    if (error instanceof RexragError) throw error;
    throw new RexragError(`cannot read ${path}: ${(error as Error).message}`, 'ERR_IO', { cause: error });
  }
}

/** Inspects a parquet or JSONL file in one streaming pass. */
export async function inspectDataFile(path: string): Promise<DataFileReport> {
  const parquet = isParquetPath(path);
  const info = parquet ? await readParquetInfo(path) : undefined;
  const inference = new SchemaInference();
  const bySource: Record<string, number> = {};
  const samples: ParquetRow[] = [];
  let rows = 0;
  for await (const { row, where } of readDataRows(path)) {
    rows++;
    if (samples.length < 3) samples.push(row);
    if (!parquet) inference.add(row, where);
    const source = typeof row.data_source === 'string' ? row.data_source : '(none)';
    bySource[source] = (bySource[source] ?? 0) + 1;
  }
  return {
    file: path,
    format: parquet ? 'parquet' : 'jsonl',
    rows,
    rowGroups: info?.rowGroups ?? null,
    schema: info?.schema ?? [...inference.columns].flatMap(([name, type]) => describeType(name, type, 0)),
    bySource,
    samples,
  };
}

/**
 * Converts `input` (parquet or JSONL) to `output` in the format `to`. JSONL to parquet reads the input twice:
 * once to infer the schema, once to write row groups of `rowGroupSize` rows (default 10,000).
 */
export async function convertDataFile(input: string, output: string, to: 'jsonl' | 'parquet', options: { rowGroupSize?: number } = {}): Promise<{ rows: number }> {
  if (to === 'jsonl') {
    const stream = createWriteStream(output);
    let rows = 0;
    for await (const { row } of readDataRows(input)) {
      rows++;
      if (!stream.write(`${JSON.stringify(row)}\n`)) await once(stream, 'drain');
    }
    stream.end();
    await once(stream, 'finish');
    return { rows };
  }
  const inference = new SchemaInference();
  for await (const { row, where } of readDataRows(input)) inference.add(row, where);
  if (inference.columns.size === 0) throw new RexragError(`${input} holds no rows to convert`, 'ERR_INVALID_ARG');
  const writer = new ParquetRowWriter(output, inference.columns);
  const groupSize = options.rowGroupSize ?? 10_000;
  let group: ParquetRow[] = [];
  let rows = 0;
  for await (const { row } of readDataRows(input)) {
    group.push(row);
    rows++;
    if (group.length === groupSize) {
      writer.writeRowGroup(group);
      group = [];
    }
  }
  writer.writeRowGroup(group);
  writer.finish();
  return { rows };
}

function describeType(name: string, type: InferredType | null, depth: number): string[] {
  const pad = '  '.repeat(depth);
  if (type === null) return [`${pad}${name}: null?`];
  if (type.kind === 'list') return [`${pad}${name}: list?`, ...describeType('element', type.element, depth + 1)];
  if (type.kind === 'struct') return [`${pad}${name}: struct?`, ...[...type.fields].flatMap(([key, inner]) => describeType(key, inner, depth + 1))];
  return [`${pad}${name}: ${type.kind === 'int' ? 'int64' : type.kind === 'bool' ? 'boolean' : type.kind}?`];
}
