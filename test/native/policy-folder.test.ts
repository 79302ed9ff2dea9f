// Loading a Hugging Face folder into the native policy: fp32, bf16 and sharded layouts give exactly the file's
// weights; the native reader re-checks byte ranges; strict loading names bad keys; a saved folder loads back;
// the generate / logprobs commands print JSON and fail with one line on bad input.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { isRexragError } from '../../lib/errors.js';
import { loadPolicy, savePolicyFolder } from '../../lib/model/load-policy.js';
import { Policy } from '../../lib/model/policy.js';
import { bfloat16ToFloat32, readSafetensorsHeader, resolveWeightFiles, toNativeWeightFiles, writeSafetensors } from '../../lib/model/safetensors.js';
import { writeTinyModel } from '../../lib/model/tiny-model.js';
import { runCli } from '../helpers/run-cli.js';

const root = mkdtempSync(join(tmpdir(), 'rexrag-folder-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));

/** The raw values of every tensor in a folder's weight files, as float32. */
async function fileWeights(dir: string): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const header of await resolveWeightFiles(dir)) {
    const bytes = readFileSync(header.path);
    for (const tensor of header.tensors) {
      const raw = bytes.subarray(header.dataStart + tensor.begin, header.dataStart + tensor.end);
      const copy = new Uint8Array(raw);  // aligned copy
      out.set(tensor.name, tensor.dtype === 'BF16' ? bfloat16ToFloat32(new Uint16Array(copy.buffer)) : new Float32Array(copy.buffer));
    }
  }
  return out;
}

for (const [label, options] of [['float32', { dtype: 'float32' }], ['bfloat16', { dtype: 'bfloat16' }], ['3 shards', { shards: 3 }], ['tied', { tieWordEmbeddings: true }]] as const) {
  test(`a ${label} folder loads exactly the file's weights`, async (t) => {
    const dir = join(root, label.replace(' ', '-'));
    await writeTinyModel(dir, { seed: 11, ...options });
    const policy = await loadPolicy(dir);
    const expected = await fileWeights(dir);
    for (const { name } of policy.parameters()) {
      t.deepEqual(policy.parameterValues(name), expected.get(name), name);
    }
    t.truthy(policy.tokenizer, 'the folder tokenizer is loaded');
    policy.dispose();
  });
}

test('sharded and single-file folders of the same seed score identically', async (t) => {
  const single = join(root, 'cmp-single');
  const sharded = join(root, 'cmp-sharded');
  await writeTinyModel(single, { seed: 5 });
  await writeTinyModel(sharded, { seed: 5, shards: 2 });
  const a = await loadPolicy(single);
  const b = await loadPolicy(sharded);
  const ids = a.tokenizer!.encode('<search> who wrote it </search>');
  t.deepEqual((await a.score([ids])).logps, (await b.score([ids])).logps);
  a.dispose();
  b.dispose();
});

test('the native reader refuses byte ranges the file does not hold, whatever the header said', async (t) => {
  const dir = join(root, 'lying');
  const model = await writeTinyModel(dir, { seed: 3 });
  const files = toNativeWeightFiles(await resolveWeightFiles(dir));
  const config = { ...model.config, num_key_value_heads: model.config.num_key_value_heads };
  const load = (mutate: (f: typeof files) => void) => {
    const copy = structuredClone(files);
    mutate(copy);
    return Policy.fromWeightFiles(config, copy);
  };
  const beyond = await t.throwsAsync(load((f) => (f[0]!.tensors[0]!.end += 1e9)));
  t.true(isRexragError(beyond, 'ERR_INVALID_ARG'));
  t.regex(beyond!.message, /ends at byte \d+ but the file has \d+ bytes/);
  await t.throwsAsync(load((f) => (f[0]!.tensors[1]!.begin = f[0]!.tensors[0]!.begin)), { message: /overlaps|holds \d+ bytes but its shape needs/ });
  await t.throwsAsync(load((f) => (f[0]!.tensors[0]!.shape = [3, 3])), { message: /holds \d+ bytes but its shape needs 36/ });
  await t.throwsAsync(load((f) => (f[0]!.tensors[0]!.dtype = 'Q4')), { message: /unknown safetensors dtype "Q4"/ });
  await t.throwsAsync(load((f) => (f[0]!.path = join(dir, 'nope.safetensors'))), { message: /cannot open/ });
});

test('strict loading lists missing, unexpected and mis-shaped weights by name', async (t) => {
  const dir = join(root, 'strict');
  await writeTinyModel(dir, { seed: 4 });
  const header = await readSafetensorsHeader(join(dir, 'model.safetensors'));
  const bytes = readFileSync(join(dir, 'model.safetensors'));
  const tensors = header.tensors
    .filter((x) => x.name !== 'model.norm.weight')
    .map((x) => ({ name: x.name, dtype: x.dtype, shape: x.shape, data: new Uint8Array(bytes.subarray(header.dataStart + x.begin, header.dataStart + x.end)) }));
  tensors.push({ name: 'model.extra.weight', dtype: 'F32', shape: [2], data: new Uint8Array(8) });
  await writeSafetensors(join(dir, 'model.safetensors'), tensors);
  const error = await t.throwsAsync(loadPolicy(dir));
  t.regex(error!.message, /model\.norm\.weight/);
  t.regex(error!.message, /model\.extra\.weight/);
});

test('a saved policy folder loads back with the same weights and tokenizer', async (t) => {
  const source = join(root, 'save-src');
  await writeTinyModel(source, { seed: 8 });
  const policy = await loadPolicy(source);
  const target = join(root, 'save-dst');
  await savePolicyFolder(policy, target);
  await savePolicyFolder(policy, target);  // replacing an existing folder works too
  const loaded = await loadPolicy(target);
  const ids = policy.tokenizer!.encode('<answer> Paris </answer>');
  t.deepEqual((await loaded.score([ids])).logps, (await policy.score([ids])).logps);
  t.deepEqual(loaded.tokenizer!.encode('<answer> Paris </answer>'), ids);
  policy.dispose();
  loaded.dispose();
});

test('a policy saved after its source folder was deleted is still a complete folder (a pruned checkpoint)', async (t) => {
  const source = join(root, 'pruned-src');
  await writeTinyModel(source, { seed: 9 });
  const sourceConfig = JSON.parse(readFileSync(join(source, 'config.json'), 'utf8')) as Record<string, unknown>;
  const policy = await loadPolicy(source);
  rmSync(source, { recursive: true, force: true });
  const target = join(root, 'pruned-dst');
  await savePolicyFolder(policy, target);
  const saved = JSON.parse(readFileSync(join(target, 'config.json'), 'utf8')) as Record<string, unknown>;
  for (const key of ['bos_token_id', 'eos_token_id']) t.deepEqual(saved[key], sourceConfig[key], `config.json keeps ${key}`);
  const loaded = await loadPolicy(target);
  t.truthy(loaded.tokenizer, 'tokenizer files were written');
  t.deepEqual(loaded.tokenizer!.encode('<answer> Paris </answer>'), policy.tokenizer!.encode('<answer> Paris </answer>'));
  policy.dispose();
  loaded.dispose();
});

test('rexrag generate and rexrag logprobs print JSON that agrees with the library', async (t) => {
  const dir = join(root, 'cli');
  await writeTinyModel(dir, { seed: 21 });
  const args = ['generate', '--model', dir, '--prompt', 'Who wrote Hamlet?', '--chat', '--max-new-tokens', '6', '--temperature', '0'];
  const first = await runCli(args);
  t.is(first.code, 0, first.stderr);
  const out = JSON.parse(first.stdout);
  t.is(out.tokenIds.length, out.logprobs.length);
  t.true(['length', 'eos', 'stop'].includes(out.stopReason));
  t.is(typeof out.text, 'string');
  t.deepEqual(JSON.parse((await runCli(args)).stdout).tokenIds, out.tokenIds, 'greedy is deterministic');

  const policy = await loadPolicy(dir);
  const ids = [policy.tokenizer!.encode('<think> x </think>'), [5, 6, 7]];
  const idsFile = join(root, 'ids.json');
  writeFileSync(idsFile, JSON.stringify(ids));
  const scored = await runCli(['logprobs', '--model', dir, '--ids-file', idsFile]);
  t.is(scored.code, 0, scored.stderr);
  const { logprobs } = JSON.parse(scored.stdout);
  const { logps } = await policy.score(ids);
  t.is(logprobs[0][0], null);
  logps.forEach((row, r) => row.forEach((v, i) => i > 0 && t.true(Math.abs(v - logprobs[r][i]) < 1e-6)));
  policy.dispose();
});

test('the CLI refuses bad input with one line on stderr and a non-zero exit', async (t) => {
  const dir = join(root, 'cli');
  const cases: [string[], number, RegExp][] = [
    [['generate', '--prompt', 'x'], 2, /--model is required/],
    [['generate', '--model', join(root, 'absent'), '--prompt', 'x'], 1, /config\.json/],
    [['generate', '--model', dir, '--prompt', 'x', '--temperature', 'hot'], 2, /--temperature must be a number/],
    [['logprobs', '--model', dir, '--ids-file', join(root, 'absent.json')], 2, /--ids-file/],
  ];
  writeFileSync(join(root, 'bad-ids.json'), '[[1, 2, 99999]]');
  cases.push([['logprobs', '--model', dir, '--ids-file', join(root, 'bad-ids.json')], 2, /must be <=/]);
  for (const [args, code, message] of cases) {
    const result = await runCli(args);
    t.is(result.code, code, `${args.join(' ')}: ${result.stderr}`);
    t.regex(result.stderr, message);
    t.is(result.stderr.trim().split('\n').length, 1, `one line: ${result.stderr}`);
  }
});

test('bfloat16 compute scores within bf16 rounding of float32', async (t) => {
  const dir = join(root, 'compute-dtype');
  await writeTinyModel(dir, { seed: 12 });
  const fp32 = await loadPolicy(dir);
  const bf16 = await loadPolicy(dir, { dtype: 'bfloat16' });
  const ids = fp32.tokenizer!.encode('<think> the river </think><search> nile </search>');
  const a = (await fp32.score([ids])).logps[0]!;
  const b = (await bf16.score([ids])).logps[0]!;
  const diff = Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));
  t.true(diff < 0.05, `largest |bf16 − fp32| = ${diff}`);
  t.true(diff > 0, 'bf16 really computed in bf16');
  fp32.dispose();
  bf16.dispose();
});
