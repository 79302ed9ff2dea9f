// Writes a tiny but real Hugging Face Qwen2 folder for tests and demos: config.json, generation_config.json,
// seeded random weights (one file or shards + index), and the tiny byte-level BPE tokenizer with a ChatML
// template. Loading it is left to loadModelConfig / resolveWeightFiles / loadTokenizer and the native addon.
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { buildTinyTokenizer, type TinyTokenizerFiles } from '../tokenizer/tiny-tokenizer.js';
import { expectBoolean, expectInteger, expectNumber, expectObject, expectString } from '../validate.js';
import { float32ToBfloat16 } from './bfloat16.js';
import { parseModelConfig, type Qwen2Config } from './hf-config.js';
import { expectedQwen2Weights, type ExpectedWeight } from './qwen2-weights.js';
import { writeSafetensors, type SafetensorsTensorInput } from './safetensors.js';
import { makeFolder } from '../util/make-folder.js';

export interface TinyModelOptions {
  /** Seeds every weight (an integer in [0, 2^32)). Same seed and options: byte-identical files. */
  seed: number;
  /** Stored dtype of the weights. Default 'float32'. */
  dtype?: 'float32' | 'bfloat16';
  /** 1 writes model.safetensors; more writes model-0000k-of-0000n.safetensors + the index. Default 1. */
  shards?: number;
  layers?: number;
  hidden?: number;
  heads?: number;
  kvHeads?: number;
  intermediate?: number;
  tieWordEmbeddings?: boolean;
  /** Rows of the embedding / LM head; default: the tokenizer's ids rounded up to a multiple of 64 (as Qwen pads). */
  vocabSize?: number;
  /** Upper bound on learned BPE merges (the built-in text yields a few hundred). Default 400. */
  merges?: number;
  /**
   * The text the tokenizer's BPE merges are learned from (e.g. worldTokenizerText for the lab's world);
   * default the built-in English episodes (TINY_CORPUS).
   */
  tokenizerText?: string;
  /** Ready-made tokenizer files (e.g. buildLabTokenizer's); when given, `merges` and `tokenizerText` are unused. */
  tokenizer?: TinyTokenizerFiles;
  maxPositionEmbeddings?: number;
  ropeTheta?: number;
  rmsNormEps?: number;
  /** Standard deviation of the random matrices and biases (HF's initializer_range). Default 0.02. */
  initStd?: number;
}

export interface TinyModel {
  dir: string;
  /** config.json as written (validated). */
  config: Qwen2Config;
  /** Files written, relative to dir. */
  files: string[];
  /** Token ids the tokenizer can produce (< config.vocab_size). */
  tokenizerVocabSize: number;
  endOfTextId: number;
  imStartId: number;
  imEndId: number;
}

/** SplitMix-style generator: a Weyl sequence through murmur3's 32-bit finalizer; uniform in [0, 1). */
function uniformGenerator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    return mix32(state) / 4294967296;
  };
}

function mix32(x: number): number {
  let z = x >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** FNV-1a hash of a tensor name, so each tensor's stream depends on (seed, name) and not on write order. */
function nameHash(name: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/** `count` values mean + std·N(0, 1) (Box–Muller) from the stream of (seed, name). */
function normalValues(seed: number, name: string, count: number, mean: number, std: number): Float32Array {
  const uniform = uniformGenerator(mix32(seed ^ mix32(nameHash(name))));
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const radius = Math.sqrt(-2 * Math.log(1 - uniform()));
    const angle = 2 * Math.PI * uniform();
    out[i] = mean + std * radius * Math.cos(angle);
    if (i + 1 < count) out[i + 1] = mean + std * radius * Math.sin(angle);
  }
  return out;
}

/** Norm weights scatter around 1 (so a misapplied norm shows in parity tests); everything else around 0. */
function initialValues(weight: ExpectedWeight, seed: number, std: number): Float32Array {
  const count = weight.shape.reduce((a, b) => a * b, 1);
  const isNorm = weight.name.endsWith('layernorm.weight') || weight.name === 'model.norm.weight';
  return isNorm ? normalValues(seed, weight.name, count, 1, 0.1) : normalValues(seed, weight.name, count, 0, std);
}

const SHARD_FILE = /^model-\d{5}-of-\d{5}\.safetensors$/;

function shardName(k: number, n: number): string {
  return `model-${String(k).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`;
}

/** Writes JSON with sorted top-level keys, as transformers' save_pretrained does. */
async function writeJson(path: string, value: Record<string, unknown>): Promise<void> {
  const sorted = Object.fromEntries(Object.keys(value).sort().map((key) => [key, value[key]]));
  await writeFile(path, `${JSON.stringify(sorted, null, 2)}\n`);
}

/**
 * Writes a Hugging Face-style Qwen2 folder to `dir` (created when missing; weight files of the other layout are
 * removed so the folder is unambiguous). Defaults: 2 layers, hidden 64, 4 heads, 2 KV heads, intermediate 128,
 * untied embeddings, rope_theta 1e6 (Qwen2.5's), float32, one file. Weights: N(0, initStd²) matrices and
 * biases, norms 1 + N(0, 0.1²). Special tokens follow Qwen2.5-Instruct: config.json eos_token_id is
 * `<|im_end|>`, generation_config.json eos_token_id is [`<|im_end|>`, `<|endoftext|>`], pad is `<|endoftext|>`.
 */
export async function writeTinyModel(dir: string, options: TinyModelOptions): Promise<TinyModel> {
  expectString(dir, 'dir', { nonEmpty: true });
  expectObject(options, 'options');
  const seed = expectInteger(options.seed, 'options.seed', { min: 0, max: 2 ** 32 - 1 });
  const dtype = options.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'bfloat16') throw new RangeError(`options.dtype must be "float32" or "bfloat16", got ${JSON.stringify(dtype)}`);
  const shards = expectInteger(options.shards ?? 1, 'options.shards', { min: 1 });
  const layers = expectInteger(options.layers ?? 2, 'options.layers', { min: 1 });
  const hidden = expectInteger(options.hidden ?? 64, 'options.hidden', { min: 2 });
  const heads = expectInteger(options.heads ?? 4, 'options.heads', { min: 1 });
  const kvHeads = expectInteger(options.kvHeads ?? 2, 'options.kvHeads', { min: 1 });
  const intermediate = expectInteger(options.intermediate ?? 128, 'options.intermediate', { min: 1 });
  const tie = expectBoolean(options.tieWordEmbeddings ?? false, 'options.tieWordEmbeddings');
  const merges = expectInteger(options.merges ?? 400, 'options.merges', { min: 0 });
  const maxPositions = expectInteger(options.maxPositionEmbeddings ?? 2048, 'options.maxPositionEmbeddings', { min: 1 });
  const ropeTheta = expectNumber(options.ropeTheta ?? 1_000_000, 'options.ropeTheta', { min: Number.MIN_VALUE });
  const rmsNormEps = expectNumber(options.rmsNormEps ?? 1e-6, 'options.rmsNormEps', { min: Number.MIN_VALUE });
  const initStd = expectNumber(options.initStd ?? 0.02, 'options.initStd', { min: 0 });

  const tokenizerText = options.tokenizerText === undefined ? undefined : expectString(options.tokenizerText, 'options.tokenizerText', { nonEmpty: true });
  const tokenizer = options.tokenizer ?? buildTinyTokenizer(merges, tokenizerText);
  const vocabSize = expectInteger(options.vocabSize ?? Math.ceil(tokenizer.vocabSize / 64) * 64, 'options.vocabSize', { min: tokenizer.vocabSize });
  const config = parseModelConfig({
    architectures: ['Qwen2ForCausalLM'],
    attention_dropout: 0.0,
    bos_token_id: tokenizer.endOfTextId,
    eos_token_id: tokenizer.imEndId,
    hidden_act: 'silu',
    hidden_size: hidden,
    initializer_range: initStd,
    intermediate_size: intermediate,
    max_position_embeddings: maxPositions,
    max_window_layers: layers,
    model_type: 'qwen2',
    num_attention_heads: heads,
    num_hidden_layers: layers,
    num_key_value_heads: kvHeads,
    rms_norm_eps: rmsNormEps,
    rope_scaling: null,
    rope_theta: ropeTheta,
    sliding_window: maxPositions,
    tie_word_embeddings: tie,
    torch_dtype: dtype,
    transformers_version: '4.43.1',
    use_cache: true,
    use_sliding_window: false,
    vocab_size: vocabSize,
  }, 'options');

  const expected = expectedQwen2Weights(config);
  if (shards > expected.length) throw new RangeError(`options.shards (${shards}) must be at most the number of tensors (${expected.length})`);
  const tensors: SafetensorsTensorInput[] = expected.map((weight) => {
    const values = initialValues(weight, seed, initStd);
    return dtype === 'bfloat16'
      ? { name: weight.name, dtype: 'BF16', shape: weight.shape, data: float32ToBfloat16(values) }
      : { name: weight.name, dtype: 'F32', shape: weight.shape, data: values };
  });

  await makeFolder(dir);
  for (const entry of await readdir(dir)) {
    if (entry === 'model.safetensors' || entry === 'model.safetensors.index.json' || SHARD_FILE.test(entry)) {
      await rm(join(dir, entry), { force: true });
    }
  }
  const files: string[] = [];
  if (shards === 1) {
    await writeSafetensors(join(dir, 'model.safetensors'), tensors);
    files.push('model.safetensors');
  } else {
    // Contiguous groups in model order (as transformers shards a state dict), balanced by tensor count.
    const weightMap: Record<string, string> = {};
    for (let k = 0; k < shards; k++) {
      const group = tensors.slice(Math.floor((k * tensors.length) / shards), Math.floor(((k + 1) * tensors.length) / shards));
      const file = shardName(k + 1, shards);
      await writeSafetensors(join(dir, file), group);
      for (const t of group) weightMap[t.name] = file;
      files.push(file);
    }
    const totalSize = tensors.reduce((sum, t) => sum + t.data.byteLength, 0);
    const sortedMap = Object.fromEntries(Object.keys(weightMap).sort().map((name) => [name, weightMap[name]]));
    await writeJson(join(dir, 'model.safetensors.index.json'), { metadata: { total_size: totalSize }, weight_map: sortedMap });
    files.push('model.safetensors.index.json');
  }

  await writeJson(join(dir, 'config.json'), config);
  await writeJson(join(dir, 'generation_config.json'), {
    bos_token_id: tokenizer.endOfTextId,
    do_sample: true,
    eos_token_id: [tokenizer.imEndId, tokenizer.endOfTextId],
    pad_token_id: tokenizer.endOfTextId,
    temperature: 0.7,
    top_k: 20,
    top_p: 0.8,
    transformers_version: '4.43.1',
  });
  await writeJson(join(dir, 'tokenizer.json'), tokenizer.tokenizerJson);
  await writeJson(join(dir, 'tokenizer_config.json'), tokenizer.tokenizerConfig);
  files.push('config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json');

  return {
    dir,
    config,
    files,
    tokenizerVocabSize: tokenizer.vocabSize,
    endOfTextId: tokenizer.endOfTextId,
    imStartId: tokenizer.imStartId,
    imEndId: tokenizer.imEndId,
  };
}
