// resolveWeightFiles finds a folder's weights (one file or index + shards) and refuses inconsistent shard layouts
// with errors that name the files and tensors.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { RexragError } from '../../lib/errors.js';
import { resolveWeightFiles, writeSafetensors, type SafetensorsTensorInput } from '../../lib/model/safetensors.js';

let root: string;
test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'rexrag-st-folder-'));
});
test.after.always(async () => {
  await rm(root, { recursive: true, force: true });
});

const t4 = (name: string, value = 1): SafetensorsTensorInput => ({ name, dtype: 'F32', shape: [4], data: new Float32Array(4).fill(value) });

async function folder(files: Record<string, SafetensorsTensorInput[] | object | string>): Promise<string> {
  const dir = await mkdtemp(join(root, 'f-'));
  for (const [name, content] of Object.entries(files)) {
    if (Array.isArray(content)) await writeSafetensors(join(dir, name), content);
    else await writeFile(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return dir;
}

async function refused(t: import('ava').ExecutionContext, dir: string, message: RegExp): Promise<void> {
  const error = await t.throwsAsync(resolveWeightFiles(dir), { instanceOf: RexragError });
  t.is(error?.code, 'ERR_INVALID_ARG');
  t.regex(error?.message ?? '', message);
}

const shardA = 'model-00001-of-00002.safetensors';
const shardB = 'model-00002-of-00002.safetensors';

test('a single model.safetensors resolves to its header', async (t) => {
  const dir = await folder({ 'model.safetensors': [t4('b'), t4('a')] });
  const headers = await resolveWeightFiles(dir);
  t.is(headers.length, 1);
  t.is(headers[0]!.path, join(dir, 'model.safetensors'));
  t.deepEqual(headers[0]!.tensors.map((x) => x.name), ['a', 'b']);
});

test('sharded weights resolve to every shard header, each tensor in exactly one', async (t) => {
  const dir = await folder({
    [shardA]: [t4('a'), t4('b')],
    [shardB]: [t4('c')],
    'model.safetensors.index.json': { metadata: { total_size: 48 }, weight_map: { a: shardA, b: shardA, c: shardB } },
  });
  const headers = await resolveWeightFiles(dir);
  t.deepEqual(headers.map((h) => h.path), [join(dir, shardA), join(dir, shardB)]);
  t.deepEqual(headers.flatMap((h) => h.tensors.map((x) => x.name)), ['a', 'b', 'c']);
});

test('when both layouts exist the single file wins, as in transformers', async (t) => {
  const dir = await folder({
    'model.safetensors': [t4('only')],
    [shardA]: [t4('a')],
    'model.safetensors.index.json': { weight_map: { a: shardA } },
  });
  t.deepEqual((await resolveWeightFiles(dir)).map((h) => h.path), [join(dir, 'model.safetensors')]);
});

test('a folder without weights says what it looked for', async (t) => {
  const dir = await folder({ 'pytorch_model.bin': 'pickle' });
  await refused(t, dir, /no weights: neither model\.safetensors nor model\.safetensors\.index\.json is there/);
});

test('an index that is not JSON, or has no weight_map, or an empty one', async (t) => {
  await refused(t, await folder({ 'model.safetensors.index.json': '{oops' }), /model\.safetensors\.index\.json is not valid JSON/);
  await refused(t, await folder({ 'model.safetensors.index.json': { metadata: {} } }), /"weight_map" must be an object of tensor name -> shard file, got undefined/);
  await refused(t, await folder({ 'model.safetensors.index.json': { weight_map: {} } }), /"weight_map" is empty/);
});

test('a shard name that leaves the folder is refused', async (t) => {
  const dir = await folder({ 'model.safetensors.index.json': { weight_map: { a: '../elsewhere.safetensors' } } });
  await refused(t, dir, /tensor "a" maps to "\.\.\/elsewhere\.safetensors", which is not a file name in the folder/);
});

test('a listed shard that does not exist is named', async (t) => {
  const dir = await folder({ [shardA]: [t4('a')], 'model.safetensors.index.json': { weight_map: { a: shardA, b: shardB } } });
  await refused(t, dir, new RegExp(`listed shard files are missing: "${shardB}"`));
});

test('a tensor missing from its shard, in two shards, or not in the index is named', async (t) => {
  const wrongShard = await folder({
    [shardA]: [t4('a')],
    [shardB]: [t4('b')],
    'model.safetensors.index.json': { weight_map: { a: shardA, b: shardA } },
  });
  await refused(t, wrongShard, new RegExp(`tensors missing from the shard the index names: "b \\(in ${shardA}\\)"`));
  const twice = await folder({
    [shardA]: [t4('a'), t4('dup')],
    [shardB]: [t4('dup')],
    'model.safetensors.index.json': { weight_map: { a: shardA, dup: shardB } },
  });
  await refused(t, twice, new RegExp(`tensors in more than one shard: "dup \\(in ${shardA}, ${shardB}\\)"`));
  const unlisted = await folder({
    [shardA]: [t4('a'), t4('stray')],
    'model.safetensors.index.json': { weight_map: { a: shardA } },
  });
  await refused(t, unlisted, new RegExp(`tensors the index does not map to their shard: "stray \\(in ${shardA}\\)"`));
});

test('a malformed shard is reported by the header reader, naming the shard', async (t) => {
  const dir = await folder({ [shardA]: 'xx', 'model.safetensors.index.json': { weight_map: { a: shardA } } });
  await refused(t, dir, new RegExp(`${shardA}: the file has 2 bytes, too short`));
});
