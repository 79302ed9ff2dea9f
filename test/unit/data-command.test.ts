// `rexrag data`: inspect reports schema, rows, rows per data_source and samples; convert round-trips
// parquet -> JSONL -> parquet with nested columns intact; bad input exits 2 or 1 with one line on stderr.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { readDataRows } from '../../lib/data/data-files.js';
import { readQuestions } from '../../lib/data/questions.js';
import { runCli } from '../helpers/run-cli.js';
import { searchR1Row, writeSearchR1Parquet, type SearchR1Row } from '../helpers/search-r1-parquet.js';

let root: string;
const rows: SearchR1Row[] = [];
test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'rexrag-data-cmd-'));
  for (const [source, count] of [['nq', 5], ['triviaqa', 3], ['musique', 4]] as const) {
    for (let i = 0; i < count; i++) rows.push(searchR1Row(source, i, `${source} q${i}?`, [`a${i}`, `b${i}`]));
  }
  writeSearchR1Parquet(join(root, 'test.parquet'), rows, { rowGroupSize: 5 });
});
test.after.always(async () => {
  await rm(root, { recursive: true, force: true });
});

async function allRows(path: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for await (const { row } of readDataRows(path)) out.push(row);
  return out;
}

test('data inspect: schema, row count, rows per data_source and three samples', async (t) => {
  const result = await runCli(['data', 'inspect', join(root, 'test.parquet')]);
  t.is(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout) as { format: string; rows: number; rowGroups: number; schema: string[]; bySource: Record<string, number>; samples: unknown[] };
  t.is(report.format, 'parquet');
  t.is(report.rows, 12);
  t.is(report.rowGroups, 3);
  t.deepEqual(report.bySource, { nq: 5, triviaqa: 3, musique: 4 });
  t.deepEqual(report.samples, rows.slice(0, 3) as unknown[]);
  t.deepEqual(report.schema.slice(0, 5), ['id: string?', 'question: string?', 'golden_answers: list?', '  element: string?', 'data_source: string?']);
  t.true(report.schema.includes('  ground_truth: struct?'));
  t.true(report.schema.includes('  index: int64?'));
});

test('data convert: parquet -> JSONL -> parquet round-trips every column, and the questions read the same', async (t) => {
  const jsonl = join(root, 'test.jsonl');
  const back = join(root, 'back.parquet');
  const toJsonl = await runCli(['data', 'convert', join(root, 'test.parquet'), '--to', 'jsonl', '--out', jsonl]);
  t.is(toJsonl.code, 0, toJsonl.stderr);
  t.deepEqual((await readFile(jsonl, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as unknown), rows as unknown[]);
  const toParquet = await runCli(['data', 'convert', jsonl, '--to', 'parquet', '--out', back, '--row-group-size', '4']);
  t.is(toParquet.code, 0, toParquet.stderr);
  t.regex(toParquet.stderr, /wrote 12 rows/);
  t.deepEqual(await allRows(back), rows as unknown as Record<string, unknown>[]);
  const inspected = JSON.parse((await runCli(['data', 'inspect', back])).stdout) as { rowGroups: number; schema: string[] };
  t.is(inspected.rowGroups, 3);
  t.deepEqual(inspected.schema, JSON.parse((await runCli(['data', 'inspect', join(root, 'test.parquet')])).stdout).schema, 'the same nested schema');
  t.deepEqual(await readQuestions(back), await readQuestions(join(root, 'test.parquet')));
});

test('data: bad input is one line on stderr', async (t) => {
  const usage = await runCli(['data', 'convert', join(root, 'test.parquet'), '--to', 'csv', '--out', join(root, 'x')]);
  t.is(usage.code, 2);
  t.regex(usage.stderr, /^rexrag data: --to must be jsonl or parquet, got "csv"/);
  const mixed = join(root, 'mixed.jsonl');
  await writeFile(mixed, '{"id": 1, "golden_answers": ["a"]}\n{"id": 2, "golden_answers": "b"}\n');
  const bad = await runCli(['data', 'convert', mixed, '--to', 'parquet', '--out', join(root, 'mixed.parquet')]);
  t.is(bad.code, 1);
  t.is(bad.stderr, `rexrag data: ${mixed}:2, column "golden_answers": mixes list and string values; a parquet column has one type\n`);
  const unknown = await runCli(['data', 'frobnicate', 'x']);
  t.is(unknown.code, 2);
});
