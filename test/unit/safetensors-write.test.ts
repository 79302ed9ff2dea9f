// The safetensors writer produces the exact layout of the format (checked against bytes built by hand), round
// trips through the reader for F32, BF16, I64 and raw U8, validates its input, and replaces files atomically.
// Also the float32 <-> bfloat16 conversions.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { RexragError } from '../../lib/errors.js';
import {
  bfloat16ToFloat32,
  float32ToBfloat16,
  readSafetensorsHeader,
  toNativeWeightFiles,
  writeSafetensors,
} from '../../lib/model/safetensors.js';

let dir: string;
test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rexrag-st-write-'));
});
test.after.always(async () => {
  await rm(dir, { recursive: true, force: true });
});

function bytesOf(view: ArrayBufferView): Buffer {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

test('the file is laid out exactly as the format says: u64 length, space-padded sorted header, data in name order', async (t) => {
  const path = join(dir, 'exact.safetensors');
  await writeSafetensors(path, [
    { name: 'b', dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) },
    { name: 'a', dtype: 'I32', shape: [1], data: new Int32Array([7]) },
  ]);
  const json = '{"__metadata__":{"format":"pt"},"a":{"dtype":"I32","shape":[1],"data_offsets":[0,4]},' +
    '"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}';
  const padded = json + ' '.repeat((8 - (json.length % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(padded.length));
  const data = Buffer.alloc(12);
  data.writeInt32LE(7, 0);
  data.writeFloatLE(1, 4);
  data.writeFloatLE(2, 8);
  const expected = Buffer.concat([length, Buffer.from(padded), data]);
  t.deepEqual(await readFile(path), expected);
  t.is(padded.length % 8, 0);
});

test('F32, BF16, I64, U8, scalar and empty tensors round-trip through the reader', async (t) => {
  const path = join(dir, 'round-trip.safetensors');
  const f32 = new Float32Array([0.5, -1.25, 3e-8, 65504, -0, Number.POSITIVE_INFINITY]);
  const bf16 = float32ToBfloat16([1, -2.5, 0.1, 1e30, -1e-30, 3.14159]);
  const i64 = new BigInt64Array([0n, -1n, 2n ** 62n, -(2n ** 63n)]);
  const raw = new Uint8Array([1, 0, 1]);
  const tensors = [
    { name: 'model.w', dtype: 'F32' as const, shape: [2, 3], data: f32 },
    { name: 'model.bf', dtype: 'BF16' as const, shape: [3, 2], data: bf16 },
    { name: 'ids', dtype: 'I64' as const, shape: [4], data: i64 },
    { name: 'mask', dtype: 'BOOL' as const, shape: [3], data: raw },
    { name: 'scalar', dtype: 'F32' as const, shape: [], data: new Float32Array([42]) },
    { name: 'empty', dtype: 'F32' as const, shape: [0, 5], data: new Float32Array(0) },
  ];
  await writeSafetensors(path, tensors, { source: 'test' });
  const header = await readSafetensorsHeader(path);
  t.deepEqual(header.metadata, { format: 'pt', source: 'test' });
  t.deepEqual(header.tensors.map((x) => x.name), ['empty', 'ids', 'mask', 'model.bf', 'model.w', 'scalar']);
  const file = await readFile(path);
  const [native] = toNativeWeightFiles([header]);
  for (const input of tensors) {
    const entry = header.tensors.find((x) => x.name === input.name)!;
    t.is(entry.dtype, input.dtype);
    t.deepEqual(entry.shape, input.shape);
    t.deepEqual(file.subarray(header.dataStart + entry.begin, header.dataStart + entry.end), bytesOf(input.data), input.name);
    const absolute = native!.tensors.find((x) => x.name === input.name)!;
    t.deepEqual(file.subarray(absolute.begin, absolute.end), bytesOf(input.data), `${input.name} (absolute offsets)`);
  }
  t.is(native!.path, path);
  // The BF16 payload decodes back to the rounded values.
  const entry = header.tensors.find((x) => x.name === 'model.bf')!;
  const stored = file.subarray(header.dataStart + entry.begin, header.dataStart + entry.end);
  const decoded = bfloat16ToFloat32(new Uint16Array(stored.buffer.slice(stored.byteOffset, stored.byteOffset + stored.byteLength)));
  t.is(decoded[0], 1);
  t.is(decoded[1], -2.5);
  t.true(Math.abs(decoded[2]! - 0.1) < 0.1 / 128);
});

test('a typed-array view into a larger buffer writes only its own bytes', async (t) => {
  const path = join(dir, 'view.safetensors');
  const backing = new Float32Array([9, 9, 1, 2, 9]);
  await writeSafetensors(path, [{ name: 'w', dtype: 'F32', shape: [2], data: backing.subarray(2, 4) }]);
  const header = await readSafetensorsHeader(path);
  const file = await readFile(path);
  t.deepEqual(file.subarray(header.dataStart), bytesOf(new Float32Array([1, 2])));
});

test('a Buffer is accepted as raw bytes for any dtype', async (t) => {
  const path = join(dir, 'buffer.safetensors');
  const raw = Buffer.from(new Float32Array([3, 4]).buffer);
  await writeSafetensors(path, [{ name: 'w', dtype: 'F32', shape: [2], data: raw }]);
  const header = await readSafetensorsHeader(path);
  t.deepEqual((await readFile(path)).subarray(header.dataStart), raw);
});

test('bad tensors are refused with errors naming them, and nothing is written', async (t) => {
  const path = join(dir, 'refused.safetensors');
  const ok = { name: 'w', dtype: 'F32' as const, shape: [2], data: new Float32Array(2) };
  await t.throwsAsync(writeSafetensors(path, [ok, { ...ok }]), { instanceOf: RangeError, message: 'tensors[1].name "w" appears twice' });
  await t.throwsAsync(writeSafetensors(path, [{ ...ok, shape: [3] }]), { instanceOf: RangeError, message: /tensors\[0\] \("w"\) has 8 bytes of data but F32 with shape \[3\] needs 12/ });
  await t.throwsAsync(writeSafetensors(path, [{ ...ok, data: new Float64Array(1) }]), { instanceOf: TypeError, message: /tensors\[0\]\.data is a Float64Array, which cannot hold F32 values/ });
  await t.throwsAsync(writeSafetensors(path, [{ ...ok, dtype: 'F8' as never }]), { instanceOf: RangeError, message: /tensors\[0\]\.dtype must be one of/ });
  await t.throwsAsync(writeSafetensors(path, [{ ...ok, shape: [-2] }]), { instanceOf: TypeError, message: /tensors\[0\]\.shape must be a list of non-negative integers/ });
  await t.throwsAsync(writeSafetensors(path, [{ ...ok, name: '__metadata__' }]), { instanceOf: RangeError });
  await t.throwsAsync(writeSafetensors(path, [{ ...ok, data: [1, 2] as never }]), { instanceOf: TypeError, message: /tensors\[0\]\.data must be a Uint8Array or typed array/ });
  await t.throwsAsync(writeSafetensors(path, [ok], { n: 1 as never }), { instanceOf: TypeError, message: 'metadata.n must be a string, got number 1' });
  await t.throwsAsync(readFile(path), { code: 'ENOENT' });
});

test('writing replaces the file atomically and leaves no temporary file, also when it fails', async (t) => {
  const sub = await mkdtemp(join(dir, 'atomic-'));
  const path = join(sub, 'model.safetensors');
  await writeFile(path, 'old contents');
  await writeSafetensors(path, [{ name: 'x', dtype: 'U8', shape: [1], data: new Uint8Array([5]) }]);
  t.deepEqual((await readSafetensorsHeader(path)).tensors.map((x) => x.name), ['x']);
  t.deepEqual(await readdir(sub), ['model.safetensors']);
  const error = await t.throwsAsync(writeSafetensors(join(sub, 'missing-folder', 'w.safetensors'), []), { instanceOf: RexragError });
  t.is(error?.code, 'ERR_IO');
  t.deepEqual(await readdir(sub), ['model.safetensors']);
});

test('float32 -> bfloat16 rounds to nearest, ties to even, and keeps specials', (t) => {
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  const fromBits = (bits: number) => {
    u32[0] = bits;
    return f32[0]!;
  };
  // 1.0 is 0x3F800000; the bfloat16 ulp at 1.0 is 2^-7 = 0x10000 in float32 bits.
  t.is(float32ToBfloat16([1])[0], 0x3f80);
  t.is(float32ToBfloat16([fromBits(0x3f808000)])[0], 0x3f80, 'halfway, even below: down');
  t.is(float32ToBfloat16([fromBits(0x3f818000)])[0], 0x3f82, 'halfway, odd below: up to even');
  t.is(float32ToBfloat16([fromBits(0x3f808001)])[0], 0x3f81, 'just above halfway: up');
  t.is(float32ToBfloat16([fromBits(0x3f807fff)])[0], 0x3f80, 'just below halfway: down');
  t.is(float32ToBfloat16([-0])[0], 0x8000);
  t.is(float32ToBfloat16([Number.POSITIVE_INFINITY])[0], 0x7f80);
  t.is(float32ToBfloat16([Number.NEGATIVE_INFINITY])[0], 0xff80);
  t.is(float32ToBfloat16([fromBits(0x7f7fffff)])[0], 0x7f80, 'the largest float32 rounds to infinity');
  const nan = float32ToBfloat16([fromBits(0x7f800001), Number.NaN]);
  t.true(Number.isNaN(bfloat16ToFloat32(nan)[0]), 'a NaN whose payload is in the dropped bits stays NaN');
  t.true(Number.isNaN(bfloat16ToFloat32(nan)[1]));
});

test('bfloat16 -> float32 -> bfloat16 is the identity on every non-NaN pattern', (t) => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const back = float32ToBfloat16(bfloat16ToFloat32(all));
  let mismatches = 0;
  for (let i = 0; i < 65536; i++) {
    const isNaN = (i & 0x7f80) === 0x7f80 && (i & 0x7f) !== 0;
    if (!isNaN && back[i] !== i) mismatches++;
  }
  t.is(mismatches, 0);
  t.is(bfloat16ToFloat32([0x3f80, 0xc020])[0], 1);
  t.is(bfloat16ToFloat32([0x3f80, 0xc020])[1], -2.5);
});
