// The TextTokenizer of a Hugging Face folder: tokenizer.json through @huggingface/tokenizers, the chat template
// through @huggingface/jinja, EOS/pad ids from the folder's configs, and the exact bytes of every token id.
// Which tokens a rollout trains on, and the native stop-string matching over token bytes, are left to others.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';

import { LimitError, RexragError } from '../errors.js';
import { describe, expectArray, expectBoolean, expectObject, expectString, expectTokenIds } from '../validate.js';
import { byteLevelToBytes } from './byte-level.js';
import { renderTemplate, resolveTemplateBudget, type TemplateBudget } from './template-budget.js';
import type { ChatMessage, TextTokenizer } from './types.js';

/** The parsed files a tokenizer is built from; only tokenizerJson is required. */
export interface HfTokenizerFiles {
  /** tokenizer.json */
  tokenizerJson: unknown;
  /** tokenizer_config.json */
  tokenizerConfig?: unknown;
  /** generation_config.json (its eos_token_id comes first) */
  generationConfig?: unknown;
  /** config.json (its eos_token_id / pad_token_id are the last resort) */
  modelConfig?: unknown;
  /** chat_template.jinja, used when tokenizer_config.json has no chat_template */
  chatTemplate?: string;
}

type JsonObject = Record<string, unknown>;

/**
 * The part of tokenizers.js's Tokenizer used here. Its published .d.ts files use extension-less ESM imports
 * that TypeScript's NodeNext resolution cannot follow, so the class arrives untyped; this states what we rely on.
 */
interface TokenizersJs {
  encode(text: string, options: { add_special_tokens: boolean }): { ids: number[] };
  decode(ids: number[], options: { skip_special_tokens: boolean; clean_up_tokenization_spaces: boolean }): string;
  token_to_id(token: string): number | undefined;
  id_to_token(id: number): string | undefined;
  get_added_tokens_decoder(): Map<number, { content: string }>;
  model: { vocab: (string | undefined)[] } | null;
  decoder: { config?: { type?: unknown } } | null;
}
const TokenizersJsClass = Tokenizer as unknown as new (tokenizerJson: object, tokenizerConfig: object) => TokenizersJs;

const roles: ReadonlySet<string> = new Set(['system', 'user', 'assistant']);
const encoder = new TextEncoder();

function invalid(message: string, cause?: unknown): RexragError {
  return new RexragError(message, 'ERR_INVALID_ARG', cause === undefined ? undefined : { cause });
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A token given in tokenizer_config.json either as a string or as an AddedToken object ({content, ...}). */
function tokenContent(value: unknown, field: string, source: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (isObject(value) && typeof value.content === 'string') return value.content;
  throw invalid(`${source}: ${field} must be a string or {"content": string}, got ${describe(value)}`);
}

/** eos_token_id as given in config.json / generation_config.json: an id, a list of ids, or null. */
function idList(value: unknown, field: string, source: string): number[] | undefined {
  if (value === undefined || value === null) return undefined;
  const list = Array.isArray(value) ? value : [value];
  if (!list.every((id) => Number.isInteger(id) && (id as number) >= 0)) {
    throw invalid(`${source}: ${field} must be a token id or a list of token ids, got ${JSON.stringify(value)}`);
  }
  return list as number[];
}

/** Picks the template text from tokenizer_config.json's chat_template (a string or [{name, template}]). */
function chatTemplateSource(config: JsonObject, fallback: string | undefined, source: string): string | undefined {
  const value = config.chat_template;
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const named = value.find((entry) => isObject(entry) && entry.name === 'default') ?? value[0];
    if (isObject(named) && typeof named.template === 'string') return named.template;
  }
  throw invalid(`${source}: chat_template must be a string or a list of {name, template}, got ${describe(value)}`);
}

/** A tokenizer over a Hugging Face tokenizer.json; see TextTokenizer for the contract. */
export class HfTokenizer implements TextTokenizer {
  readonly vocabSize: number;
  readonly eosTokenIds: number[];
  readonly padTokenId: number;
  private readonly tokenizer: TokenizersJs;
  private readonly config: JsonObject;
  private readonly templateSource: string | undefined;
  private template: Template | undefined;
  private bytesCache: Uint8Array[] | undefined;
  private readonly cleanUpSpaces: boolean;

  /** Builds the tokenizer from parsed files; `source` (a folder path) names them in errors. */
  constructor(files: HfTokenizerFiles, readonly source = 'tokenizer') {
    const json = files.tokenizerJson;
    if (!isObject(json)) throw invalid(`${source}: tokenizer.json must be a JSON object, got ${describe(json)}`);
    if (!isObject(json.model)) throw invalid(`${source}: tokenizer.json has no "model" object`);
    if (json.added_tokens !== undefined && !Array.isArray(json.added_tokens)) {
      throw invalid(`${source}: tokenizer.json "added_tokens" must be a list, got ${describe(json.added_tokens)}`);
    }
    const config = files.tokenizerConfig ?? {};
    if (!isObject(config)) throw invalid(`${source}: tokenizer_config.json must be a JSON object, got ${describe(config)}`);
    this.config = config;
    // tokenizers.js wants every pipeline key present; tokenizer.json writes absent stages as null.
    const complete = { normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, ...json, added_tokens: json.added_tokens ?? [] };
    try {
      this.tokenizer = new TokenizersJsClass(complete, config);
    } catch (error) {
      throw invalid(`${source}: tokenizer.json could not be loaded: ${(error as Error).message}`, error);
    }
    this.vocabSize = this.tokenizer.model?.vocab.length ?? 0;
    if (this.vocabSize === 0) throw invalid(`${source}: tokenizer.json has an empty vocabulary`);
    this.cleanUpSpaces = config.clean_up_tokenization_spaces === true;
    this.templateSource = chatTemplateSource(config, files.chatTemplate, source);

    const generation = isObject(files.generationConfig) ? files.generationConfig : {};
    const model = isObject(files.modelConfig) ? files.modelConfig : {};
    const eosToken = tokenContent(config.eos_token, 'eos_token', `${source}/tokenizer_config.json`);
    this.eosTokenIds =
      idList(generation.eos_token_id, 'eos_token_id', `${source}/generation_config.json`) ??
      (eosToken === undefined ? undefined : [this.idOf(eosToken, 'eos_token')]) ??
      idList(model.eos_token_id, 'eos_token_id', `${source}/config.json`) ??
      [];
    for (const id of this.eosTokenIds) {
      if (id >= this.vocabSize) throw invalid(`${source}: eos token id ${id} is outside the vocabulary (${this.vocabSize} ids)`);
    }
    const padToken = tokenContent(config.pad_token, 'pad_token', `${source}/tokenizer_config.json`);
    const padId =
      (padToken === undefined ? undefined : this.idOf(padToken, 'pad_token')) ??
      idList(generation.pad_token_id, 'pad_token_id', `${source}/generation_config.json`)?.[0] ??
      idList(model.pad_token_id, 'pad_token_id', `${source}/config.json`)?.[0] ??
      this.eosTokenIds[0];
    if (padId === undefined) {
      throw invalid(`${source}: no pad token: set pad_token in tokenizer_config.json or an eos token id`);
    }
    if (padId >= this.vocabSize) throw invalid(`${source}: pad token id ${padId} is outside the vocabulary (${this.vocabSize} ids)`);
    this.padTokenId = padId;
  }

  private idOf(token: string, field: string): number {
    const id = this.tokenizer.token_to_id(token);
    if (id === undefined) throw invalid(`${this.source}: tokenizer_config.json ${field} ${JSON.stringify(token)} is not in the vocabulary`);
    return id;
  }

  /** The id of a token string (a vocabulary entry or an added token), or undefined. */
  tokenToId(token: string): number | undefined {
    return this.tokenizer.token_to_id(expectString(token, 'token'));
  }

  /** The vocabulary string of an id (byte-level form for BPE entries), or undefined for a hole. */
  idToToken(id: number): string | undefined {
    return this.tokenizer.id_to_token(expectTokenIds([id], 'id', this.vocabSize)[0]!);
  }

  /** Token ids of `text` without BOS/EOS; special-token strings in the text become their ids. */
  encode(text: string): number[] {
    expectString(text, 'text');
    const { ids } = this.tokenizer.encode(text, { add_special_tokens: false });
    const missing = ids.findIndex((id) => !Number.isInteger(id));
    if (missing >= 0) throw invalid(`${this.source}: the vocabulary has no token for part of the text (and no unk_token)`);
    return ids;
  }

  /**
   * Text of `ids`. Special tokens are kept unless skipSpecialTokens; spaces are cleaned up only when
   * tokenizer_config.json sets clean_up_tokenization_spaces (Qwen sets false), so decoding is exact.
   */
  decode(ids: number[], options: { skipSpecialTokens?: boolean } = {}): string {
    expectTokenIds(ids, 'ids', this.vocabSize);
    const skip = expectBoolean(expectObject(options, 'options').skipSpecialTokens ?? false, 'options.skipSpecialTokens');
    if (ids.length === 0) return '';
    return this.tokenizer.decode(ids, { skip_special_tokens: skip, clean_up_tokenization_spaces: this.cleanUpSpaces });
  }

  /**
   * The exact bytes of every id in [0, vocabSize): byte-level vocabulary entries map the GPT-2 alphabet back to
   * bytes (an entry with a character outside it falls back to its UTF-8, as Hugging Face's ByteLevel decoder
   * does), added tokens are the UTF-8 of their content, holes are empty. Only byte-level tokenizers qualify.
   */
  tokenBytes(): Uint8Array[] {
    if (!this.bytesCache) {
      const decoderType = this.tokenizer.decoder?.config?.type;
      if (decoderType !== 'ByteLevel') {
        throw invalid(`${this.source}: tokenBytes() needs a byte-level BPE tokenizer (ByteLevel decoder), this one has decoder ${JSON.stringify(decoderType ?? null)}`);
      }
      const added = this.tokenizer.get_added_tokens_decoder();
      const bytes: Uint8Array[] = [];
      for (let id = 0; id < this.vocabSize; id++) {
        const addedToken = added.get(id);
        const token = addedToken ? undefined : this.tokenizer.id_to_token(id);
        if (addedToken) bytes.push(encoder.encode(addedToken.content));
        else if (token === undefined) bytes.push(new Uint8Array(0));
        else bytes.push(byteLevelToBytes(token) ?? encoder.encode(token));
      }
      this.bytesCache = bytes;
    }
    return this.bytesCache.slice();
  }

  /**
   * Renders the chat template with `messages`, `add_generation_prompt` and the bos/eos/pad/unk token strings,
   * as transformers' apply_chat_template(tokenize=False) does.
   */
  applyChatTemplate(messages: ChatMessage[], options: { addGenerationPrompt?: boolean; budget?: Partial<TemplateBudget> } = {}): string {
    expectArray(messages, 'messages');
    const plain = messages.map((message, i) => {
      expectObject(message, `messages[${i}]`);
      if (!roles.has(message.role as string)) {
        throw new RangeError(`messages[${i}].role must be "system", "user" or "assistant", got ${describe(message.role)}`);
      }
      return { role: message.role, content: expectString(message.content, `messages[${i}].content`) };
    });
    const addGenerationPrompt = expectBoolean(expectObject(options, 'options').addGenerationPrompt ?? false, 'options.addGenerationPrompt');
    const budget = resolveTemplateBudget(options.budget);
    const template = this.compiledTemplate();
    const field = (name: string) => tokenContent(this.config[name], name, `${this.source}/tokenizer_config.json`) ?? null;
    try {
      return renderTemplate(template, {
        messages: plain,
        add_generation_prompt: addGenerationPrompt,
        bos_token: field('bos_token'),
        eos_token: field('eos_token'),
        pad_token: field('pad_token'),
        unk_token: field('unk_token'),
      }, budget, this.source);
    } catch (error) {
      if (error instanceof LimitError) throw error;
      throw invalid(`${this.source}: the chat template failed to render: ${(error as Error).message}`, error);
    }
  }

  private compiledTemplate(): Template {
    if (!this.template) {
      if (this.templateSource === undefined) {
        throw invalid(`${this.source}: no chat template (tokenizer_config.json has no chat_template and there is no chat_template.jinja)`);
      }
      try {
        this.template = new Template(this.templateSource);
      } catch (error) {
        throw invalid(`${this.source}: the chat template does not parse: ${(error as Error).message}`, error);
      }
    }
    return this.template;
  }
}

async function readJson(path: string, required: boolean): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (!required && code === 'ENOENT') return undefined;
    if (code === 'ENOENT') throw invalid(`${path} does not exist`, error);
    throw new RexragError(`cannot read ${path}: ${(error as Error).message}`, 'ERR_IO', { cause: error });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw invalid(`${path} is not valid JSON: ${(error as Error).message}`, error);
  }
}

async function readOptionalText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new RexragError(`cannot read ${path}: ${(error as Error).message}`, 'ERR_IO', { cause: error });
  }
}

/**
 * Loads the tokenizer of a Hugging Face folder: tokenizer.json (required), tokenizer_config.json,
 * chat_template.jinja, generation_config.json and config.json (each optional). EOS ids come from
 * generation_config.json, else tokenizer_config.json's eos_token, else config.json; the pad id from
 * tokenizer_config.json's pad_token, else the configs' pad_token_id, else the first EOS id.
 */
export async function loadTokenizer(dir: string): Promise<HfTokenizer> {
  expectString(dir, 'dir', { nonEmpty: true });
  const [tokenizerJson, tokenizerConfig, generationConfig, modelConfig, chatTemplate] = await Promise.all([
    readJson(join(dir, 'tokenizer.json'), true),
    readJson(join(dir, 'tokenizer_config.json'), false),
    readJson(join(dir, 'generation_config.json'), false),
    readJson(join(dir, 'config.json'), false),
    readOptionalText(join(dir, 'chat_template.jinja')),
  ]);
  return new HfTokenizer({ tokenizerJson, tokenizerConfig, generationConfig, modelConfig, chatTemplate }, dir);
}
