// The Hugging Face config.json of a Qwen2 / Qwen2.5 model (and its generation_config.json) as zod schemas:
// HF's defaults, unknown HF keys passed through, cross-field checks, and errors that name the field.
// Building the network from it is left to the native addon; weight names live in qwen2-weights.ts.
import { join } from 'node:path';

import { z } from 'zod';

import { RexragError } from '../errors.js';
import type { NativeQwen2Config } from '../native-types.js';
import { expectString } from '../validate.js';
import { readRegularFile } from './model-files.js';

export { checkWeights, expectedQwen2Weights } from './qwen2-weights.js';
export type { ExpectedWeight } from './qwen2-weights.js';

const positiveInt = z.int().positive();
const tokenId = z.int().nonnegative();
const tokenIds = z.union([tokenId, z.array(tokenId).min(1)], { error: 'must be a token id or a non-empty list of token ids' });

/**
 * Qwen2 config.json. Defaults are Hugging Face's Qwen2Config ones. Keys this project does not use pass through
 * untouched (use_sliding_window, sliding_window and max_window_layers are among them: Qwen2.5 checkpoints
 * do not use sliding-window attention, and neither does the native model).
 */
export const qwen2ConfigSchema = z
  .looseObject({
    architectures: z.array(z.string()).optional(),
    model_type: z.string().optional(),
    vocab_size: positiveInt,
    hidden_size: positiveInt,
    intermediate_size: positiveInt,
    num_hidden_layers: positiveInt,
    num_attention_heads: positiveInt,
    /** Grouped-query attention heads; HF's default is num_attention_heads (plain multi-head attention). */
    num_key_value_heads: positiveInt.optional(),
    /** When given it must equal hidden_size / num_attention_heads (the native model derives it). */
    head_dim: positiveInt.optional(),
    max_position_embeddings: positiveInt.default(32768),
    rope_theta: z.number().positive().default(10000),
    rms_norm_eps: z.number().positive().default(1e-6),
    tie_word_embeddings: z.boolean().default(false),
    hidden_act: z.literal('silu', { error: 'must be "silu" (the only activation the Qwen2 MLP uses here)' }).default('silu'),
    torch_dtype: z.enum(['float32', 'bfloat16', 'float16', 'float64']).optional(),
    /** RoPE scaling (YaRN, dynamic NTK) is not implemented: only null or absent is accepted. */
    rope_scaling: z.null({ error: 'must be null: RoPE scaling is not supported' }).optional(),
    bos_token_id: tokenId.nullable().optional(),
    eos_token_id: tokenIds.nullable().optional(),
    pad_token_id: tokenId.nullable().optional(),
    use_sliding_window: z.unknown().optional(),
  })
  .superRefine((config, context) => {
    const issue = (path: string, message: string) => context.addIssue({ code: 'custom', path: [path], message });
    if (config.architectures !== undefined && !config.architectures.includes('Qwen2ForCausalLM')) {
      issue('architectures', `must include "Qwen2ForCausalLM", got ${JSON.stringify(config.architectures)}`);
    }
    if (config.model_type !== undefined && config.model_type !== 'qwen2') {
      issue('model_type', `must be "qwen2", got ${JSON.stringify(config.model_type)}`);
    }
    const heads = config.num_attention_heads;
    const kvHeads = config.num_key_value_heads ?? heads;
    if (config.hidden_size % heads !== 0) {
      issue('hidden_size', `(${config.hidden_size}) must be divisible by num_attention_heads (${heads})`);
      return;
    }
    const headDim = config.hidden_size / heads;
    if (heads % kvHeads !== 0) {
      issue('num_key_value_heads', `(${kvHeads}) must divide num_attention_heads (${heads})`);
    }
    if (headDim % 2 !== 0) {
      issue('hidden_size', `/ num_attention_heads = head dim ${headDim}, which must be even for rotary embeddings`);
    }
    if (config.head_dim !== undefined && config.head_dim !== headDim) {
      issue('head_dim', `(${config.head_dim}) must equal hidden_size / num_attention_heads (${headDim})`);
    }
    const ids = [config.bos_token_id, config.pad_token_id, ...[config.eos_token_id ?? []].flat()];
    const outside = ids.filter((id): id is number => typeof id === 'number' && id >= config.vocab_size);
    if (outside.length > 0) issue('vocab_size', `(${config.vocab_size}) must exceed every special token id, got ${outside.join(', ')}`);
  })
  .transform((config): typeof config & { num_key_value_heads: number } => ({
    ...config,
    num_key_value_heads: config.num_key_value_heads ?? config.num_attention_heads,
  }));

export type Qwen2Config = z.output<typeof qwen2ConfigSchema>;

/** generation_config.json: the sampling defaults and stop ids a checkpoint ships with; other keys pass through. */
export const generationConfigSchema = z.looseObject({
  bos_token_id: tokenId.nullable().optional(),
  eos_token_id: tokenIds.nullable().optional(),
  pad_token_id: tokenId.nullable().optional(),
  do_sample: z.boolean().optional(),
  temperature: z.number().nonnegative().optional(),
  top_p: z.number().gt(0).lte(1).optional(),
  top_k: z.int().nonnegative().optional(),
  max_new_tokens: positiveInt.optional(),
  repetition_penalty: z.number().positive().optional(),
});

export type GenerationConfig = z.output<typeof generationConfigSchema>;

/** One RexragError listing every schema issue as `source: field: message`. */
function schemaError(source: string, error: z.ZodError): RexragError {
  const lines = error.issues.map((issue) => `${source}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  return new RexragError(lines.join('\n'), 'ERR_INVALID_ARG', { cause: error });
}

/** Validates a parsed config.json; `source` names it in errors. */
export function parseModelConfig(json: unknown, source = 'config.json'): Qwen2Config {
  const result = qwen2ConfigSchema.safeParse(json);
  if (!result.success) throw schemaError(source, result.error);
  return result.data;
}

/** Validates a parsed generation_config.json; `source` names it in errors. */
export function parseGenerationConfig(json: unknown, source = 'generation_config.json'): GenerationConfig {
  const result = generationConfigSchema.safeParse(json);
  if (!result.success) throw schemaError(source, result.error);
  return result.data;
}

async function readJsonFile(path: string): Promise<unknown | undefined> {
  let text: string;
  try {
    text = (await readRegularFile(path)).toString('utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (error instanceof RexragError) throw error;
    throw new RexragError(`cannot read ${path}: ${(error as Error).message}`, 'ERR_IO', { cause: error });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new RexragError(`${path} is not valid JSON: ${(error as Error).message}`, 'ERR_INVALID_ARG', { cause: error });
  }
}

/** Reads and validates `dir/config.json` as a Qwen2 config. */
export async function loadModelConfig(dir: string): Promise<Qwen2Config> {
  expectString(dir, 'dir', { nonEmpty: true });
  const path = join(dir, 'config.json');
  const json = await readJsonFile(path);
  if (json === undefined) throw new RexragError(`${dir}: no config.json (expected a Hugging Face model folder)`, 'ERR_INVALID_ARG');
  return parseModelConfig(json, path);
}

/** Reads and validates `dir/generation_config.json`; undefined when the folder has none. */
export async function loadGenerationConfig(dir: string): Promise<GenerationConfig | undefined> {
  expectString(dir, 'dir', { nonEmpty: true });
  const path = join(dir, 'generation_config.json');
  const json = await readJsonFile(path);
  return json === undefined ? undefined : parseGenerationConfig(json, path);
}

/** eos_token_id in any of its HF forms (id, list, null, absent) as a list. */
export function tokenIdList(value: number | number[] | null | undefined): number[] {
  return value === undefined || value === null ? [] : Array.isArray(value) ? [...value] : [value];
}

/** The hyper-parameters the native Qwen2 model takes. */
export function toNativeConfig(config: Qwen2Config): NativeQwen2Config {
  return {
    vocab_size: config.vocab_size,
    hidden_size: config.hidden_size,
    intermediate_size: config.intermediate_size,
    num_hidden_layers: config.num_hidden_layers,
    num_attention_heads: config.num_attention_heads,
    num_key_value_heads: config.num_key_value_heads,
    max_position_embeddings: config.max_position_embeddings,
    rope_theta: config.rope_theta,
    rms_norm_eps: config.rms_norm_eps,
    tie_word_embeddings: config.tie_word_embeddings,
  };
}
