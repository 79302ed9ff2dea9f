// The Qwen2 config.json schema (defaults, pass-through, cross-field checks, errors naming the field), the
// generation_config.json schema, the expected Qwen2 weight list and the strict weight check.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { RexragError } from '../../lib/errors.js';
import {
  checkWeights,
  expectedQwen2Weights,
  loadGenerationConfig,
  loadModelConfig,
  parseModelConfig,
  tokenIdList,
  toNativeConfig,
} from '../../lib/model/hf-config.js';
import type { SafetensorsHeader } from '../../lib/model/safetensors.js';

const tiny = {
  architectures: ['Qwen2ForCausalLM'],
  model_type: 'qwen2',
  vocab_size: 640,
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 2048,
  rope_theta: 1000000,
  rms_norm_eps: 1e-6,
  tie_word_embeddings: false,
  hidden_act: 'silu',
  torch_dtype: 'float32',
  bos_token_id: 617,
  eos_token_id: 619,
  use_sliding_window: false,
  sliding_window: 2048,
};

let dir: string;
test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rexrag-config-'));
});
test.after.always(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('a valid tiny config loads, HF defaults fill the gaps and unknown keys pass through', (t) => {
  const config = parseModelConfig(tiny);
  t.is(config.num_key_value_heads, 2);
  t.is(config.sliding_window, 2048);
  const minimal = parseModelConfig({
    vocab_size: 100, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 4, custom_key: [1],
  });
  t.is(minimal.num_key_value_heads, 4, 'num_key_value_heads defaults to num_attention_heads');
  t.is(minimal.rope_theta, 10000);
  t.is(minimal.rms_norm_eps, 1e-6);
  t.is(minimal.tie_word_embeddings, false);
  t.is(minimal.max_position_embeddings, 32768);
  t.is(minimal.hidden_act, 'silu');
  t.deepEqual(minimal.custom_key, [1]);
  t.deepEqual(toNativeConfig(minimal), {
    vocab_size: 100, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 4,
    num_key_value_heads: 4, max_position_embeddings: 32768, rope_theta: 10000, rms_norm_eps: 1e-6, tie_word_embeddings: false,
  });
});

test("Qwen2.5-0.5B's published config.json is accepted", (t) => {
  const config = parseModelConfig({
    architectures: ['Qwen2ForCausalLM'], attention_dropout: 0.0, bos_token_id: 151643, eos_token_id: 151643,
    hidden_act: 'silu', hidden_size: 896, initializer_range: 0.02, intermediate_size: 4864, max_position_embeddings: 32768,
    max_window_layers: 24, model_type: 'qwen2', num_attention_heads: 14, num_hidden_layers: 24, num_key_value_heads: 2,
    rms_norm_eps: 1e-6, rope_theta: 1000000.0, sliding_window: 32768, tie_word_embeddings: true, torch_dtype: 'bfloat16',
    transformers_version: '4.40.1', use_cache: true, use_mrope: false, use_sliding_window: false, vocab_size: 151936,
  });
  t.is(config.hidden_size / config.num_attention_heads, 64);
  t.true(config.tie_word_embeddings);
});

const broken: [string, Record<string, unknown>, RegExp][] = [
  ['vocab_size missing', { vocab_size: undefined }, /^cfg: vocab_size: /m],
  ['hidden_size as a string', { hidden_size: '64' }, /^cfg: hidden_size: .*expected number/m],
  ['intermediate_size zero', { intermediate_size: 0 }, /^cfg: intermediate_size: /m],
  ['num_hidden_layers fractional', { num_hidden_layers: 1.5 }, /^cfg: num_hidden_layers: /m],
  ['num_attention_heads negative', { num_attention_heads: -4 }, /^cfg: num_attention_heads: /m],
  ['hidden_size not divisible by heads', { hidden_size: 66 }, /^cfg: hidden_size: \(66\) must be divisible by num_attention_heads \(4\)/m],
  ['kv heads not dividing heads', { num_key_value_heads: 3 }, /^cfg: num_key_value_heads: \(3\) must divide num_attention_heads \(4\)/m],
  ['odd head dim', { hidden_size: 24, num_attention_heads: 8, num_key_value_heads: 8 }, /^cfg: hidden_size: .*head dim 3, which must be even/m],
  ['head_dim disagreeing', { head_dim: 32 }, /^cfg: head_dim: \(32\) must equal hidden_size \/ num_attention_heads \(16\)/m],
  ['hidden_act gelu', { hidden_act: 'gelu' }, /^cfg: hidden_act: must be "silu"/m],
  ['rope_theta negative', { rope_theta: -1 }, /^cfg: rope_theta: /m],
  ['rms_norm_eps zero', { rms_norm_eps: 0 }, /^cfg: rms_norm_eps: /m],
  ['tie_word_embeddings as a string', { tie_word_embeddings: 'yes' }, /^cfg: tie_word_embeddings: /m],
  ['eos_token_id a string', { eos_token_id: 'x' }, /^cfg: eos_token_id: must be a token id or a non-empty list/m],
  ['eos_token_id an empty list', { eos_token_id: [] }, /^cfg: eos_token_id: /m],
  ['eos_token_id outside the vocabulary', { eos_token_id: [619, 640] }, /^cfg: vocab_size: \(640\) must exceed every special token id, got 640/m],
  ['another architecture', { architectures: ['LlamaForCausalLM'] }, /^cfg: architectures: must include "Qwen2ForCausalLM"/m],
  ['another model_type', { model_type: 'qwen3' }, /^cfg: model_type: must be "qwen2", got "qwen3"/m],
  ['rope scaling', { rope_scaling: { type: 'yarn', factor: 4 } }, /^cfg: rope_scaling: must be null: RoPE scaling is not supported/m],
  ['unknown torch_dtype', { torch_dtype: 'int8' }, /^cfg: torch_dtype: /m],
];

for (const [what, change, message] of broken) {
  test(`config error names the field: ${what}`, (t) => {
    const error = t.throws(() => parseModelConfig({ ...tiny, ...change }, 'cfg'), { instanceOf: RexragError });
    t.is(error?.code, 'ERR_INVALID_ARG');
    t.regex(error?.message ?? '', message);
  });
}

test('several problems are reported together, one line each', (t) => {
  const error = t.throws(() => parseModelConfig({ ...tiny, hidden_act: 'relu', vocab_size: -1, rope_theta: 'big' }, 'cfg'));
  const lines = error?.message.split('\n') ?? [];
  t.is(lines.length, 3, error?.message);
  t.true(lines.some((l) => l.startsWith('cfg: hidden_act:')));
  t.true(lines.some((l) => l.startsWith('cfg: vocab_size:')));
  t.true(lines.some((l) => l.startsWith('cfg: rope_theta:')));
});

test('loadModelConfig reads config.json and names the file or folder on failure', async (t) => {
  const good = await mkdtemp(join(dir, 'good-'));
  await writeFile(join(good, 'config.json'), JSON.stringify(tiny));
  t.is((await loadModelConfig(good)).vocab_size, 640);
  const empty = await mkdtemp(join(dir, 'empty-'));
  await t.throwsAsync(loadModelConfig(empty), { instanceOf: RexragError, message: `${empty}: no config.json (expected a Hugging Face model folder)` });
  const garbled = await mkdtemp(join(dir, 'garbled-'));
  await writeFile(join(garbled, 'config.json'), '{"vocab_size": ');
  await t.throwsAsync(loadModelConfig(garbled), { instanceOf: RexragError, message: new RegExp(`^${join(garbled, 'config.json')} is not valid JSON`) });
  const wrong = await mkdtemp(join(dir, 'wrong-'));
  await writeFile(join(wrong, 'config.json'), JSON.stringify({ ...tiny, num_attention_heads: 5 }));
  await t.throwsAsync(loadModelConfig(wrong), { message: new RegExp(`^${join(wrong, 'config.json')}: hidden_size: \\(64\\) must be divisible by num_attention_heads \\(5\\)`) });
});

test('generation_config.json is optional, validated and its eos ids listed', async (t) => {
  const none = await mkdtemp(join(dir, 'gen-none-'));
  t.is(await loadGenerationConfig(none), undefined);
  const some = await mkdtemp(join(dir, 'gen-'));
  await writeFile(join(some, 'generation_config.json'), JSON.stringify({ eos_token_id: [151645, 151643], temperature: 0.7, top_p: 0.8, top_k: 20, other: 'kept' }));
  const generation = await loadGenerationConfig(some);
  t.deepEqual(tokenIdList(generation?.eos_token_id), [151645, 151643]);
  t.is(generation?.top_p, 0.8);
  t.is(generation?.other, 'kept');
  t.deepEqual(tokenIdList(151643), [151643]);
  t.deepEqual(tokenIdList(null), []);
  await writeFile(join(some, 'generation_config.json'), JSON.stringify({ top_p: 1.5 }));
  await t.throwsAsync(loadGenerationConfig(some), { message: /generation_config\.json: top_p: / });
});

test('expectedQwen2Weights lists every HF parameter with its shape (GQA, untied and tied)', (t) => {
  const config = parseModelConfig(tiny);
  const weights = expectedQwen2Weights(config);
  t.is(weights.length, 1 + 12 * 2 + 1 + 1);
  const shape = (name: string) => weights.find((w) => w.name === name)?.shape;
  t.deepEqual(shape('model.embed_tokens.weight'), [640, 64]);
  t.deepEqual(shape('model.layers.1.input_layernorm.weight'), [64]);
  t.deepEqual(shape('model.layers.1.self_attn.q_proj.weight'), [64, 64]);
  t.deepEqual(shape('model.layers.1.self_attn.q_proj.bias'), [64]);
  t.deepEqual(shape('model.layers.0.self_attn.k_proj.weight'), [32, 64], 'kv heads 2 × head dim 16');
  t.deepEqual(shape('model.layers.0.self_attn.k_proj.bias'), [32]);
  t.deepEqual(shape('model.layers.0.self_attn.v_proj.weight'), [32, 64]);
  t.deepEqual(shape('model.layers.0.self_attn.v_proj.bias'), [32]);
  t.deepEqual(shape('model.layers.0.self_attn.o_proj.weight'), [64, 64]);
  t.is(shape('model.layers.0.self_attn.o_proj.bias'), undefined, 'o_proj has no bias');
  t.deepEqual(shape('model.layers.0.post_attention_layernorm.weight'), [64]);
  t.deepEqual(shape('model.layers.0.mlp.gate_proj.weight'), [128, 64]);
  t.deepEqual(shape('model.layers.0.mlp.up_proj.weight'), [128, 64]);
  t.deepEqual(shape('model.layers.0.mlp.down_proj.weight'), [64, 128]);
  t.deepEqual(shape('model.norm.weight'), [64]);
  t.deepEqual(shape('lm_head.weight'), [640, 64]);
  t.is(shape('model.layers.2.input_layernorm.weight'), undefined);
  const tied = expectedQwen2Weights({ ...config, tie_word_embeddings: true });
  t.is(tied.length, weights.length - 1);
  t.false(tied.some((w) => w.name === 'lm_head.weight'));
});

function header(path: string, tensors: { name: string; shape: number[]; dtype?: string }[]): SafetensorsHeader {
  return {
    path,
    dataStart: 64,
    fileSize: 64,
    metadata: {},
    tensors: tensors.map((x) => ({ name: x.name, shape: x.shape, dtype: (x.dtype ?? 'F32') as 'F32', begin: 0, end: 0 })),
  };
}

test('checkWeights accepts the exact set and returns the headers', (t) => {
  const expected = expectedQwen2Weights(parseModelConfig(tiny));
  const headers = [header('/m/a.safetensors', expected.slice(0, 10)), header('/m/b.safetensors', expected.slice(10))];
  t.deepEqual(checkWeights(expected, headers), headers);
});

test('checkWeights lists missing, unexpected, mis-shaped, non-float and duplicated tensors by name in one error', (t) => {
  const expected = expectedQwen2Weights(parseModelConfig(tiny));
  const present = expected
    .filter((w) => w.name !== 'model.norm.weight' && w.name !== 'model.layers.1.mlp.up_proj.weight')
    .map((w) => (w.name === 'model.layers.0.self_attn.k_proj.weight' ? { ...w, shape: [64, 64] } : w))
    .map((w) => (w.name === 'model.layers.0.input_layernorm.weight' ? { ...w, dtype: 'I64' } : w));
  const headers = [
    header('/m/a.safetensors', [...present, { name: 'model.layers.0.self_attn.rotary_emb.inv_freq', shape: [8] }]),
    header('/m/b.safetensors', [{ name: 'lm_head.weight', shape: [640, 64] }]),
  ];
  const error = t.throws(() => checkWeights(expected, headers), { instanceOf: RexragError });
  t.is(error?.code, 'ERR_INVALID_ARG');
  const message = error?.message ?? '';
  t.regex(message, /^ {2}missing \(2\): model\.layers\.1\.mlp\.up_proj\.weight, model\.norm\.weight$/m);
  t.regex(message, /^ {2}unexpected \(1\): model\.layers\.0\.self_attn\.rotary_emb\.inv_freq$/m);
  t.regex(message, /^ {2}mis-shaped \(1\): model\.layers\.0\.self_attn\.k_proj\.weight \[64, 64\] \(expected \[32, 64\]\)$/m);
  t.regex(message, /^ {2}not floating point \(1\): model\.layers\.0\.input_layernorm\.weight \(I64\)$/m);
  t.regex(message, /^ {2}in more than one file \(1\): lm_head\.weight \(in \/m\/a\.safetensors and \/m\/b\.safetensors\)$/m);
});

test('with tied embeddings a stored lm_head.weight is accepted and dropped from what is loaded', (t) => {
  const expected = expectedQwen2Weights(parseModelConfig({ ...tiny, tie_word_embeddings: true }));
  const withHead = [header('/m/model.safetensors', [...expected, { name: 'lm_head.weight', shape: [640, 64] }])];
  const loaded = checkWeights(expected, withHead);
  t.deepEqual(loaded[0]!.tensors.map((x) => x.name), expected.map((w) => w.name));
  const untiedExpected = expectedQwen2Weights(parseModelConfig(tiny));
  const withoutHead = [header('/m/model.safetensors', expected)];
  t.throws(() => checkWeights(untiedExpected, withoutHead), { message: /missing \(1\): lm_head\.weight/ });
});
