// readBoundedLines: line splitting across chunk boundaries, CRLF, a last line without a break, byte counts,
// and lines over the limit reported without their text.
import test from 'ava';

import { readBoundedLines, type BoundedLine } from '../../lib/util/bounded-lines.js';

async function lines(chunks: Array<string | Buffer>, max: number): Promise<BoundedLine[]> {
  const out: BoundedLine[] = [];
  async function* source() {
    for (const chunk of chunks) yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
  }
  for await (const line of readBoundedLines(source(), max)) out.push(line);
  return out;
}

test('splits on \\n across chunks, drops \\r before it, keeps a last line without a break', async (t) => {
  const result = await lines(['ab', 'c\r\nd', 'e\n\nf\n', 'tail'], 100);
  t.deepEqual(result.map((l) => l.text), ['abc', 'de', '', 'f', 'tail']);
  t.deepEqual(result.map((l) => l.number), [1, 2, 3, 4, 5]);
  t.deepEqual(result.map((l) => l.bytes), [5, 3, 1, 2, 4]);
  t.deepEqual(await lines(['x\n'], 100), [{ number: 1, text: 'x', bytes: 2 }]);
  t.deepEqual(await lines([], 100), []);
});

test('decodes multi-byte UTF-8 split between chunks', async (t) => {
  const bytes = Buffer.from('héllo→x\n');
  t.deepEqual((await lines([bytes.subarray(0, 2), bytes.subarray(2, 7), bytes.subarray(7)], 100)).map((l) => l.text), ['héllo→x']);
});

test('a line over the limit comes back without text, with its size; the lines around it are intact', async (t) => {
  const long = 'y'.repeat(2500);
  const result = await lines(['ok\n', long.slice(0, 1000), long.slice(1000), '\nnext\n'], 1000);
  t.deepEqual(result.map((l) => l.text), ['ok', undefined, 'next']);
  t.is(result[1]!.bytes, 2501);
  t.is((await lines(['z'.repeat(1000) + '\r\n'], 1000))[0]!.text, 'z'.repeat(1000), 'exactly the limit, CRLF not counted');
  t.is((await lines(['z'.repeat(1000) + '\r', '\n'], 1000))[0]!.text, 'z'.repeat(1000), 'CR and LF in different chunks');
  t.is((await lines(['z'.repeat(1001)], 1000))[0]!.text, undefined);
});
