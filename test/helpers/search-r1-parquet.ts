// Writes Search-R1-schema parquet files for tests with hyparquet-writer directly (an independent writer, not the
// project's own convert path): nested lists and structs, several row groups, snappy by default.
import { parquetWriteFile } from 'hyparquet-writer';

/** One row in Search-R1's test.parquet / train.parquet layout. */
export interface SearchR1Row {
  id: string;
  question: string;
  golden_answers: string[] | null;
  data_source: string;
  prompt: { content: string; role: string }[];
  ability: string;
  reward_model: { ground_truth: { target: string[] }; style: string };
  extra_info: { index: number; split: string };
}

const utf8 = (name: string) => ({ name, type: 'BYTE_ARRAY' as const, converted_type: 'UTF8' as const, repetition_type: 'OPTIONAL' as const });
const list = (name: string) => [
  { name, repetition_type: 'OPTIONAL' as const, converted_type: 'LIST' as const, num_children: 1 },
  { name: 'list', repetition_type: 'REPEATED' as const, num_children: 1 },
];

/** The parquet schema pandas/pyarrow give Search-R1's rows (3-level LISTs, optional fields). */
export const SEARCH_R1_SCHEMA = [
  { name: 'root', num_children: 8 },
  utf8('id'),
  utf8('question'),
  ...list('golden_answers'), utf8('element'),
  utf8('data_source'),
  ...list('prompt'), { name: 'element', repetition_type: 'OPTIONAL' as const, num_children: 2 }, utf8('content'), utf8('role'),
  utf8('ability'),
  { name: 'reward_model', repetition_type: 'OPTIONAL' as const, num_children: 2 },
  { name: 'ground_truth', repetition_type: 'OPTIONAL' as const, num_children: 1 },
  ...list('target'), utf8('element'),
  utf8('style'),
  { name: 'extra_info', repetition_type: 'OPTIONAL' as const, num_children: 2 },
  { name: 'index', type: 'INT64' as const, repetition_type: 'OPTIONAL' as const },
  utf8('split'),
];

/** A row as Search-R1's data_process scripts make it. */
export function searchR1Row(source: string, index: number, question: string, golds: string[], split = 'test'): SearchR1Row {
  return {
    id: `${split}_${index}`,
    question,
    golden_answers: golds,
    data_source: source,
    prompt: [{ content: `Answer the given question. ... Question: ${question}\n`, role: 'user' }],
    ability: 'fact-reasoning',
    reward_model: { ground_truth: { target: golds }, style: 'rule' },
    extra_info: { index, split },
  };
}

/** Writes `rows` to `path` with `rowGroupSize` rows per row group. */
export function writeSearchR1Parquet(path: string, rows: SearchR1Row[], options: { rowGroupSize?: number; codec?: 'SNAPPY' | 'UNCOMPRESSED' } = {}): void {
  const column = <K extends keyof SearchR1Row>(name: K) => ({
    name,
    data: rows.map((row) => (name === 'extra_info' ? { ...row.extra_info, index: BigInt(row.extra_info.index) } : row[name])),
  });
  parquetWriteFile({
    filename: path,
    schema: SEARCH_R1_SCHEMA,
    codec: options.codec ?? 'SNAPPY',
    rowGroupSize: options.rowGroupSize ?? 1000,
    columnData: (['id', 'question', 'golden_answers', 'data_source', 'prompt', 'ability', 'reward_model', 'extra_info'] as const).map(column),
  });
}
