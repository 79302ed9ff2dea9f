// Writes a tiny random BERT as a real Hugging Face folder (config.json, model.safetensors, tokenizer.json with a
// WordPiece model, BertNormalizer, BertPreTokenizer and a `[CLS] $A [SEP]` post-processor) for the E5 tests.
// The forward pass it is checked against is reference-bert.ts; nothing here runs the model.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { writeSafetensors, type SafetensorsTensorInput } from '../../lib/model/safetensors.js';
import type { NativeBertConfig } from '../../lib/native-types.js';
import { seededRandom } from './retrieval-corpus.js';

export const TINY_BERT_CONFIG: Required<NativeBertConfig> = {
  vocab_size: 0, // set from the vocabulary below
  hidden_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 64,
  max_position_embeddings: 64,
  type_vocab_size: 2,
  layer_norm_eps: 1e-12,
  hidden_act: 'gelu',
  position_embedding_type: 'absolute',
};

export const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;
/** The syllables retrieval-corpus.ts builds its pseudo-words from; with their `##` forms every such word splits. */
const SYLLABLES = ['ka', 'lo', 'mi', 'ren', 'tu', 'sa', 'vel', 'no', 'pri', 'da', 'gor', 'shi', 'ta', 'bel', 'qua', 'zo', 'fen', 'ri', 'mor', 'lin'];
const WORDS = [
  'query', 'passage', 'the', 'of', 'and', 'in', 'is', 'was', 'to', 'for', 'on', 'with', 'as', 'by', 'at', 'from',
  'city', 'capital', 'river', 'france', 'paris', 'london', 'england', 'north', 'south', 'east', 'west', 'sea',
  'mountain', 'king', 'queen', 'war', 'year', 'born', 'first', 'largest', 'population', 'country', 'film', 'song',
  'album', 'band', 'team', 'club', 'season', 'game', 'book', 'author', 'water', 'island', 'lake', 'church',
  'school', 'university', 'museum', 'station', 'village', 'town', 'state', 'who', 'what', 'where', 'when',
];

/** The vocabulary, in id order: special tokens, punctuation, digits, letters, `##` letters, syllables, words. */
export function tinyBertVocabulary(): string[] {
  const punctuation = [...'!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'];
  const digits = [...'0123456789'];
  const letters = [...'abcdefghijklmnopqrstuvwxyz'];
  const tokens = [
    ...SPECIAL_TOKENS, ...punctuation, ...digits, ...letters, ...letters.map((l) => `##${l}`),
    ...digits.map((d) => `##${d}`), ...SYLLABLES, ...SYLLABLES.map((s) => `##${s}`), ...WORDS, '##s', '##ed', '##ing',
  ];
  return [...new Set(tokens)];
}

/** HF's tokenizer.json for a BERT WordPiece tokenizer (as `BertTokenizerFast` saves it) over `vocab`. */
export function tinyBertTokenizerJson(vocab: readonly string[]): Record<string, unknown> {
  const id = (token: string) => vocab.indexOf(token);
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content) => ({
      id: id(content), content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [id('[CLS]')], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [id('[SEP]')], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab.map((token, i) => [token, i])),
    },
  };
}

/** BertModel's parameter names and shapes for `config` (HF's names, no prefix, no pooler). */
export function bertParameterShapes(config: Required<NativeBertConfig>): Array<[string, number[]]> {
  const h = config.hidden_size;
  const shapes: Array<[string, number[]]> = [
    ['embeddings.word_embeddings.weight', [config.vocab_size, h]],
    ['embeddings.position_embeddings.weight', [config.max_position_embeddings, h]],
    ['embeddings.token_type_embeddings.weight', [config.type_vocab_size, h]],
    ['embeddings.LayerNorm.weight', [h]],
    ['embeddings.LayerNorm.bias', [h]],
  ];
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const p = `encoder.layer.${l}`;
    for (const m of ['query', 'key', 'value']) shapes.push([`${p}.attention.self.${m}.weight`, [h, h]], [`${p}.attention.self.${m}.bias`, [h]]);
    shapes.push(
      [`${p}.attention.output.dense.weight`, [h, h]], [`${p}.attention.output.dense.bias`, [h]],
      [`${p}.attention.output.LayerNorm.weight`, [h]], [`${p}.attention.output.LayerNorm.bias`, [h]],
      [`${p}.intermediate.dense.weight`, [config.intermediate_size, h]], [`${p}.intermediate.dense.bias`, [config.intermediate_size]],
      [`${p}.output.dense.weight`, [h, config.intermediate_size]], [`${p}.output.dense.bias`, [h]],
      [`${p}.output.LayerNorm.weight`, [h]], [`${p}.output.LayerNorm.bias`, [h]],
    );
  }
  return shapes;
}

/** Random weights: N(0, 0.2²) matrices (large enough that attention is far from uniform), LayerNorm weights near 1. */
export function randomBertWeights(config: Required<NativeBertConfig>, seed: number): Map<string, Float32Array> {
  const random = seededRandom(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const weights = new Map<string, Float32Array>();
  for (const [name, shape] of bertParameterShapes(config)) {
    const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const isNormWeight = name.endsWith('LayerNorm.weight');
    const std = name.endsWith('.bias') || isNormWeight ? 0.1 : name.includes('embeddings') ? 0.5 : 0.2;
    for (let i = 0; i < values.length; i++) values[i] = (isNormWeight ? 1 : 0) + std * normal();
    weights.set(name, values);
  }
  return weights;
}

export interface TinyBertFolder {
  dir: string;
  config: Required<NativeBertConfig>;
  vocab: string[];
  /** The parameters as BertModel names them (before `keyPrefix` / `editTensors`). */
  weights: Map<string, Float32Array>;
}

export interface TinyBertOptions {
  seed?: number;
  /** Prepended to every stored key, e.g. 'bert.' as a BertFor* checkpoint stores them. */
  keyPrefix?: string;
  /** Changes the stored tensor list (drop, add or reshape entries) to make broken or unusual checkpoints. */
  editTensors?: (tensors: SafetensorsTensorInput[]) => SafetensorsTensorInput[];
}

/** Writes the tiny BERT folder into `dir` (created when missing) and returns what it wrote. */
export async function writeTinyBert(dir: string, options: TinyBertOptions = {}): Promise<TinyBertFolder> {
  await mkdir(dir, { recursive: true });
  const vocab = tinyBertVocabulary();
  const config = { ...TINY_BERT_CONFIG, vocab_size: vocab.length };
  const weights = randomBertWeights(config, options.seed ?? 1);
  let tensors: SafetensorsTensorInput[] = bertParameterShapes(config).map(([name, shape]) => ({
    name: `${options.keyPrefix ?? ''}${name}`, dtype: 'F32', shape, data: weights.get(name)!,
  }));
  if (options.editTensors) tensors = options.editTensors(tensors);
  await writeSafetensors(join(dir, 'model.safetensors'), tensors);
  await writeFile(join(dir, 'config.json'), JSON.stringify({ architectures: ['BertModel'], model_type: 'bert', ...config }, null, 2));
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tinyBertTokenizerJson(vocab)));
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: true, model_max_length: 512, tokenizer_class: 'BertTokenizer' }));
  return { dir, config, vocab, weights };
}
