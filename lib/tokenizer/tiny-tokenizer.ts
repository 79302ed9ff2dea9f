// The files of a small but real Qwen2-style tokenizer (tokenizer.json + tokenizer_config.json) for test models:
// Qwen2's NFC normalizer, split regex and ByteLevel stages, the 256 byte symbols, BPE merges learned from a
// built-in text (or a caller's), and the ChatML special tokens. Writing the folder is left to lib/model/tiny-model.ts.
import { Tokenizer } from '@huggingface/tokenizers';

import { byteSymbolsInVocabOrder } from './byte-level.js';
import { trainByteLevelBpe } from './bpe-trainer.js';
import { QWEN2_CHAT_TEMPLATE } from './chatml-template.js';
import { TINY_CORPUS } from './tiny-corpus.js';

/** Qwen2's pre-tokenizer split pattern (Oniguruma syntax, as in its tokenizer.json). */
export const QWEN2_SPLIT_PATTERN = String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;

/** The special tokens, in id order right after the BPE vocabulary (as in Qwen2: 151643, 151644, 151645). */
export const TINY_SPECIAL_TOKENS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'] as const;

export interface TinyTokenizerFiles {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  /** Ids of the special tokens. */
  endOfTextId: number;
  imStartId: number;
  imEndId: number;
  /** Number of token ids (BPE vocabulary + special tokens). */
  vocabSize: number;
  mergeCount: number;
}

const byteLevelStage = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };

/** Qwen2's normalizer, split + ByteLevel pre-tokenizer, post-processor and decoder (tokenizer.json stages). */
export function qwen2Pipeline(): Record<string, unknown> {
  return {
    normalizer: { type: 'NFC' },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: QWEN2_SPLIT_PATTERN }, behavior: 'Isolated', invert: false },
        byteLevelStage,
      ],
    },
    post_processor: byteLevelStage,
    decoder: byteLevelStage,
  };
}

/** Splits `text` into byte-level words exactly as the tiny tokenizer's own pre-tokenizer does. */
function preTokenize(text: string): string[] {
  const vocab = Object.fromEntries(byteSymbolsInVocabOrder.map((symbol, id) => [symbol, id]));
  const bare = { ...qwen2Pipeline(), added_tokens: [], model: { type: 'BPE', vocab, merges: [] } };
  const tokenizer = new (Tokenizer as unknown as new (json: object, config: object) => {
    pre_tokenizer: { pre_tokenize(text: string): string[] };
  })(bare, {});
  return tokenizer.pre_tokenizer.pre_tokenize(text.normalize('NFC'));
}

const cache = new Map<string, TinyTokenizerFiles>();

/** The most tokenizers kept in the cache (the built-in text's, plus a few custom ones). */
const CACHE_LIMIT = 8;

/**
 * Builds the tiny tokenizer: up to `merges` BPE merges learned from `text` (default TINY_CORPUS; deterministic),
 * then `<|endoftext|>`, `<|im_start|>`, `<|im_end|>` as special added tokens. Special-token strings inside `text`
 * are cut out before training (they are added tokens, never merged). tokenizer_config.json follows
 * Qwen2.5-Instruct: eos_token `<|im_end|>`, pad_token `<|endoftext|>`, no BOS, no space clean-up, and a ChatML
 * chat template with Qwen's default system message.
 */
export function buildTinyTokenizer(merges = 400, text: string = TINY_CORPUS): TinyTokenizerFiles {
  if (typeof text !== 'string' || text.length === 0) throw new TypeError('text must be a non-empty string');
  const key = `${merges}\u0000${text}`;
  const cached = cache.get(key);
  if (cached) return structuredClone(cached);
  let trainingText = text;
  for (const special of TINY_SPECIAL_TOKENS) trainingText = trainingText.split(special).join('\n');
  const model = trainByteLevelBpe(preTokenize(trainingText), merges);
  const firstSpecial = model.vocab.size;
  const addedTokens = TINY_SPECIAL_TOKENS.map((content, i) => ({
    id: firstSpecial + i,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    ...qwen2Pipeline(),
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(model.vocab),
      merges: model.merges.map(([left, right]) => `${left} ${right}`),
    },
  };
  const tokenizerConfig = {
    add_bos_token: false,
    add_prefix_space: false,
    added_tokens_decoder: Object.fromEntries(addedTokens.map(({ id, ...rest }) => [String(id), rest])),
    additional_special_tokens: ['<|im_start|>', '<|im_end|>'],
    bos_token: null,
    chat_template: QWEN2_CHAT_TEMPLATE,
    clean_up_tokenization_spaces: false,
    eos_token: '<|im_end|>',
    errors: 'replace',
    model_max_length: 32768,
    pad_token: '<|endoftext|>',
    split_special_tokens: false,
    tokenizer_class: 'Qwen2Tokenizer',
    unk_token: null,
  };
  const files: TinyTokenizerFiles = {
    tokenizerJson,
    tokenizerConfig,
    endOfTextId: firstSpecial,
    imStartId: firstSpecial + 1,
    imEndId: firstSpecial + 2,
    vocabSize: firstSpecial + TINY_SPECIAL_TOKENS.length,
    mergeCount: model.merges.length,
  };
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(key, files);
  return structuredClone(files);
}
