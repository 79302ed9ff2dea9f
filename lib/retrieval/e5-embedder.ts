// The E5 dense embedder (`e5:MODEL_DIR`): a Hugging Face BERT folder (config.json, model.safetensors,
// tokenizer.json) tokenised here with @huggingface/tokenizers and encoded by the native BertEncoder on the torch
// queue. The network, pooling and normalisation are the addon's (native/core/encoder.cc); indexing is build.ts's.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { Tokenizer } from '@huggingface/tokenizers';
import { z } from 'zod';

import { RexragError } from '../errors.js';
import { resolveWeightFiles, toNativeWeightFiles } from '../model/safetensors.js';
import { native } from '../native.js';
import type { NativeBertConfig, NativeBertEncoder } from '../native-types.js';
import { enqueueTorchJob } from '../torch-queue.js';
import { expectArray, expectInteger, expectObject, expectString } from '../validate.js';
import type { DenseEmbedder, E5EmbedderSpec } from './embedder.js';

/** E5's input convention (Wang et al., 2022, "Text Embeddings by Weakly-Supervised Contrastive Pre-training"). */
export const E5_QUERY_PREFIX = 'query: ';
export const E5_PASSAGE_PREFIX = 'passage: ';
/** Tokens per text, special tokens included; longer texts lose their end (HF's truncation of one sequence). */
export const E5_DEFAULT_MAX_LENGTH = 256;

export interface E5EmbedderOptions {
  /** Tokens per text including [CLS] and [SEP]; default 256, at most the model's max_position_embeddings. */
  maxLength?: number;
  /** Texts per native call (each call is one torch-queue job). Default 64. */
  batchSize?: number;
  /** Padded tokens per forward pass inside a native call. Default 8192. */
  microBatchTokens?: number;
  dtype?: 'float32' | 'bfloat16';
  /** torch device string: 'cpu', 'cuda', 'cuda:1'. Default 'cpu'. */
  device?: string;
}

const positiveInt = z.int().positive();

/** A BERT config.json (HF BertConfig defaults); other keys pass through. Only what the native model supports. */
export const bertConfigSchema = z.looseObject({
  model_type: z.literal('bert', { error: 'must be "bert" (E5 base/large/small-v2 are BERT models)' }).optional(),
  vocab_size: positiveInt,
  hidden_size: positiveInt,
  num_hidden_layers: positiveInt,
  num_attention_heads: positiveInt,
  intermediate_size: positiveInt,
  max_position_embeddings: positiveInt.default(512),
  type_vocab_size: positiveInt.default(2),
  layer_norm_eps: z.number().positive().default(1e-12),
  hidden_act: z.literal('gelu', { error: 'must be "gelu" (the exact GELU; the only activation supported)' }).default('gelu'),
  position_embedding_type: z.literal('absolute', { error: 'must be "absolute"' }).default('absolute'),
}).refine((config) => config.hidden_size % config.num_attention_heads === 0, {
  path: ['hidden_size'],
  message: 'must be divisible by num_attention_heads',
});

/** The part of tokenizers.js used here (its .d.ts files do not resolve under NodeNext; see hf-tokenizer.ts). */
interface TokenizersJs {
  encode(text: string, options: { add_special_tokens: boolean }): { ids: number[] };
  token_to_id(token: string): number | undefined;
  post_processor: ((tokens: string[], pair: null, addSpecialTokens: boolean) => { tokens: string[] }) | null;
}
const TokenizersJsClass = Tokenizer as unknown as new (tokenizerJson: object, tokenizerConfig: object) => TokenizersJs;

function invalid(message: string, cause?: unknown): RexragError {
  return new RexragError(message, 'ERR_INVALID_ARG', cause === undefined ? undefined : { cause });
}

async function readJson(path: string, required: boolean): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !required) return undefined;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw invalid(`${path} is missing (e5 needs a Hugging Face BERT folder: config.json, model.safetensors, tokenizer.json)`, error);
    throw new RexragError(`cannot read ${path}: ${(error as Error).message}`, 'ERR_IO', { cause: error });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw invalid(`${path} is not valid JSON: ${(error as Error).message}`, error);
  }
}

/** Validates a parsed BERT config.json into the native model's hyper-parameters; `source` names it in errors. */
export function parseBertConfig(json: unknown, source = 'config.json'): Required<NativeBertConfig> {
  const result = bertConfigSchema.safeParse(json);
  if (!result.success) {
    throw invalid(result.error.issues.map((issue) => `${source}: ${issue.path.join('.') || '(root)'}: ${issue.message}`).join('\n'));
  }
  const c = result.data;
  return {
    vocab_size: c.vocab_size, hidden_size: c.hidden_size, num_hidden_layers: c.num_hidden_layers,
    num_attention_heads: c.num_attention_heads, intermediate_size: c.intermediate_size,
    max_position_embeddings: c.max_position_embeddings, type_vocab_size: c.type_vocab_size,
    layer_norm_eps: c.layer_norm_eps, hidden_act: c.hidden_act, position_embedding_type: c.position_embedding_type,
  };
}

/**
 * A BERT tokenizer from tokenizer.json. Special tokens come from the file's own post_processor (for BERT the
 * template `[CLS] $A [SEP]`): it is run once on a marker sequence, and the tokens around the marker are the
 * prefix and suffix every text gets. The text's own tokens are truncated first so the total stays within maxLength.
 */
export class BertTokenizer {
  private constructor(
    private readonly tokenizer: TokenizersJs,
    /** Special-token ids before and after the text. */
    readonly prefixIds: readonly number[],
    readonly suffixIds: readonly number[],
  ) {}

  /** Builds it from parsed tokenizer.json (and tokenizer_config.json when the folder has one). */
  static fromJson(tokenizerJson: unknown, tokenizerConfig: unknown = {}, source = 'tokenizer.json'): BertTokenizer {
    expectObject(tokenizerJson, 'tokenizerJson');
    expectObject(tokenizerConfig, 'tokenizerConfig');
    let tokenizer: TokenizersJs;
    try {
      tokenizer = new TokenizersJsClass(tokenizerJson as object, tokenizerConfig as object);
    } catch (error) {
      throw invalid(`${source}: @huggingface/tokenizers cannot load it: ${(error as Error).message}`, error);
    }
    if (!tokenizer.post_processor) {
      throw invalid(`${source} has no post_processor, so nothing would add [CLS] and [SEP]; a BERT tokenizer.json has a TemplateProcessing or BertProcessing one`);
    }
    const marker = '\u0000rexrag-text\u0000';
    const tokens = tokenizer.post_processor([marker], null, true).tokens;
    const at = tokens.indexOf(marker);
    if (at < 0 || tokens.lastIndexOf(marker) !== at) throw invalid(`${source}: its post_processor does not place the text exactly once`);
    const toIds = (list: string[]) => list.map((token) => {
      const id = tokenizer.token_to_id(token);
      if (id === undefined) throw invalid(`${source}: the post_processor's special token ${JSON.stringify(token)} is not in the vocabulary`);
      return id;
    });
    return new BertTokenizer(tokenizer, toIds(tokens.slice(0, at)), toIds(tokens.slice(at + 1)));
  }

  /** Reads `dir/tokenizer.json` (and `dir/tokenizer_config.json` when present). */
  static async load(dir: string): Promise<BertTokenizer> {
    const path = join(dir, 'tokenizer.json');
    const json = await readJson(path, true);
    const config = (await readJson(join(dir, 'tokenizer_config.json'), false)) ?? {};
    return BertTokenizer.fromJson(json, config, path);
  }

  /** The ids of `text` with the special tokens, at most `maxLength` in all (the text's tail is dropped). */
  encode(text: string, maxLength: number): number[] {
    const specials = this.prefixIds.length + this.suffixIds.length;
    const content = this.tokenizer.encode(text, { add_special_tokens: false }).ids;
    return [...this.prefixIds, ...content.slice(0, Math.max(0, maxLength - specials)), ...this.suffixIds];
  }
}

/**
 * E5 embeddings: v = normalize(mean over the attention mask of BERT's last hidden states), the inputs prefixed
 * with "query: " or "passage: " as E5 was trained, so relevance is the dot product (cosine) of unit vectors.
 */
export class E5Embedder implements DenseEmbedder {
  readonly name: string;
  readonly dim: number;
  readonly spec: E5EmbedderSpec;
  private disposed = false;

  private constructor(
    private readonly handle: NativeBertEncoder,
    readonly tokenizer: BertTokenizer,
    readonly config: Required<NativeBertConfig>,
    readonly modelDir: string,
    readonly maxLength: number,
    private readonly batchSize: number,
    private readonly microBatchTokens: number,
  ) {
    this.dim = config.hidden_size;
    this.spec = { kind: 'e5', modelDir };
    this.name = `e5:${modelDir}`;
  }

  /**
   * Loads `modelDir`: config.json (a BERT), model.safetensors (or shards with an index) loaded strictly by the
   * addon (keys may carry `bert.`; `pooler.*` is ignored), and tokenizer.json with its post-processor.
   */
  static async load(modelDir: string, options: E5EmbedderOptions = {}): Promise<E5Embedder> {
    expectString(modelDir, 'modelDir', { nonEmpty: true });
    expectObject(options, 'options');
    const config = parseBertConfig(await readJson(join(modelDir, 'config.json'), true), join(modelDir, 'config.json'));
    const tokenizer = await BertTokenizer.load(modelDir);
    const specials = tokenizer.prefixIds.length + tokenizer.suffixIds.length;
    const maxLength = expectInteger(options.maxLength ?? Math.min(E5_DEFAULT_MAX_LENGTH, config.max_position_embeddings), 'options.maxLength', {
      min: specials + 1,
      max: config.max_position_embeddings,
    });
    const batchSize = expectInteger(options.batchSize ?? 64, 'options.batchSize', { min: 1 });
    const microBatchTokens = expectInteger(options.microBatchTokens ?? 8192, 'options.microBatchTokens', { min: 1 });
    const dtype = options.dtype ?? 'float32';
    if (dtype !== 'float32' && dtype !== 'bfloat16') throw new RangeError(`options.dtype must be "float32" or "bfloat16", got ${JSON.stringify(dtype)}`);
    const device = expectString(options.device ?? 'cpu', 'options.device', { nonEmpty: true });
    const files = toNativeWeightFiles(await resolveWeightFiles(modelDir));
    const handle = await enqueueTorchJob(() => native().BertEncoder.load({ config, files, dtype, device }));
    return new E5Embedder(handle, tokenizer, config, modelDir, maxLength, batchSize, microBatchTokens);
  }

  /** Encodes search queries: "query: " + text. */
  embedQueries(texts: readonly string[]): Promise<Float32Array[]> {
    return this.embedPrefixed(texts, E5_QUERY_PREFIX);
  }

  /** Encodes corpus passages: "passage: " + text. */
  embedPassages(texts: readonly string[]): Promise<Float32Array[]> {
    return this.embedPrefixed(texts, E5_PASSAGE_PREFIX);
  }

  /** The token ids a text is encoded from, prefix and special tokens included, truncated to maxLength. */
  tokenize(text: string, role: 'query' | 'passage'): number[] {
    expectString(text, 'text');
    if (role !== 'query' && role !== 'passage') throw new RangeError(`role must be 'query' or 'passage', got ${String(role)}`);
    return this.tokenizer.encode((role === 'query' ? E5_QUERY_PREFIX : E5_PASSAGE_PREFIX) + text, this.maxLength);
  }

  /** Frees the native model; later calls are RexragError('ERR_DISPOSED'). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.handle.dispose();
  }

  private async embedPrefixed(texts: readonly string[], prefix: string): Promise<Float32Array[]> {
    if (this.disposed) throw new RexragError('the E5 embedder was disposed', 'ERR_DISPOSED');
    expectArray(texts, 'texts');
    const rows = texts.map((text, i) => this.tokenizer.encode(prefix + expectString(text, `texts[${i}]`), this.maxLength));
    const out: Float32Array[] = [];
    for (let start = 0; start < rows.length; start += this.batchSize) {
      const batch = rows.slice(start, start + this.batchSize);
      const lengths = Int32Array.from(batch, (row) => row.length);
      const ids = Int32Array.from(batch.flat());
      const flat = await enqueueTorchJob(() => this.handle.encode({ ids, lengths, normalize: true, microBatchTokens: this.microBatchTokens }));
      for (let r = 0; r < batch.length; r++) out.push(flat.slice(r * this.dim, (r + 1) * this.dim));
    }
    return out;
  }
}
