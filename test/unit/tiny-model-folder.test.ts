// writeTinyModel writes a real Hugging Face Qwen2 folder: it loads back through the config schema, the weight
// resolver + strict check and the tokenizer loader; seeds are reproducible; shards hold the same tensors; the
// tokenizer round-trips the agent tags and ChatML; and the CLI command writes the same folder.
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { RexragError } from '../../lib/errors.js';
import { checkWeights, expectedQwen2Weights, loadGenerationConfig, loadModelConfig } from '../../lib/model/hf-config.js';
import { bfloat16ToFloat32, readSafetensorsHeader, resolveWeightFiles, type SafetensorsHeader } from '../../lib/model/safetensors.js';
import { writeTinyModel } from '../../lib/model/tiny-model.js';
import { QWEN2_DEFAULT_SYSTEM_MESSAGE } from '../../lib/tokenizer/chatml-template.js';
import { loadTokenizer } from '../../lib/tokenizer/hf-tokenizer.js';
import { runCli } from '../helpers/run-cli.js';

let root: string;
test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'rexrag-tiny-'));
});
test.after.always(async () => {
  await rm(root, { recursive: true, force: true });
});

let counter = 0;
const fresh = () => join(root, `model-${counter++}`);

/** name -> raw bytes of every tensor in the headers. */
async function tensorBytes(headers: SafetensorsHeader[]): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const header of headers) {
    const file = await readFile(header.path);
    for (const t of header.tensors) out.set(t.name, file.subarray(header.dataStart + t.begin, header.dataStart + t.end));
  }
  return out;
}

function floats(bytes: Buffer): Float32Array {
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function meanStd(values: Float32Array): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
  return { mean, std: Math.sqrt(variance) };
}

test('the folder loads back: config, strict weight check, generation config and tokenizer', async (t) => {
  const dir = fresh();
  const model = await writeTinyModel(dir, { seed: 1 });
  t.deepEqual((await readdir(dir)).sort(), ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
  let bytes = 0;
  for (const file of await readdir(dir)) bytes += (await stat(join(dir, file))).size;
  t.true(bytes < 2 * 1024 * 1024, `the folder has ${bytes} bytes`);

  const config = await loadModelConfig(dir);
  t.deepEqual(config.architectures, ['Qwen2ForCausalLM']);
  t.is(config.model_type, 'qwen2');
  t.is(config.num_hidden_layers, 2);
  t.is(config.hidden_size, 64);
  t.is(config.num_attention_heads, 4);
  t.is(config.num_key_value_heads, 2);
  t.is(config.intermediate_size, 128);
  t.false(config.tie_word_embeddings);
  t.is(config.vocab_size % 64, 0);
  t.true(config.vocab_size >= model.tokenizerVocabSize && config.vocab_size - model.tokenizerVocabSize < 64);
  t.deepEqual(config, model.config);

  const headers = await resolveWeightFiles(dir);
  t.deepEqual(checkWeights(expectedQwen2Weights(config), headers), headers);
  t.true(headers[0]!.tensors.every((x) => x.dtype === 'F32'));

  const generation = await loadGenerationConfig(dir);
  t.deepEqual(generation?.eos_token_id, [model.imEndId, model.endOfTextId]);
  t.is(config.eos_token_id, model.imEndId);

  const tokenizer = await loadTokenizer(dir);
  t.is(tokenizer.vocabSize, model.tokenizerVocabSize);
  t.deepEqual(tokenizer.eosTokenIds, [model.imEndId, model.endOfTextId]);
  t.is(tokenizer.padTokenId, model.endOfTextId);
  t.deepEqual(tokenizer.encode('<|endoftext|><|im_start|><|im_end|>'), [model.endOfTextId, model.imStartId, model.imEndId]);
  t.is(tokenizer.tokenBytes().length, tokenizer.vocabSize);
});

test('weights look like a fresh Qwen2: matrices ~ N(0, 0.02²), biases small and nonzero, norms around 1', async (t) => {
  const dir = fresh();
  await writeTinyModel(dir, { seed: 2 });
  const weights = await tensorBytes(await resolveWeightFiles(dir));
  const embed = meanStd(floats(weights.get('model.embed_tokens.weight')!));
  t.true(Math.abs(embed.mean) < 0.002 && Math.abs(embed.std - 0.02) < 0.002, JSON.stringify(embed));
  const q = meanStd(floats(weights.get('model.layers.1.self_attn.q_proj.weight')!));
  t.true(Math.abs(q.std - 0.02) < 0.003, JSON.stringify(q));
  const bias = floats(weights.get('model.layers.0.self_attn.k_proj.bias')!);
  t.true(bias.every((b) => b !== 0 && Math.abs(b) < 0.2));
  const norm = meanStd(floats(weights.get('model.layers.0.input_layernorm.weight')!));
  t.true(Math.abs(norm.mean - 1) < 0.05 && norm.std > 0.05 && norm.std < 0.15, JSON.stringify(norm));
  t.notDeepEqual(weights.get('model.layers.0.mlp.up_proj.weight'), weights.get('model.layers.0.mlp.gate_proj.weight'), 'each tensor has its own stream');
  t.notDeepEqual(weights.get('lm_head.weight'), weights.get('model.embed_tokens.weight'));
});

test('the same seed gives byte-identical files; another seed other weights and the same tokenizer', async (t) => {
  const [a, b, c] = [fresh(), fresh(), fresh()];
  await writeTinyModel(a, { seed: 7 });
  await writeTinyModel(b, { seed: 7 });
  await writeTinyModel(c, { seed: 8 });
  for (const file of await readdir(a)) t.deepEqual(await readFile(join(a, file)), await readFile(join(b, file)), file);
  t.notDeepEqual(await readFile(join(a, 'model.safetensors')), await readFile(join(c, 'model.safetensors')));
  const [wa, wc] = await Promise.all([resolveWeightFiles(a).then(tensorBytes), resolveWeightFiles(c).then(tensorBytes)]);
  for (const [name, bytes] of wa) t.false(bytes.equals(wc.get(name)!), `${name} differs between seeds`);
  t.deepEqual(await readFile(join(a, 'tokenizer.json')), await readFile(join(c, 'tokenizer.json')));
});

test('a sharded layout resolves to the same tensors, byte for byte, as the single file', async (t) => {
  const single = fresh();
  const sharded = fresh();
  await writeTinyModel(single, { seed: 4 });
  const model = await writeTinyModel(sharded, { seed: 4, shards: 3 });
  t.deepEqual(model.files.slice(0, 4), [
    'model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors', 'model.safetensors.index.json',
  ]);
  const headers = await resolveWeightFiles(sharded);
  t.is(headers.length, 3);
  t.true(headers.every((h) => h.tensors.length > 0));
  checkWeights(expectedQwen2Weights(await loadModelConfig(sharded)), headers);
  const [one, many] = await Promise.all([resolveWeightFiles(single).then(tensorBytes), tensorBytes(headers)]);
  t.deepEqual([...many.keys()].sort(), [...one.keys()].sort());
  for (const [name, bytes] of one) t.true(bytes.equals(many.get(name)!), name);
  const index = JSON.parse(await readFile(join(sharded, 'model.safetensors.index.json'), 'utf8'));
  t.is(index.metadata.total_size, [...one.values()].reduce((n, b) => n + b.length, 0));

  // Rewriting the folder with one file removes the shards, so the layout stays unambiguous.
  await writeTinyModel(sharded, { seed: 4 });
  t.false((await readdir(sharded)).some((f) => f.startsWith('model-') || f.endsWith('index.json')));
});

test('bfloat16 weights are the float32 ones rounded; tied embeddings drop lm_head', async (t) => {
  const f32 = fresh();
  const bf16 = fresh();
  await writeTinyModel(f32, { seed: 5 });
  const model = await writeTinyModel(bf16, { seed: 5, dtype: 'bfloat16', tieWordEmbeddings: true });
  t.is(model.config.torch_dtype, 'bfloat16');
  t.true(model.config.tie_word_embeddings);
  const headers = await resolveWeightFiles(bf16);
  t.true(headers[0]!.tensors.every((x) => x.dtype === 'BF16'));
  t.false(headers[0]!.tensors.some((x) => x.name === 'lm_head.weight'));
  checkWeights(expectedQwen2Weights(await loadModelConfig(bf16)), headers);
  const [exact, rounded] = await Promise.all([resolveWeightFiles(f32).then(tensorBytes), tensorBytes(headers)]);
  const reference = floats(exact.get('model.layers.0.mlp.down_proj.weight')!);
  const stored = rounded.get('model.layers.0.mlp.down_proj.weight')!;
  const widened = bfloat16ToFloat32(new Uint16Array(stored.buffer.slice(stored.byteOffset, stored.byteOffset + stored.byteLength)));
  let worst = 0;
  for (let i = 0; i < reference.length; i++) worst = Math.max(worst, Math.abs(widened[i]! - reference[i]!) / Math.abs(reference[i]!));
  t.true(worst <= 2 ** -8, `largest relative rounding error ${worst}`);
});

test('the tiny tokenizer round-trips agent tags, unicode and ChatML, with learned merges', async (t) => {
  const dir = fresh();
  const model = await writeTinyModel(dir, { seed: 0 });
  const tokenizer = await loadTokenizer(dir);
  const tokenizerJson = JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8'));
  t.is(Object.keys(tokenizerJson.model.vocab).length, model.tokenizerVocabSize - 3, 'the BPE vocabulary + 3 special tokens');
  t.true(tokenizerJson.model.merges.length >= 200, `${tokenizerJson.model.merges.length} merges`);
  const episode = '<think> I need to search. </think>\n<search> capital of France </search>\n' +
    '<information> Doc 1 (Title: Paris) Paris is the capital of France. </information>\n<answer> Paris </answer>';
  const ids = tokenizer.encode(episode);
  t.is(tokenizer.decode(ids), episode);
  t.true(ids.length < new TextEncoder().encode(episode).length / 2, `${ids.length} tokens: merges compress the text`);
  for (const tag of ['<think>', '</think>', '<search>', '</search>', '<answer>', '</answer>', '<information>', '</information>']) {
    const tagIds = tokenizer.encode(tag);
    t.is(tokenizer.decode(tagIds), tag);
    t.true(tagIds.length <= 3, `${tag} is ${tagIds.length} tokens`);
  }
  const unicode = 'naïve café 😀 你好';
  const unicodeIds = tokenizer.encode(unicode);
  t.is(tokenizer.decode(unicodeIds), unicode);
  const bytes = tokenizer.tokenBytes();
  t.deepEqual(Buffer.concat(unicodeIds.map((id) => bytes[id]!)), Buffer.from(unicode, 'utf8'));

  const prompt = tokenizer.applyChatTemplate([{ role: 'user', content: 'Who wrote Moby-Dick?' }], { addGenerationPrompt: true });
  t.is(prompt, `<|im_start|>system\n${QWEN2_DEFAULT_SYSTEM_MESSAGE}<|im_end|>\n<|im_start|>user\nWho wrote Moby-Dick?<|im_end|>\n<|im_start|>assistant\n`);
  const promptIds = tokenizer.encode(prompt);
  t.is(promptIds[0], model.imStartId);
  t.is(promptIds.filter((id) => id === model.imEndId).length, 2);
  t.is(tokenizer.decode(promptIds), prompt);
  t.is(tokenizer.decode(promptIds, { skipSpecialTokens: true }), prompt.replace(/<\|im_(start|end)\|>/g, ''));
  t.true(promptIds.every((id) => id < model.config.vocab_size));
});

test('writeTinyModel validates its options', async (t) => {
  const dir = fresh();
  await t.throwsAsync(writeTinyModel(dir, { seed: -1 }), { instanceOf: RangeError, message: 'options.seed must be >= 0, got -1' });
  await t.throwsAsync(writeTinyModel(dir, { seed: 0, dtype: 'float16' as never }), { instanceOf: RangeError, message: /options\.dtype must be "float32" or "bfloat16"/ });
  await t.throwsAsync(writeTinyModel(dir, { seed: 0, shards: 0 }), { instanceOf: RangeError });
  await t.throwsAsync(writeTinyModel(dir, { seed: 0, shards: 1000 }), { instanceOf: RangeError, message: /options\.shards \(1000\) must be at most the number of tensors/ });
  await t.throwsAsync(writeTinyModel(dir, { seed: 0, vocabSize: 10 }), { instanceOf: RangeError, message: /options\.vocabSize must be >= / });
  const error = await t.throwsAsync(writeTinyModel(dir, { seed: 0, hidden: 66 }), { instanceOf: RexragError });
  t.regex(error?.message ?? '', /hidden_size: \(66\) must be divisible by num_attention_heads \(4\)/);
  await t.throwsAsync(stat(dir), { code: 'ENOENT' }, 'nothing was written');
});

test('`rexrag make-tiny-model` writes the folder and prints a summary; bad options exit 2', async (t) => {
  const dir = fresh();
  const result = await runCli(['make-tiny-model', '--out', dir, '--seed', '9', '--shards', '2', '--dtype', 'bfloat16', '--tie']);
  t.is(result.code, 0, result.stderr);
  const summary = JSON.parse(result.stdout);
  t.is(summary.dir, dir);
  t.true(summary.tie_word_embeddings);
  t.is(summary.torch_dtype, 'bfloat16');
  const headers = await resolveWeightFiles(dir);
  t.is(headers.length, 2);
  const library = fresh();
  await writeTinyModel(library, { seed: 9, shards: 2, dtype: 'bfloat16', tieWordEmbeddings: true });
  for (const file of await readdir(library)) t.deepEqual(await readFile(join(dir, file)), await readFile(join(library, file)), file);
  const header = await readSafetensorsHeader(join(dir, 'model-00001-of-00002.safetensors'));
  t.is(header.metadata.format, 'pt');

  const bad = await runCli(['make-tiny-model', '--out', fresh(), '--dtype', 'int8']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--dtype must be float32 or bfloat16, got "int8"/);
  const missing = await runCli(['make-tiny-model']);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /--out is required/);
});
