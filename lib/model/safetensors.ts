// Safetensors files from TypeScript: a strict, bounds-checked header reader (the native loader reads the tensor
// bytes itself from the validated entries), an atomic writer, and the single-file / sharded folder layouts.
// Which tensors a model expects is left to qwen2-weights.ts; reading tensor data is left to the addon.
import { endianness } from 'node:os';
import { rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { RexragError } from '../errors.js';
import type { NativeWeightFile } from '../native-types.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { describe, expectArray, expectObject, expectString } from '../validate.js';
import { openRegularFile, readRegularFile } from './model-files.js';

export { bfloat16ToFloat32, float32ToBfloat16 } from './bfloat16.js';

/** Bytes per element of each safetensors dtype this project reads and writes. */
export const DTYPE_SIZES = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 } as const;
export type SafetensorsDtype = keyof typeof DTYPE_SIZES;

/** Hugging Face's safetensors refuses headers above 100 MB; so do we, before allocating anything. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsTensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte range relative to the start of the data (absolute position = dataStart + begin). */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  path: string;
  /** Absolute offset of the data: 8 + header length. */
  dataStart: number;
  fileSize: number;
  /** In data order (by begin). */
  tensors: SafetensorsTensorInfo[];
  /** The string map under "__metadata__" (empty when absent). */
  metadata: Record<string, string>;
}

export interface SafetensorsTensorInput {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Raw little-endian bytes (Uint8Array), or a typed array matching the dtype (Float32Array for F32, ...). */
  data: ArrayBufferView;
}

const WEIGHTS_FILE = 'model.safetensors';
const INDEX_FILE = 'model.safetensors.index.json';

function isDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && Object.hasOwn(DTYPE_SIZES, value);
}

function invalid(message: string, cause?: unknown): RexragError {
  return new RexragError(message, 'ERR_INVALID_ARG', cause === undefined ? undefined : { cause });
}

function ioError(message: string, cause: unknown): RexragError {
  return new RexragError(`${message}: ${(cause as Error).message}`, 'ERR_IO', { cause });
}

/** Product of a shape's dimensions, or undefined when it leaves the exactly-representable integers. */
function elementCount(shape: readonly number[]): number | undefined {
  let count = 1;
  for (const dim of shape) {
    count *= dim;
    if (!Number.isSafeInteger(count)) return undefined;
  }
  return count;
}

function isShape(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((dim) => Number.isSafeInteger(dim) && dim >= 0);
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Checks one tensor entry of a parsed header; `dataSize` is the number of bytes after the header. */
function checkEntry(name: string, entry: unknown, dataSize: number, where: string): SafetensorsTensorInfo {
  const fail = (problem: string) => invalid(`${where}: tensor "${name}" ${problem}`);
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    throw fail(`must be an object with dtype, shape and data_offsets, got ${describe(entry)}`);
  }
  const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
  if (!isDtype(dtype)) {
    throw fail(`has unknown dtype ${JSON.stringify(dtype)} (expected one of ${Object.keys(DTYPE_SIZES).join(', ')})`);
  }
  if (!isShape(shape)) throw fail(`has shape ${JSON.stringify(shape)}; it must be a list of non-negative integers`);
  if (
    !Array.isArray(offsets) || offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]
  ) {
    throw fail(`has data_offsets ${JSON.stringify(offsets)}; they must be [begin, end] with integers 0 <= begin <= end`);
  }
  const [begin, end] = offsets as [number, number];
  if (end > dataSize) throw fail(`has data_offsets [${begin}, ${end}] beyond the data (${dataSize} bytes after the header)`);
  const count = elementCount(shape);
  if (count === undefined) throw fail(`has shape ${shapeText(shape)} with too many elements`);
  const needed = count * DTYPE_SIZES[dtype];
  if (end - begin !== needed) {
    throw fail(`holds ${end - begin} bytes but ${dtype} with shape ${shapeText(shape)} needs ${needed}`);
  }
  return { name, dtype, shape: [...shape], begin, end };
}

/**
 * Parses a header JSON text into tensor entries. Like Hugging Face's reader, the entries must tile the data
 * exactly: sorted by offset, each starts where the previous ended and the last ends at the end of the file.
 */
function parseHeader(text: string, dataSize: number, where: string): Pick<SafetensorsHeader, 'tensors' | 'metadata'> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw invalid(`${where}: header is not valid JSON: ${(error as Error).message}`, error);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw invalid(`${where}: header must be a JSON object, got ${describe(parsed)}`);
  }
  let metadata: Record<string, string> = {};
  const tensors: SafetensorsTensorInfo[] = [];
  for (const [name, entry] of Object.entries(parsed)) {
    if (name === '__metadata__') {
      if (
        typeof entry !== 'object' || entry === null || Array.isArray(entry) ||
        !Object.values(entry).every((v) => typeof v === 'string')
      ) {
        throw invalid(`${where}: "__metadata__" must be an object of strings, got ${JSON.stringify(entry)}`);
      }
      metadata = { ...(entry as Record<string, string>) };
      continue;
    }
    tensors.push(checkEntry(name, entry, dataSize, where));
  }
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end || (a.name < b.name ? -1 : 1));
  let position = 0;
  let previous: SafetensorsTensorInfo | undefined;
  for (const tensor of tensors) {
    if (tensor.begin < position) {
      throw invalid(`${where}: tensor "${tensor.name}" (data_offsets [${tensor.begin}, ${tensor.end}]) overlaps tensor "${previous!.name}" (data_offsets [${previous!.begin}, ${previous!.end}])`);
    }
    if (tensor.begin > position) {
      throw invalid(`${where}: data bytes ${position}..${tensor.begin} belong to no tensor (a gap before tensor "${tensor.name}")`);
    }
    position = tensor.end;
    previous = tensor;
  }
  if (position !== dataSize) {
    throw invalid(`${where}: the last ${dataSize - position} data bytes belong to no tensor (the data has ${dataSize} bytes, the tensors end at ${position})`);
  }
  return { tensors, metadata };
}

/**
 * Reads and validates the header of a safetensors file: an 8-byte little-endian length N, N bytes of UTF-8 JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {...}}`, then the data. Every problem
 * (short file, N past the end or above MAX_HEADER_BYTES, bad UTF-8 or JSON, unknown dtype, bad shape or offsets,
 * offsets past the data, overlaps or gaps, byte count != elements × dtype size) is a RexragError
 * 'ERR_INVALID_ARG' naming the file and tensor; a file that cannot be opened is 'ERR_IO'. Only the header is read.
 */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  expectString(path, 'path', { nonEmpty: true });
  let handle;
  try {
    handle = await openRegularFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw invalid(`${path}: no such safetensors file`, error);
    if (error instanceof RexragError) throw ioError(`cannot read safetensors file ${path}`, error); // not a regular file
    throw ioError(`cannot open safetensors file ${path}`, error);
  }
  try {
    const fileSize = (await handle.stat()).size;
    if (fileSize < 8) throw invalid(`${path}: the file has ${fileSize} bytes, too short for the 8-byte header length`);
    const prefix = Buffer.alloc(8);
    await handle.read(prefix, 0, 8, 0);
    const headerLength = prefix.readBigUInt64LE(0);
    if (headerLength > BigInt(MAX_HEADER_BYTES)) {
      throw invalid(`${path}: the header length ${headerLength} is above the ${MAX_HEADER_BYTES}-byte limit`);
    }
    const length = Number(headerLength);
    if (8 + length > fileSize) {
      throw invalid(`${path}: the header length ${length} runs past the end of the file (${fileSize} bytes)`);
    }
    const raw = Buffer.alloc(length);
    const { bytesRead } = await handle.read(raw, 0, length, 8);
    if (bytesRead !== length) throw invalid(`${path}: the file ended inside the header (read ${bytesRead} of ${length} bytes)`);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch (error) {
      throw invalid(`${path}: header is not valid UTF-8`, error);
    }
    const dataStart = 8 + length;
    return { path, dataStart, fileSize, ...parseHeader(text, fileSize - dataStart, path) };
  } catch (error) {
    if (error instanceof RexragError) throw error;
    throw ioError(`cannot read safetensors file ${path}`, error);
  } finally {
    await handle.close();
  }
}

/** Typed arrays that carry each dtype's elements as they are; any Uint8Array (Buffer too) carries raw bytes. */
const carriers: Record<SafetensorsDtype, (new (length: number) => ArrayBufferView)[]> = {
  F64: [Float64Array],
  F32: [Float32Array],
  F16: [Uint16Array],
  BF16: [Uint16Array],
  I64: [BigInt64Array],
  I32: [Int32Array],
  I16: [Int16Array],
  I8: [Int8Array],
  U8: [Uint8ClampedArray],
  BOOL: [],
};

function checkInput(tensor: unknown, i: number, seen: Set<string>): SafetensorsTensorInput {
  const what = `tensors[${i}]`;
  const { name, dtype, shape, data } = expectObject(tensor, what);
  expectString(name, `${what}.name`, { nonEmpty: true });
  if (name === '__metadata__') throw new RangeError(`${what}.name must not be "__metadata__"`);
  if (seen.has(name as string)) throw new RangeError(`${what}.name ${JSON.stringify(name)} appears twice`);
  seen.add(name as string);
  if (!isDtype(dtype)) throw new RangeError(`${what}.dtype must be one of ${Object.keys(DTYPE_SIZES).join(', ')}, got ${describe(dtype)}`);
  if (!isShape(shape)) throw new TypeError(`${what}.shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
  if (!ArrayBuffer.isView(data)) throw new TypeError(`${what}.data must be a Uint8Array or typed array, got ${describe(data)}`);
  if (!(data instanceof Uint8Array) && !carriers[dtype].some((kind) => data instanceof kind)) {
    throw new TypeError(`${what}.data is a ${data.constructor.name}, which cannot hold ${dtype} values (pass raw bytes as a Uint8Array)`);
  }
  const count = elementCount(shape);
  if (count === undefined) throw new RangeError(`${what}.shape ${shapeText(shape)} has too many elements`);
  if (data.byteLength !== count * DTYPE_SIZES[dtype]) {
    throw new RangeError(`${what} ("${name}") has ${data.byteLength} bytes of data but ${dtype} with shape ${shapeText(shape)} needs ${count * DTYPE_SIZES[dtype]}`);
  }
  return { name: name as string, dtype, shape: [...shape], data };
}

/**
 * Writes tensors as one safetensors file that Hugging Face's safetensors reads: names sorted, data in that
 * order, `__metadata__` = {format: "pt", ...metadata}, the header padded with spaces to a multiple of 8 (so the
 * data is 8-byte aligned). Atomic: a temporary file in the same folder, fsync, rename. Data is written as
 * given, so typed arrays must be in the host's byte order, which must be little-endian.
 */
export async function writeSafetensors(
  path: string,
  tensors: SafetensorsTensorInput[],
  metadata: Record<string, string> = {},
): Promise<void> {
  expectString(path, 'path', { nonEmpty: true });
  expectArray(tensors, 'tensors');
  for (const [key, value] of Object.entries(expectObject(metadata, 'metadata'))) {
    if (typeof value !== 'string') throw new TypeError(`metadata.${key} must be a string, got ${describe(value)}`);
  }
  if (endianness() !== 'LE') throw new RexragError('safetensors are little-endian; this host is big-endian', 'ERR_INVALID_ARG');
  const seen = new Set<string>();
  const sorted = tensors.map((t, i) => checkInput(t, i, seen)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const fullMetadata: Record<string, string> = { format: 'pt', ...metadata };
  const metadataText = Object.keys(fullMetadata).sort()
    .map((key) => `${JSON.stringify(key)}:${JSON.stringify(fullMetadata[key])}`).join(',');
  const parts = [`"__metadata__":{${metadataText}}`];
  let offset = 0;
  for (const tensor of sorted) {
    const end = offset + tensor.data.byteLength;
    parts.push(`${JSON.stringify(tensor.name)}:{"dtype":"${tensor.dtype}","shape":[${tensor.shape.join(',')}],"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  let header = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const padding = (8 - (header.length % 8)) % 8;
  if (padding > 0) header = Buffer.concat([header, Buffer.alloc(padding, 0x20)]);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(header.length));

  const chunks = [prefix, header, ...sorted.map((t) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))];
  await writeChunksAtomic(path, chunks);
}

/** Writes `chunks` to `path` atomically; an I/O failure is an ERR_IO naming the file. */
async function writeChunksAtomic(path: string, chunks: Uint8Array[]): Promise<void> {
  try {
    await writeFileAtomic(path, chunks);
  } catch (error) {
    throw ioError(`cannot write ${path}`, error);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw ioError(`cannot stat ${path}`, error);
  }
}

/** At most `limit` names, then "and N more". */
function listNames(names: string[], limit = 20): string {
  const shown = names.slice(0, limit).map((n) => JSON.stringify(n)).join(', ');
  return names.length > limit ? `${shown} and ${names.length - limit} more` : shown;
}

/**
 * The validated headers of a folder's weights: `model.safetensors`, else the shards listed in
 * `model.safetensors.index.json` (`weight_map`: tensor name -> shard file). For shards, every listed file must
 * exist in the folder, every mapped tensor must be in its shard, and every tensor of a shard must be mapped to
 * it (so each tensor is in exactly one shard). Like transformers, a single file wins when both layouts exist.
 */
export async function resolveWeightFiles(dir: string): Promise<SafetensorsHeader[]> {
  expectString(dir, 'dir', { nonEmpty: true });
  const single = join(dir, WEIGHTS_FILE);
  if (await exists(single)) return [await readSafetensorsHeader(single)];
  const indexPath = join(dir, INDEX_FILE);
  if (!(await exists(indexPath))) {
    throw invalid(`${dir}: no weights: neither ${WEIGHTS_FILE} nor ${INDEX_FILE} is there (only safetensors weights are supported)`);
  }
  let index: unknown;
  try {
    index = JSON.parse((await readRegularFile(indexPath)).toString('utf8'));
  } catch (error) {
    if (error instanceof RexragError) throw error;
    if (error instanceof SyntaxError) throw invalid(`${indexPath} is not valid JSON: ${error.message}`, error);
    throw ioError(`cannot read ${indexPath}`, error);
  }
  const weightMap = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
    throw invalid(`${indexPath}: "weight_map" must be an object of tensor name -> shard file, got ${describe(weightMap)}`);
  }
  const entries = Object.entries(weightMap as Record<string, unknown>);
  if (entries.length === 0) throw invalid(`${indexPath}: "weight_map" is empty`);
  for (const [name, file] of entries) {
    if (typeof file !== 'string' || file === '' || file !== basename(file) || file === '.' || file === '..' || file.includes('\\')) {
      throw invalid(`${indexPath}: tensor "${name}" maps to ${JSON.stringify(file)}, which is not a file name in the folder`);
    }
  }
  const shardNames = [...new Set(entries.map(([, file]) => file as string))].sort();
  const missingShards: string[] = [];
  for (const shard of shardNames) if (!(await exists(join(dir, shard)))) missingShards.push(shard);
  if (missingShards.length > 0) throw invalid(`${indexPath}: listed shard files are missing: ${listNames(missingShards)}`);

  const headers = await Promise.all(shardNames.map((shard) => readSafetensorsHeader(join(dir, shard))));
  const foundIn = new Map<string, string[]>();
  headers.forEach((header, i) => {
    for (const tensor of header.tensors) foundIn.set(tensor.name, [...(foundIn.get(tensor.name) ?? []), shardNames[i]!]);
  });
  const problems: string[] = [];
  const notInShard = entries.filter(([name, file]) => !(foundIn.get(name) ?? []).includes(file as string)).map(([name, file]) => `${name} (in ${file})`);
  if (notInShard.length) problems.push(`tensors missing from the shard the index names: ${listNames(notInShard)}`);
  const duplicated = [...foundIn].filter(([, shards]) => shards.length > 1).map(([name, shards]) => `${name} (in ${shards.join(', ')})`);
  if (duplicated.length) problems.push(`tensors in more than one shard: ${listNames(duplicated)}`);
  const unlisted = [...foundIn].filter(([name, shards]) => shards.length === 1 && (weightMap as Record<string, unknown>)[name] !== shards[0])
    .map(([name, shards]) => `${name} (in ${shards[0]})`);
  if (unlisted.length) problems.push(`tensors the index does not map to their shard: ${listNames(unlisted)}`);
  if (problems.length) throw invalid(`${dir}: the sharded weights do not match ${INDEX_FILE}:\n  ${problems.join('\n  ')}`);
  return headers;
}

/** The native loader's view of headers: absolute byte ranges (dataStart + begin, dataStart + end). */
export function toNativeWeightFiles(headers: SafetensorsHeader[]): NativeWeightFile[] {
  return headers.map((header) => ({
    path: header.path,
    tensors: header.tensors.map((t) => ({
      name: t.name,
      dtype: t.dtype,
      shape: [...t.shape],
      begin: header.dataStart + t.begin,
      end: header.dataStart + t.end,
    })),
  }));
}
