// Writes JSON rows to parquet with hyparquet-writer: the schema is inferred from the rows (strings, int64,
// doubles, booleans, LIST and struct columns, all optional), then rows are written one row group at a time.
// Reading parquet is parquet-reader.ts.
import { fileWriter, ParquetWriter, type SchemaElement } from 'hyparquet-writer';

import { RexragError } from '../errors.js';

/** The type of a JSON value as a parquet column; null while only nulls were seen. */
export type InferredType =
  | { kind: 'string' | 'int' | 'double' | 'bool' }
  | { kind: 'list'; element: InferredType | null }
  | { kind: 'struct'; fields: Map<string, InferredType | null> };

/** The type of one JSON value; `where` names it in errors. */
export function inferType(value: unknown, where: string): InferredType | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return { kind: 'string' };
  if (typeof value === 'boolean') return { kind: 'bool' };
  if (typeof value === 'number') return { kind: Number.isInteger(value) ? 'int' : 'double' };
  if (Array.isArray(value)) {
    return { kind: 'list', element: value.reduce<InferredType | null>((type, item, i) => mergeTypes(type, inferType(item, `${where}[${i}]`), where), null) };
  }
  if (typeof value === 'object') {
    return { kind: 'struct', fields: new Map(Object.entries(value as Record<string, unknown>).map(([key, inner]) => [key, inferType(inner, `${where}.${key}`)])) };
  }
  throw new RexragError(`${where}: a ${typeof value} cannot be stored in parquet`, 'ERR_INVALID_ARG');
}

/** The narrowest type holding both (int and double give double); incompatible types are an error naming `where`. */
export function mergeTypes(a: InferredType | null, b: InferredType | null, where: string): InferredType | null {
  if (a === null) return b;
  if (b === null) return a;
  if (a.kind === b.kind) {
    if (a.kind === 'list' && b.kind === 'list') return { kind: 'list', element: mergeTypes(a.element, b.element, `${where}[]`) };
    if (a.kind === 'struct' && b.kind === 'struct') {
      const fields = new Map(a.fields);
      for (const [key, type] of b.fields) fields.set(key, mergeTypes(fields.get(key) ?? null, type, `${where}.${key}`));
      return { kind: 'struct', fields };
    }
    return a;
  }
  if ((a.kind === 'int' && b.kind === 'double') || (a.kind === 'double' && b.kind === 'int')) return { kind: 'double' };
  throw new RexragError(`${where}: mixes ${a.kind} and ${b.kind} values; a parquet column has one type`, 'ERR_INVALID_ARG');
}

/** Parquet schema elements (depth-first, as the footer lists them) for one column of type `type`. */
function schemaElements(name: string, type: InferredType | null): SchemaElement[] {
  const optional = 'OPTIONAL' as const;
  if (type === null || type.kind === 'string') return [{ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: optional }];
  if (type.kind === 'int') return [{ name, type: 'INT64', repetition_type: optional }];
  if (type.kind === 'double') return [{ name, type: 'DOUBLE', repetition_type: optional }];
  if (type.kind === 'bool') return [{ name, type: 'BOOLEAN', repetition_type: optional }];
  if (type.kind === 'list') {
    return [
      { name, repetition_type: optional, converted_type: 'LIST', num_children: 1 },
      { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
      ...schemaElements('element', type.element),
    ];
  }
  const { fields } = type as Extract<InferredType, { kind: 'struct' }>;
  return [{ name, repetition_type: optional, num_children: fields.size }, ...[...fields].flatMap(([key, inner]) => schemaElements(key, inner))];
}

/** A JSON value shaped for hyparquet-writer: int64 as bigint, missing struct fields as null. */
function writerValue(value: unknown, type: InferredType | null): unknown {
  if (value === null || value === undefined || type === null) return value ?? null;
  if (type.kind === 'int') return BigInt(value as number);
  if (type.kind === 'list') return (value as unknown[]).map((item) => writerValue(item, type.element));
  if (type.kind === 'struct') {
    const object = value as Record<string, unknown>;
    return Object.fromEntries([...type.fields].map(([key, inner]) => [key, writerValue(object[key], inner)]));
  }
  return value;
}

/** The top-level column types of a set of rows (union of their keys, in first-seen order). */
export class SchemaInference {
  readonly columns = new Map<string, InferredType | null>();

  /** Widens the schema with one row; `where` names the row in errors. */
  add(row: Record<string, unknown>, where: string): void {
    for (const [key, value] of Object.entries(row)) {
      this.columns.set(key, mergeTypes(this.columns.get(key) ?? null, inferType(value, `${where}, column "${key}"`), `${where}, column "${key}"`));
    }
  }
}

/** Writes rows of a known schema to a parquet file, one row group per `writeRowGroup` call (snappy). */
export class ParquetRowWriter {
  private readonly writer: ParquetWriter;

  constructor(path: string, private readonly columns: Map<string, InferredType | null>) {
    const schema: SchemaElement[] = [{ name: 'root', num_children: columns.size }, ...[...columns].flatMap(([name, type]) => schemaElements(name, type))];
    this.writer = new ParquetWriter({ writer: fileWriter(path), schema, codec: 'SNAPPY', createdBy: 'rexrag data convert' });
  }

  /** Appends `rows` as one row group. */
  writeRowGroup(rows: readonly Record<string, unknown>[]): void {
    if (rows.length === 0) return;
    const columnData = [...this.columns].map(([name, type]) => ({ name, data: rows.map((row) => writerValue(row[name], type)) }));
    void this.writer.write({ columnData, rowGroupSize: rows.length });
  }

  /** Writes the footer and closes the file. */
  finish(): void {
    this.writer.finish();
  }
}
