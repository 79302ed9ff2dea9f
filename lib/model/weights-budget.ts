// The budget check of a model folder: config.json's sizes (layers, hidden, intermediate, heads, vocab) must agree
// with the tensors the safetensors headers actually hold, before any list of expected weights is built or any
// tensor allocated. A config that claims more than the files hold (num_hidden_layers: 200000000 beside a 1 MB
// file) is a named error here instead of an out-of-memory abort later. Name-by-name strictness stays in
// qwen2-weights.ts; the native loader re-checks the parameter count against what it read.
import { RexragError } from '../errors.js';
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
