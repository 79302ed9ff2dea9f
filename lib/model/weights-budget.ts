// The budget check of a model folder: config.json's sizes (layers, hidden, intermediate, heads, vocab) must agree
// with the tensors the safetensors headers actually hold, before any list of expected weights is built or any
// tensor allocated. A config that claims more than the files hold (num_hidden_layers: 200000000 beside a 1 MB
// file) is a named error here instead of an out-of-memory abort later. Name-by-name strictness stays in
// qwen2-weights.ts; the native loader re-checks the parameter count against what it read.
import { totalmem } from 'node:os';

import { LimitError, RexragError } from '../errors.js';
import type { Qwen2WeightShapes } from './qwen2-weights.js';
import type { SafetensorsHeader } from './safetensors.js';

/**
 * Refuses (RexragError 'ERR_INVALID_ARG', naming config.json's fields and the tensors they were compared with) a
 * config whose sizes disagree with the headers: vocab_size and hidden_size against model.embed_tokens.weight,
 * intermediate_size against layer 0's gate_proj, num_key_value_heads x head dim against layer 0's k_proj, the
 * layer count against the model.layers.N indices present. Cheap: it reads the headers only, whatever the config
 * claims. A tensor that is absent or of another shape is left to checkWeights, which names each one (the sizes
 * are right by then, so its expected list is as small as the files).
 */
export function checkConfigFitsWeights(config: Qwen2WeightShapes, headers: SafetensorsHeader[], source = 'config.json'): void {
  const shapes = new Map<string, number[]>();
  const layers = new Set<number>();
  for (const header of headers) {
    for (const tensor of header.tensors) {
      shapes.set(tensor.name, tensor.shape);
      const layer = /^model\.layers\.(\d+)\./.exec(tensor.name);
      if (layer) layers.add(Number(layer[1]));
    }
  }
  const problems: string[] = [];
  const compare = (field: string, claimed: number, tensor: string, axis: number, derived = '') => {
    const shape = shapes.get(tensor);
    if (shape === undefined || shape.length !== 2 || shape[axis] === claimed) return;
    problems.push(`${field}${derived} is ${claimed} but ${tensor} has ${shape[axis]} ${axis === 0 ? 'rows' : 'columns'} [${shape.join(', ')}]`);
  };
  const headDim = config.hidden_size / config.num_attention_heads;
  compare('vocab_size', config.vocab_size, 'model.embed_tokens.weight', 0);
  compare('hidden_size', config.hidden_size, 'model.embed_tokens.weight', 1);
  compare('intermediate_size', config.intermediate_size, 'model.layers.0.mlp.gate_proj.weight', 0);
  compare('num_key_value_heads', config.num_key_value_heads * headDim, 'model.layers.0.self_attn.k_proj.weight', 0,
    ` x head dim (hidden_size / num_attention_heads = ${headDim})`);
  if (config.num_hidden_layers > layers.size) {
    problems.push(`num_hidden_layers is ${config.num_hidden_layers} but the weights hold ${layers.size} layer${layers.size === 1 ? '' : 's'} (model.layers.N)`);
  }
  if (problems.length > 0) {
    const files = headers.map((h) => h.path).join(', ') || '(no files)';
    throw new RexragError(`${source} does not fit the weights in ${files}:\n  ${problems.join('\n  ')}`, 'ERR_INVALID_ARG');
  }
}

/** Parameters of HF's Qwen2ForCausalLM for `config`, as a float (it may pass 2^53 for absurd configs). */
export function qwen2ParameterCount(config: Qwen2WeightShapes): number {
  const { vocab_size: V, hidden_size: H, intermediate_size: I, num_hidden_layers: L } = config;
  const q = H; // num_attention_heads x head dim
  const kv = (config.num_key_value_heads * H) / config.num_attention_heads;
  // norms 2H; q (weight + bias), k and v (weight + bias), o; gate, up, down.
  const perLayer = 2 * H + (q * H + q) + 2 * (kv * H + kv) + H * q + 3 * I * H;
  return V * H + L * perLayer + H + (config.tie_word_embeddings ? 0 : V * H);
}

/**
 * Refuses (LimitError, limit 'parameterBytes') a model whose weights alone would not fit in this machine's memory:
 * `bytesPerParameter` per parameter (4 for float32, more when a generation copy is kept). Checked before a random
 * policy is built, where no file bounds the sizes.
 */
export function checkParameterBudget(config: Qwen2WeightShapes, bytesPerParameter: number, memoryBytes = totalmem()): void {
  const parameters = qwen2ParameterCount(config);
  const bytes = parameters * bytesPerParameter;
  if (bytes > memoryBytes) {
    throw new LimitError(
      `the config (num_hidden_layers ${config.num_hidden_layers}, hidden_size ${config.hidden_size}, intermediate_size ` +
        `${config.intermediate_size}, vocab_size ${config.vocab_size}) needs ${parameters.toPrecision(4)} parameters, ` +
        `${(bytes / 2 ** 30).toPrecision(4)} GiB, more than this machine's ${(memoryBytes / 2 ** 30).toFixed(1)} GiB of memory`,
      'parameterBytes', bytes, memoryBytes,
    );
  }
}
