// The tensors a Qwen2 checkpoint must hold (Hugging Face names and shapes) and the strict check of a folder's
// safetensors headers against them. Reading the tensor bytes is left to the native addon.
import { RexragError } from '../errors.js';
import { expectArray, expectBoolean, expectInteger, expectObject } from '../validate.js';
import type { SafetensorsHeader } from './safetensors.js';

export interface ExpectedWeight {
  name: string;
  shape: number[];
}

/** The hyper-parameters that decide Qwen2's weight shapes (config.json names). */
export interface Qwen2WeightShapes {
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  tie_word_embeddings?: boolean;
}

const FLOAT_DTYPES: ReadonlySet<string> = new Set(['F32', 'BF16', 'F16', 'F64']);

/**
 * Every parameter of HF's Qwen2ForCausalLM, with V = vocab_size, H = hidden_size, I = intermediate_size,
 * nH / nKV = attention / key-value heads and D = H / nH: model.embed_tokens.weight [V, H]; per layer
 * input_layernorm [H], q_proj [nH·D, H] + bias, k_proj and v_proj [nKV·D, H] + bias, o_proj [H, nH·D] (no
 * bias), post_attention_layernorm [H], gate_proj and up_proj [I, H], down_proj [H, I]; model.norm [H]; and
 * lm_head.weight [V, H] unless the embeddings are tied.
 */
export function expectedQwen2Weights(config: Qwen2WeightShapes): ExpectedWeight[] {
  expectObject(config, 'config');
  const V = expectInteger(config.vocab_size, 'config.vocab_size', { min: 1 });
  const H = expectInteger(config.hidden_size, 'config.hidden_size', { min: 1 });
  const I = expectInteger(config.intermediate_size, 'config.intermediate_size', { min: 1 });
  const layers = expectInteger(config.num_hidden_layers, 'config.num_hidden_layers', { min: 1 });
  const nH = expectInteger(config.num_attention_heads, 'config.num_attention_heads', { min: 1 });
  const nKV = expectInteger(config.num_key_value_heads, 'config.num_key_value_heads', { min: 1 });
  const tied = expectBoolean(config.tie_word_embeddings ?? false, 'config.tie_word_embeddings');
  if (H % nH !== 0) throw new RangeError(`config.hidden_size (${H}) must be divisible by config.num_attention_heads (${nH})`);
  const D = H / nH;

  const weights: ExpectedWeight[] = [{ name: 'model.embed_tokens.weight', shape: [V, H] }];
  for (let i = 0; i < layers; i++) {
    const p = `model.layers.${i}`;
    weights.push(
      { name: `${p}.input_layernorm.weight`, shape: [H] },
      { name: `${p}.self_attn.q_proj.weight`, shape: [nH * D, H] },
      { name: `${p}.self_attn.q_proj.bias`, shape: [nH * D] },
      { name: `${p}.self_attn.k_proj.weight`, shape: [nKV * D, H] },
      { name: `${p}.self_attn.k_proj.bias`, shape: [nKV * D] },
      { name: `${p}.self_attn.v_proj.weight`, shape: [nKV * D, H] },
      { name: `${p}.self_attn.v_proj.bias`, shape: [nKV * D] },
      { name: `${p}.self_attn.o_proj.weight`, shape: [H, nH * D] },
      { name: `${p}.post_attention_layernorm.weight`, shape: [H] },
      { name: `${p}.mlp.gate_proj.weight`, shape: [I, H] },
      { name: `${p}.mlp.up_proj.weight`, shape: [I, H] },
      { name: `${p}.mlp.down_proj.weight`, shape: [H, I] },
    );
  }
  weights.push({ name: 'model.norm.weight', shape: [H] });
  if (!tied) weights.push({ name: 'lm_head.weight', shape: [V, H] });
  return weights;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((dim, i) => dim === b[i]);
}

/** At most `limit` items, then "and N more". */
function listed(items: string[], limit = 30): string {
  return items.length > limit ? `${items.slice(0, limit).join(', ')} and ${items.length - limit} more` : items.join(', ');
}

/**
 * Strict loading: compares the tensors in `headers` with `expected` and throws one RexragError
 * ('ERR_INVALID_ARG') listing, by name, the missing, unexpected, mis-shaped, non-float and duplicated tensors.
 * Returns the headers without the tensors that are accepted but not loaded, so the native loader gets exactly
 * the expected set.
 *
 * Tied embeddings (expected has model.embed_tokens.weight but no lm_head.weight): some tied checkpoints still
 * store lm_head.weight (a copy of the embeddings). Like transformers, it is accepted and ignored: the output
 * projection uses model.embed_tokens.weight.
 */
export function checkWeights(expected: ExpectedWeight[], headers: SafetensorsHeader[]): SafetensorsHeader[] {
  expectArray(expected, 'expected');
  expectArray(headers, 'headers');
  const wanted = new Map(expected.map((w) => [w.name, w.shape]));
  const tied = wanted.has('model.embed_tokens.weight') && !wanted.has('lm_head.weight');
  const ignorable = (name: string) => tied && name === 'lm_head.weight';

  const found = new Map<string, string>(); // tensor name -> file
  const missing: string[] = [];
  const unexpected: string[] = [];
  const misShaped: string[] = [];
  const notFloat: string[] = [];
  const duplicated: string[] = [];
  for (const header of headers) {
    for (const tensor of header.tensors) {
      const where = found.get(tensor.name);
      if (where !== undefined) duplicated.push(`${tensor.name} (in ${where} and ${header.path})`);
      found.set(tensor.name, header.path);
      if (ignorable(tensor.name)) continue;
      const shape = wanted.get(tensor.name);
      if (shape === undefined) unexpected.push(tensor.name);
      else if (!sameShape(shape, tensor.shape)) misShaped.push(`${tensor.name} [${tensor.shape.join(', ')}] (expected [${shape.join(', ')}])`);
      if (shape !== undefined && !FLOAT_DTYPES.has(tensor.dtype)) notFloat.push(`${tensor.name} (${tensor.dtype})`);
    }
  }
  for (const w of expected) if (!found.has(w.name)) missing.push(w.name);

  const problems: string[] = [];
  if (missing.length) problems.push(`missing (${missing.length}): ${listed(missing)}`);
  if (unexpected.length) problems.push(`unexpected (${unexpected.length}): ${listed(unexpected)}`);
  if (misShaped.length) problems.push(`mis-shaped (${misShaped.length}): ${listed(misShaped)}`);
  if (notFloat.length) problems.push(`not floating point (${notFloat.length}): ${listed(notFloat)}`);
  if (duplicated.length) problems.push(`in more than one file (${duplicated.length}): ${listed(duplicated)}`);
  if (problems.length) {
    const files = headers.map((h) => h.path).join(', ');
    throw new RexragError(`the weights in ${files || '(no files)'} do not match the model config:\n  ${problems.join('\n  ')}`, 'ERR_INVALID_ARG');
  }
  return headers.map((header) => ({ ...header, tensors: header.tensors.filter((t) => !ignorable(t.name)) }));
}
