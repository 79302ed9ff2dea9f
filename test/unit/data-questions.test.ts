// Question files: a Search-R1 parquet file written by hyparquet-writer (nested columns, several snappy row
// groups) reads back exactly, row groups are decoded one at a time, clashing ids are re-keyed by data source,
// the ground-truth fallback works, JSONL keeps working, and bad input names the file, row and column.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';
import { parquetMetadataAsync, asyncBufferFromFile } from 'hyparquet';

import { readParquetInfo, readParquetRows } from '../../lib/data/parquet-reader.js';
import { readQuestions } from '../../lib/data/questions.js';
import { isRexragError } from '../../lib/errors.js';
import { searchR1Row, writeSearchR1Parquet, type SearchR1Row } from '../helpers/search-r1-parquet.js';

let root: string;
test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'rexrag-data-q-'));
});
test.after.always(async () => {
  await rm(root, { recursive: true, force: true });
});

/** 23 rows over three sources; ids restart per source (test_0, test_1, ...) as in Search-R1's merged test file. */
function mergedRows(): SearchR1Row[] {
  const rows: SearchR1Row[] = [];
  const sources: [string, number][] = [['nq', 10], ['hotpotqa', 8], ['bamboogle', 5]];
  for (const [source, count] of sources) {
    for (let i = 0; i < count; i++) {
      rows.push(searchR1Row(source, i, `${source} question ${i} — "ünïcode"?`, i % 3 === 0 ? [`answer ${i}`, `alias ${i}`] : [`answer ${i}`]));
    }
  }
  return rows;
}

test('a snappy parquet file with nested columns and several row groups reads back exactly, one row group at a time', async (t) => {
  const path = join(root, 'merged.parquet');
  const rows = mergedRows();
  writeSearchR1Parquet(path, rows, { rowGroupSize: 4 });
  const metadata = await parquetMetadataAsync(await asyncBufferFromFile(path));
  t.is(metadata.row_groups.length, 6, 'six row groups of at most four rows');
  t.true(metadata.row_groups.every((group) => group.columns.every((column) => column.meta_data?.codec === 'SNAPPY')));

  const read: { row: Record<string, unknown>; index: number }[] = [];
  for await (const item of readParquetRows(path)) read.push(item);
  t.deepEqual(read.map((item) => item.index), rows.map((_, i) => i));
  t.deepEqual(read.map((item) => item.row), rows as unknown as Record<string, unknown>[], 'every column, nested lists of structs included');

  const info = await readParquetInfo(path);
  t.is(info.rows, 23);
  t.is(info.rowGroups, 6);
  t.deepEqual(info.columns, ['id', 'question', 'golden_answers', 'data_source', 'prompt', 'ability', 'reward_model', 'extra_info']);
  t.true(info.schema.includes('prompt: list?'));
  t.true(info.schema.includes('    content: string?'), info.schema.join('\n'));
});

test('questions from a merged parquet file: data_source kept, clashing ids re-keyed data_source:id, golds from golden_answers', async (t) => {
  const path = join(root, 'questions.parquet');
  const rows = mergedRows();
  rows.push({ ...searchR1Row('bamboogle', 99, 'only in bamboogle?', ['x']), id: 'unique-id' });
  writeSearchR1Parquet(path, rows, { rowGroupSize: 5 });
  const questions = await readQuestions(path);
  t.is(questions.length, 24);
  t.deepEqual(questions[0], { id: 'nq:test_0', question: rows[0]!.question, golds: ['answer 0', 'alias 0'], dataSource: 'nq' });
  t.deepEqual(questions[10], { id: 'hotpotqa:test_0', question: rows[10]!.question, golds: ['answer 0', 'alias 0'], dataSource: 'hotpotqa' });
  t.is(questions[23]!.id, 'unique-id', 'an id used by one source only is kept as it is');
  t.is(new Set(questions.map((q) => q.id)).size, 24);
  t.deepEqual([...new Set(questions.map((q) => q.dataSource))], ['nq', 'hotpotqa', 'bamboogle']);
});

test('ground truth falls back to reward_model.ground_truth.target when golden_answers is missing', async (t) => {
  const path = join(root, 'fallback.parquet');
  const row = searchR1Row('popqa', 0, 'who?', ['target answer']);
  writeSearchR1Parquet(path, [{ ...row, golden_answers: null }]);
  const [question] = await readQuestions(path);
  t.deepEqual(question!.golds, ['target answer']);
});

test('JSONL keeps working, with data_source and the same re-keying', async (t) => {
  const path = join(root, 'q.jsonl');
  await writeFile(path, [
    JSON.stringify({ id: 1, question: 'a?', golden_answers: ['a'], data_source: 'nq' }),
    '',
    JSON.stringify({ id: 1, question: 'b?', golds: ['b'], data_source: 'triviaqa' }),
    JSON.stringify({ question: 'c?', answers: ['c'] }),
  ].join('\n'));
  const questions = await readQuestions(path);
  t.deepEqual(questions, [
    { id: 'nq:1', question: 'a?', golds: ['a'], dataSource: 'nq' },
    { id: 'triviaqa:1', question: 'b?', golds: ['b'], dataSource: 'triviaqa' },
    { id: '4', question: 'c?', golds: ['c'] },
  ]);
});

test('bad input: errors name the file, the row and the column', async (t) => {
  const noQuestion = join(root, 'bad-question.parquet');
  writeSearchR1Parquet(noQuestion, [searchR1Row('nq', 0, 'fine?', ['a']), { ...searchR1Row('nq', 1, 'x', ['a']), question: '' }]);
  const e1 = await t.throwsAsync(readQuestions(noQuestion));
  t.true(isRexragError(e1, 'ERR_INVALID_ARG'));
  t.is(e1!.message, `${noQuestion} row 1, column "question": needs a non-empty string, got ""`);

  const noGold = join(root, 'bad-gold.parquet');
  writeSearchR1Parquet(noGold, [{ ...searchR1Row('nq', 0, 'q?', []), golden_answers: [] }]);
  const e2 = await t.throwsAsync(readQuestions(noGold));
  t.regex(e2!.message, /bad-gold\.parquet row 0, column "golden_answers": needs a non-empty list of strings, got \[\]/);

  const duplicate = join(root, 'dup.parquet');
  writeSearchR1Parquet(duplicate, [searchR1Row('nq', 0, 'a?', ['a']), searchR1Row('nq', 0, 'b?', ['b'])]);
  const e3 = await t.throwsAsync(readQuestions(duplicate));
  t.regex(e3!.message, /dup\.parquet row 1: question id "test_0" is not unique \(first used at .*dup\.parquet row 0\)/);

  const notParquet = join(root, 'text.parquet');
  await writeFile(notParquet, 'this is not parquet at all, just text');
  const e4 = await t.throwsAsync(readQuestions(notParquet));
  t.true(isRexragError(e4, 'ERR_INVALID_ARG'));
  t.regex(e4!.message, /text\.parquet is not a readable parquet file/);

  const missing = await t.throwsAsync(readQuestions(join(root, 'missing.parquet')));
  t.true(isRexragError(missing, 'ERR_IO'));
});
