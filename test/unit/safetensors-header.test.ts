// The safetensors header reader rejects every malformed file with an ERR_INVALID_ARG error naming the file, the
// tensor and the problem; the files are crafted byte by byte here, independently of the writer.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { RexragError } from '../../lib/errors.js';
import { MAX_HEADER_BYTES, readSafetensorsHeader } from '../../lib/model/safetensors.js';

let dir: string;
let counter = 0;
test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rexrag-st-header-'));
});
test.after.always(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A file: 8-byte little-endian length (of the header, or `declaredLength`), the header bytes, `dataBytes` bytes. */
async function craft(header: string | Uint8Array, dataBytes: number, declaredLength?: bigint): Promise<string> {
  const headerBytes = typeof header === 'string' ? Buffer.from(header, 'utf8') : Buffer.from(header);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(declaredLength ?? BigInt(headerBytes.length));
  const data = Buffer.alloc(dataBytes, 7);
  const path = join(dir, `crafted-${counter++}.safetensors`);
  await writeFile(path, Buffer.concat([prefix, headerBytes, data]));
  return path;
}

async function rejects(t: import('ava').ExecutionContext, path: string, message: RegExp): Promise<void> {
  const error = await t.throwsAsync(readSafetensorsHeader(path), { instanceOf: RexragError });
  t.is(error?.code, 'ERR_INVALID_ARG');
  t.true(error?.message.startsWith(path), `the message names the file: ${error?.message}`);
  t.regex(error?.message ?? '', message);
}

const tensor = (dtype: unknown, shape: unknown, offsets: unknown) => ({ dtype, shape, data_offsets: offsets });

test('a well-formed header is read with relative offsets, metadata and the data start', async (t) => {
  const header = JSON.stringify({
    __metadata__: { format: 'pt', note: 'x' },
    b: tensor('I64', [1], [16, 24]),
    a: tensor('F32', [2, 2], [0, 16]),
    empty: tensor('BF16', [0, 3], [24, 24]),
  });
  const path = await craft(header, 24);
  const read = await readSafetensorsHeader(path);
  t.is(read.dataStart, 8 + Buffer.byteLength(header));
  t.is(read.fileSize, read.dataStart + 24);
  t.deepEqual(read.metadata, { format: 'pt', note: 'x' });
  t.deepEqual(read.tensors, [
    { name: 'a', dtype: 'F32', shape: [2, 2], begin: 0, end: 16 },
    { name: 'b', dtype: 'I64', shape: [1], begin: 16, end: 24 },
    { name: 'empty', dtype: 'BF16', shape: [0, 3], begin: 24, end: 24 },
  ]);
});

test('a header padded with trailing spaces (as writers align it) is accepted', async (t) => {
  const path = await craft(`${JSON.stringify({ w: tensor('U8', [3], [0, 3]) })}     `, 3);
  t.deepEqual((await readSafetensorsHeader(path)).tensors.map((x) => x.name), ['w']);
});

test('a file shorter than 8 bytes', async (t) => {
  const path = join(dir, 'short.safetensors');
  await writeFile(path, Buffer.from([1, 2, 3, 4, 5]));
  await rejects(t, path, /has 5 bytes, too short for the 8-byte header length/);
});

test('a header length past the end of the file is refused before reading the header', async (t) => {
  const path = await craft('{}', 0, 1000n);
  await rejects(t, path, /header length 1000 runs past the end of the file \(10 bytes\)/);
});

test('an absurd header length is refused by the cap, not allocated', async (t) => {
  const path = await craft('{}', 0, 2n ** 62n);
  await rejects(t, path, new RegExp(`header length ${2n ** 62n} is above the ${MAX_HEADER_BYTES}-byte limit`));
  const justAbove = await craft('{}', 0, BigInt(MAX_HEADER_BYTES + 1));
  await rejects(t, justAbove, /above the 100000000-byte limit/);
});

test('a header that is not UTF-8, not JSON, or not an object', async (t) => {
  await rejects(t, await craft(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), 0), /header is not valid UTF-8/);
  await rejects(t, await craft('{"a": ', 0), /header is not valid JSON/);
  await rejects(t, await craft('', 0), /header is not valid JSON/);
  await rejects(t, await craft('[1, 2]', 0), /header must be a JSON object, got array\(2\)/);
  await rejects(t, await craft('42', 0), /header must be a JSON object, got number 42/);
});

test('__metadata__ must be a map of strings', async (t) => {
  await rejects(t, await craft(JSON.stringify({ __metadata__: { n: 1 } }), 0), /"__metadata__" must be an object of strings/);
});

test('a tensor entry that is not an object', async (t) => {
  await rejects(t, await craft(JSON.stringify({ w: [1, 2] }), 0), /tensor "w" must be an object with dtype, shape and data_offsets/);
});

test('an unknown dtype', async (t) => {
  await rejects(t, await craft(JSON.stringify({ w: tensor('F8_E4M3', [4], [0, 4]) }), 4), /tensor "w" has unknown dtype "F8_E4M3" \(expected one of F64, F32/);
  await rejects(t, await craft(JSON.stringify({ w: tensor(undefined, [4], [0, 4]) }), 4), /tensor "w" has unknown dtype undefined/);
});

test('a shape that is not a list of non-negative integers', async (t) => {
  for (const shape of ['2,2', [2, -1], [1.5], [2, '2'], null]) {
    await rejects(t, await craft(JSON.stringify({ w: tensor('U8', shape, [0, 4]) }), 4), /tensor "w" has shape .*; it must be a list of non-negative integers/);
  }
});

test('data_offsets that are not [begin <= end] integers', async (t) => {
  for (const offsets of [[8, 4], [0], [0, 4, 8], ['0', 4], [-4, 0], [0.5, 4], 'x']) {
    await rejects(t, await craft(JSON.stringify({ w: tensor('U8', [4], offsets) }), 8), /tensor "w" has data_offsets .*; they must be \[begin, end\] with integers 0 <= begin <= end/);
  }
});

test('data_offsets beyond the data', async (t) => {
  await rejects(t, await craft(JSON.stringify({ w: tensor('F32', [4], [0, 16]) }), 12), /tensor "w" has data_offsets \[0, 16\] beyond the data \(12 bytes after the header\)/);
});

test('overlapping byte ranges', async (t) => {
  const header = JSON.stringify({ a: tensor('F32', [2], [0, 8]), b: tensor('F32', [2], [4, 12]) });
  await rejects(t, await craft(header, 12), /tensor "b" \(data_offsets \[4, 12\]\) overlaps tensor "a" \(data_offsets \[0, 8\]\)/);
  const zeroSizeInside = JSON.stringify({ a: tensor('F32', [2], [0, 8]), z: tensor('F32', [0], [4, 4]) });
  await rejects(t, await craft(zeroSizeInside, 8), /tensor "z" .* overlaps tensor "a"/);
});

test('a byte count that does not match shape × dtype size', async (t) => {
  await rejects(t, await craft(JSON.stringify({ w: tensor('F32', [2, 2], [0, 12]) }), 12), /tensor "w" holds 12 bytes but F32 with shape \[2, 2\] needs 16/);
  await rejects(t, await craft(JSON.stringify({ w: tensor('BF16', [3], [0, 3]) }), 3), /tensor "w" holds 3 bytes but BF16 with shape \[3\] needs 6/);
});

test('a shape with more elements than can be addressed', async (t) => {
  await rejects(t, await craft(JSON.stringify({ w: tensor('U8', [2 ** 30, 2 ** 30, 2 ** 30], [0, 4]) }), 4), /tensor "w" has shape .* with too many elements/);
});

test('data bytes that belong to no tensor (a gap, or trailing bytes), as Hugging Face refuses them', async (t) => {
  const gap = JSON.stringify({ a: tensor('U8', [4], [0, 4]), b: tensor('U8', [4], [8, 12]) });
  await rejects(t, await craft(gap, 12), /data bytes 4\.\.8 belong to no tensor \(a gap before tensor "b"\)/);
  await rejects(t, await craft(JSON.stringify({ a: tensor('U8', [4], [0, 4]) }), 6), /the last 2 data bytes belong to no tensor/);
  await rejects(t, await craft('{}', 3), /the last 3 data bytes belong to no tensor/);
});

test('a missing file is an ERR_INVALID_ARG naming it', async (t) => {
  const path = join(dir, 'does-not-exist.safetensors');
  await rejects(t, path, /no such safetensors file/);
});

test('a path that cannot be read as a file is an ERR_IO naming it', async (t) => {
  const path = join(dir, 'a-folder.safetensors');
  await mkdir(path);
  const error = await t.throwsAsync(readSafetensorsHeader(path), { instanceOf: RexragError });
  t.is(error?.code, 'ERR_IO');
  t.regex(error?.message ?? '', new RegExp(`^cannot read safetensors file ${path}: `));
});
