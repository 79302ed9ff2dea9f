// Hostile model folders fail fast with a named error instead of aborting, hanging or loading garbage:
// a config.json that claims more than the weights hold, NaN / infinite weights, FIFOs in place of model files
// (also when handed straight to the native loader), symbolic links that leave the folder (Hugging Face cache
// snapshots keep working), and EOS ids outside the vocabulary.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { isRexragError } from '../../lib/errors.js';
import { loadPolicy } from '../../lib/model/load-policy.js';
import { Policy } from '../../lib/model/policy.js';
import { resolveWeightFiles, toNativeWeightFiles } from '../../lib/model/safetensors.js';
import { writeTinyModel } from '../../lib/model/tiny-model.js';
import { runCli } from '../helpers/run-cli.js';

const root = mkdtempSync(join(tmpdir(), 'rexrag-guards-'));
const tiny = join(root, 'tiny');
test.before(async () => {
  await writeTinyModel(tiny, { seed: 5 });
});
test.after.always(() => rmSync(root, { recursive: true, force: true }));

/** A copy of the tiny folder, changed by `edit`. */
function variant(name: string, edit: (dir: string) => void): string {
  const dir = join(root, name);
  cpSync(tiny, dir, { recursive: true });
  edit(dir);
  return dir;
}

function editConfig(dir: string, change: Record<string, unknown>): void {
  const path = join(dir, 'config.json');
  writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), ...change }));
}

/** Fills one F32 tensor of dir/model.safetensors with `value`. */
function poison(dir: string, tensor: string, value: number): void {
  const path = join(dir, 'model.safetensors');
  const bytes = readFileSync(path);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const [begin, end] = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'))[tensor].data_offsets as [number, number];
  for (let at = 8 + headerLength + begin; at < 8 + headerLength + end; at += 4) bytes.writeFloatLE(value, at);
  writeFileSync(path, bytes);
}

/** Rejects when `promise` has not settled within `ms`: a hang is a failure, not a stuck test. */
function within<T>(promise: Promise<T>, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running after ${ms} ms (hung)`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

test('num_hidden_layers: 200000000 beside a tiny checkpoint is a named error, not an out-of-memory abort', async (t) => {
  const dir = variant('layers', (d) => editConfig(d, { num_hidden_layers: 200_000_000 }));
  // A small heap makes the old behaviour (building 2.4 billion expected weights) fail fast instead of swapping.
  const result = await runCli(['generate', '--model', dir, '--prompt', 'hi'], { env: { NODE_OPTIONS: '--max-old-space-size=256' } });
  t.is(result.code, 1, result.stderr);
  t.regex(result.stderr, /num_hidden_layers is 200000000 but the weights hold 2 layers/);
});

test('each size in config.json is compared with the tensor that holds it', async (t) => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ vocab_size: 4096 }, /vocab_size is 4096 but model\.embed_tokens\.weight has 640 rows/],
    [{ intermediate_size: 1_000_000 }, /intermediate_size is 1000000 but model\.layers\.0\.mlp\.gate_proj\.weight has 128 rows/],
    [{ num_key_value_heads: 4 }, /num_key_value_heads x head dim \(hidden_size \/ num_attention_heads = 16\) is 64 but model\.layers\.0\.self_attn\.k_proj\.weight has 32 rows/],
    [{ hidden_size: 4096, num_attention_heads: 32, num_key_value_heads: 32 }, /hidden_size is 4096 but model\.embed_tokens\.weight has 64 columns/],
  ];
  for (const [change, message] of cases) {
    const dir = variant(`size-${Object.keys(change).join('-')}`, (d) => editConfig(d, change));
    const error = await t.throwsAsync(loadPolicy(dir));
    t.true(isRexragError(error, 'ERR_INVALID_ARG'), String(error));
    t.regex(error!.message, message);
    t.regex(error!.message, /config\.json does not fit the weights in/);
  }
});

test('the native loader refuses a config that needs more parameters than the files hold, before allocating', async (t) => {
  const files = toNativeWeightFiles(await resolveWeightFiles(tiny));
  const config = JSON.parse(readFileSync(join(tiny, 'config.json'), 'utf8'));
  const error = await t.throwsAsync(within(Policy.fromWeightFiles({ ...config, num_hidden_layers: 200_000_000 }, files)));
  t.true(isRexragError(error, 'ERR_INVALID_ARG'), String(error));
  t.regex(error!.message, /num_hidden_layers 200000000.*needs .* parameters but the weight files hold \d+ values/);
});

for (const [label, value] of [['NaN', Number.NaN], ['infinite', Number.POSITIVE_INFINITY]] as const) {
  test(`${label} weights are refused at load, naming the tensor`, async (t) => {
    const dir = variant(`poison-${label}`, (d) => poison(d, 'model.layers.1.mlp.down_proj.weight', value));
    const error = await t.throwsAsync(loadPolicy(dir));
    t.true(isRexragError(error, 'ERR_INVALID_ARG'), String(error));
    t.regex(error!.message, /tensor "model\.layers\.1\.mlp\.down_proj\.weight" holds 8192 non-finite values \(NaN or infinity\) out of 8192/);
    const cli = await runCli(['generate', '--model', dir, '--prompt', 'hi', '--max-new-tokens', '2']);
    t.is(cli.code, 1, 'no garbage generation with exit 0');
  });
}

for (const name of ['config.json', 'model.safetensors', 'tokenizer.json']) {
  test(`a FIFO as ${name} is refused without blocking`, async (t) => {
    const dir = variant(`fifo-${name}`, (d) => {
      unlinkSync(join(d, name));
      execFileSync('mkfifo', [join(d, name)]);
    });
    const error = await t.throwsAsync(within(loadPolicy(dir)));
    t.true(isRexragError(error, 'ERR_INVALID_ARG'), String(error));
    t.regex(error!.message, new RegExp(`${name.replace('.', '\\.')} is a FIFO, not a regular file`));
  });
}

test('the native loader itself refuses a FIFO (a file swapped after the TypeScript checks) without blocking', async (t) => {
  const dir = variant('fifo-race', () => {});
  const files = toNativeWeightFiles(await resolveWeightFiles(dir));
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  unlinkSync(join(dir, 'model.safetensors'));
  execFileSync('mkfifo', [join(dir, 'model.safetensors')]);
  const error = await t.throwsAsync(within(Policy.fromWeightFiles(config, files)));
  t.true(isRexragError(error, 'ERR_INVALID_ARG'), String(error));
  t.regex(error!.message, /model\.safetensors: not a regular file \(a FIFO\)/);
});

test('symbolic links may not leave the model folder unless allowed', async (t) => {
  const outside = join(root, 'elsewhere');
  mkdirSync(outside, { recursive: true });
  const dir = variant('link-out', (d) => {
    renameSync(join(d, 'model.safetensors'), join(outside, 'weights.bin'));
    symlinkSync(join(outside, 'weights.bin'), join(d, 'model.safetensors'));
  });
  const error = await t.throwsAsync(loadPolicy(dir));
  t.true(isRexragError(error, 'ERR_INVALID_ARG'), String(error));
  t.regex(error!.message, /model\.safetensors is a symbolic link to .*elsewhere\/weights\.bin, outside the model folder/);
  t.regex(error!.message, /REXRAG_ALLOW_EXTERNAL_LINKS=1/);
  const allowed = await loadPolicy(dir, { allowExternalLinks: true });
  allowed.dispose();
  const inside = variant('link-in', (d) => {
    renameSync(join(d, 'config.json'), join(d, 'config.real.json'));
    symlinkSync('config.real.json', join(d, 'config.json'));
  });
  (await loadPolicy(inside)).dispose();
  t.pass();
});

test('a Hugging Face hub cache snapshot (files linked to ../../blobs) loads', async (t) => {
  const repo = join(root, 'hub', 'models--tiny--qwen');
  const snapshot = join(repo, 'snapshots', 'abc123');
  mkdirSync(join(repo, 'blobs'), { recursive: true });
  mkdirSync(snapshot, { recursive: true });
  for (const name of ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) {
    cpSync(join(tiny, name), join(repo, 'blobs', `blob-${name}`));
    symlinkSync(join('..', '..', 'blobs', `blob-${name}`), join(snapshot, name));
  }
  const policy = await loadPolicy(snapshot);
  t.is(policy.config.num_hidden_layers, 2);
  policy.dispose();
});

test('EOS ids outside the vocabulary are refused in generation options', async (t) => {
  const policy = await loadPolicy(tiny);
  const session = policy.createSession();
  try {
    const row = session.addRow([1, 2, 3]);
    const options = { temperature: 0, topP: 1, topK: 0, maxNewTokens: 2, seed: 0, stopStrings: [], eosTokenIds: [637, 99_999] };
    await t.throwsAsync(session.generate([row], options), { instanceOf: RangeError, message: /options\.eosTokenIds\[1\] must be <= 639, got 99999/ });
  } finally {
    session.dispose();
    policy.dispose();
  }
});

test('finite weights that overflow make generate and score fail with a named error, not null log-probs', async (t) => {
  const dir = variant('overflow', (d) => poison(d, 'model.norm.weight', 3e38));
  const policy = await loadPolicy(dir);
  const session = policy.createSession();
  try {
    const row = session.addRow([1, 2, 3]);
    const options = { temperature: 1, topP: 1, topK: 0, maxNewTokens: 2, seed: 0, stopStrings: [], eosTokenIds: [] };
    const generated = await t.throwsAsync(session.generate([row], options));
    t.true(isRexragError(generated, 'ERR_NATIVE'), String(generated));
    t.regex(generated!.message, /generation for row 0 produced non-finite logits \(NaN or infinity\) at new token 0/);
    const scored = await t.throwsAsync(policy.score([[1, 2, 3, 4]]));
    t.true(isRexragError(scored, 'ERR_NATIVE'), String(scored));
    t.regex(scored!.message, /scoring produced a non-finite log-prob \(NaN or infinity\) at token 1/);
  } finally {
    session.dispose();
    policy.dispose();
  }
});
