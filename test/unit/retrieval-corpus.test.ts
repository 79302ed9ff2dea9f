// Corpus reading: the Search-R1 and title/text layouts, batching, resumption by line, and malformed lines
// (skip vs fail, with line numbers).
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import test from 'ava';

import { isRexragError } from '../../lib/errors.js';
import {
  contentsFromTitleText, CorpusFormatError, parseCorpusLine, readCorpusBatches, splitContents, type CorpusBatch, type MalformedLine,
} from '../../lib/retrieval/corpus.js';
import { removeTemporaryFolders, temporaryFolder, writeJsonl } from '../helpers/retrieval-corpus.js';

test.after.always(removeTemporaryFolders);

async function collect(path: string, options: Parameters<typeof readCorpusBatches>[1] = {}): Promise<CorpusBatch[]> {
  const batches: CorpusBatch[] = [];
  for await (const batch of readCorpusBatches(path, options)) batches.push(batch);
  return batches;
}

test('reads Search-R1 rows and builds contents from title/text rows, keeping extra fields', async (t) => {
  const folder = await temporaryFolder();
  const path = await writeJsonl(folder, 'corpus.jsonl', [
    { id: '0', contents: '"Evan Morris"\nEvan L. Morris was a lobbyist.\nSecond line.' },
    { id: 7, title: 'Paris', text: 'Paris is the capital of France.', url: 'https://example.org/paris' },
    { id: 'q', title: '"Already quoted"', text: 'body' },
  ]);
  const [batch, ...rest] = await collect(path);
  t.is(rest.length, 0);
  const documents = batch!.documents;
  t.deepEqual(documents[0], { id: '0', contents: '"Evan Morris"\nEvan L. Morris was a lobbyist.\nSecond line.' });
  t.deepEqual(documents[1], { id: '7', title: 'Paris', text: 'Paris is the capital of France.', url: 'https://example.org/paris', contents: '"Paris"\nParis is the capital of France.' });
  t.is(documents[2]!.contents, '"Already quoted"\nbody');
  t.is(batch!.lastLine, 3);
  t.is(batch!.skipped, 0);
});

test('splitContents keeps the quoted title and joins the remaining lines', (t) => {
  t.deepEqual(splitContents('"Evan Morris"\nline one\nline two'), { title: '"Evan Morris"', text: 'line one\nline two' });
  t.deepEqual(splitContents('no newline'), { title: 'no newline', text: '' });
  t.deepEqual(splitContents(contentsFromTitleText('T', 'x')), { title: '"T"', text: 'x' });
});

test('batches have at most batchSize rows and resume after a given line', async (t) => {
  const folder = await temporaryFolder();
  const rows = Array.from({ length: 10 }, (_, i) => ({ id: `d${i}`, contents: `"t${i}"\nbody ${i}` }));
  const path = await writeJsonl(folder, 'corpus.jsonl', rows);
  const batches = await collect(path, { batchSize: 4 });
  t.deepEqual(batches.map((b) => b.documents.length), [4, 4, 2]);
  t.deepEqual(batches.map((b) => b.lastLine), [4, 8, 10]);
  t.deepEqual(batches.flatMap((b) => b.documents.map((d) => d.id)), rows.map((r) => r.id));
  const resumed = await collect(path, { batchSize: 4, startAfterLine: 4 });
  t.deepEqual(resumed.flatMap((b) => b.documents.map((d) => d.id)), rows.slice(4).map((r) => r.id));
  t.is(batches.at(-1)!.bytesRead, (await stat(path)).size, 'with LF line ends the byte count is exact');
});

test('blank lines, a BOM and CRLF line ends are tolerated', async (t) => {
  const folder = await temporaryFolder();
  const path = join(folder, 'crlf.jsonl');
  await writeFile(path, '\uFEFF{"id":"a","contents":"\\"A\\"\\nx"}\r\n\r\n{"id":"b","contents":"\\"B\\"\\ny"}\r\n');
  const [batch] = await collect(path);
  t.deepEqual(batch!.documents.map((d) => d.id), ['a', 'b']);
  t.is(batch!.lastLine, 3);
});

const malformedLines = [
  { id: '1', contents: '"ok"\none' },
  '{"id": "2", "contents": ',
  { contents: '"no id"\nx' },
  { id: '4', contents: '"ok"\nfour' },
  { id: '5', title: 'only a title' },
  '[1, 2]',
  { id: '7', contents: 42 },
  { id: '8', contents: '"ok"\neight' },
];

test("onMalformed 'skip' drops bad lines and reports each with its line number", async (t) => {
  const folder = await temporaryFolder();
  const path = await writeJsonl(folder, 'bad.jsonl', malformedLines);
  const skipped: MalformedLine[] = [];
  const batches = await collect(path, { onMalformed: 'skip', onSkip: (info) => skipped.push(info), batchSize: 2 });
  t.deepEqual(batches.flatMap((b) => b.documents.map((d) => d.id)), ['1', '4', '8']);
  t.deepEqual(skipped.map((s) => s.line), [2, 3, 5, 6, 7]);
  t.regex(skipped[0]!.reason, /invalid JSON/);
  t.regex(skipped[1]!.reason, /missing "id"/);
  t.regex(skipped[2]!.reason, /missing "contents"/);
  t.regex(skipped[3]!.reason, /JSON object/);
  t.regex(skipped[4]!.reason, /"contents" must be a string/);
  t.is(batches.at(-1)!.skipped, 5);
  t.is(batches.at(-1)!.lastLine, 8);
});

test("onMalformed 'fail' (the default) throws a CorpusFormatError naming the file and line", async (t) => {
  const folder = await temporaryFolder();
  const path = await writeJsonl(folder, 'bad.jsonl', malformedLines);
  const error = await t.throwsAsync(collect(path), { instanceOf: CorpusFormatError });
  t.is(error!.line, 2);
  t.is(error!.code, 'ERR_INVALID_ARG');
  t.true(error!.message.startsWith(`${path} line 2: invalid JSON`), error!.message);
});

test('a missing corpus file is an ERR_IO error; bad options are named', async (t) => {
  const folder = await temporaryFolder();
  const error = await t.throwsAsync(collect(join(folder, 'nope.jsonl')));
  t.true(isRexragError(error, 'ERR_IO'));
  t.regex(error!.message, /nope\.jsonl/);
  await t.throwsAsync(collect(join(folder, 'x'), { batchSize: 0 }), { instanceOf: RangeError, message: /options\.batchSize/ });
  await t.throwsAsync(collect(join(folder, 'x'), { onMalformed: 'ignore' as 'skip' }), { instanceOf: RangeError, message: /onMalformed/ });
});

test('parseCorpusLine returns the reason for a bad line instead of throwing', (t) => {
  t.is(typeof parseCorpusLine('not json'), 'string');
  t.deepEqual(parseCorpusLine('{"id":"x","contents":"c","extra":[1]}'), { id: 'x', contents: 'c', extra: [1] });
  t.regex(parseCorpusLine('{"id":"","contents":"c"}') as string, /"id"/);
});

test('a corpus line longer than maxLineBytes fails with a CorpusFormatError naming it, or is skipped', async (t) => {
  const folder = await temporaryFolder();
  // Valid JSON: without a line limit it would be read whole and accepted.
  const huge = { id: 'big', contents: `"Big"\n${'word '.repeat(60_000)}` };
  const path = await writeJsonl(folder, 'corpus.jsonl', [{ id: 'a', contents: '"A"\nx' }, huge, { id: 'c', contents: '"C"\nz' }]);
  const error = await t.throwsAsync(collect(path, { maxLineBytes: 100_000 }), { instanceOf: CorpusFormatError });
  t.is(error!.line, 2);
  t.regex(error!.message, /corpus\.jsonl line 2: the line is longer than 100000 bytes \(300\d{3} bytes/);
  const skipped: MalformedLine[] = [];
  const batches = await collect(path, { maxLineBytes: 100_000, onMalformed: 'skip', onSkip: (info) => skipped.push(info) });
  t.deepEqual(batches.flatMap((b) => b.documents.map((d) => d.id)), ['a', 'c']);
  t.is(skipped[0]?.line, 2);
  t.is((await collect(path)).flatMap((b) => b.documents).length, 3, 'the default limit (8 MiB) reads it');
  await t.throwsAsync(collect(path, { maxLineBytes: 0 }), { instanceOf: RangeError, message: /options\.maxLineBytes/ });
});
