// The token budgets of a policy, checked in TypeScript before any native work: tokens per sequence (at most the
// model's max_position_embeddings), KV-cache slots per generate call, and tokens per score call. The native
// code allocates what these bound; it is never asked for more.
import { LimitError } from '../errors.js';
import type { NativeQwen2Config } from '../native-types.js';
import { expectInteger, expectObject } from '../validate.js';

/** Tokens per generate call: rows x (widest prompt + maxNewTokens), the KV-cache slots the call allocates. */
export const DEFAULT_MAX_GENERATION_BATCH_TOKENS = 1 << 20;
/** Tokens per score call (summed over its sequences; they are scored in micro-batches). */
export const DEFAULT_MAX_SCORE_BATCH_TOKENS = 1 << 24;

export interface TokenLimits {
  /** Longest sequence: prompt plus new tokens in generation, the whole row in scoring. Default: max_position_embeddings. */
  maxSequenceTokens: number;
  /** KV-cache slots of one generate call: rows x (widest cached prefix + widest pending part + maxNewTokens). Default 2^20. */
  maxGenerationBatchTokens: number;
  /** Tokens of one score call, summed over its sequences. Default 2^24. */
  maxScoreBatchTokens: number;
}

/** The limits for a model: defaults filled in; a sequence limit above max_position_embeddings is refused. */
export function resolveTokenLimits(config: NativeQwen2Config, options: Partial<TokenLimits> = {}): TokenLimits {
  expectObject(options, 'options.limits');
  const positions = config.max_position_embeddings ?? 32768;
  const pick = (name: keyof TokenLimits, fallback: number, max = Number.MAX_SAFE_INTEGER) =>
    (options[name] === undefined ? fallback : expectInteger(options[name], `options.limits.${name}`, { min: 1, max }));
  return {
    maxSequenceTokens: pick('maxSequenceTokens', positions, positions),
    maxGenerationBatchTokens: pick('maxGenerationBatchTokens', DEFAULT_MAX_GENERATION_BATCH_TOKENS),
    maxScoreBatchTokens: pick('maxScoreBatchTokens', DEFAULT_MAX_SCORE_BATCH_TOKENS),
  };
}

/** Refuses a sequence of `tokens` over the per-sequence limit; `what` says which sequence, for the message. */
export function checkSequenceTokens(tokens: number, limits: TokenLimits, what: string): void {
  if (tokens > limits.maxSequenceTokens) {
    throw new LimitError(
      `${what} is ${tokens} tokens, over the limit of ${limits.maxSequenceTokens} per sequence (maxSequenceTokens; ` +
        'at most the model\'s max_position_embeddings)',
      'maxSequenceTokens', tokens, limits.maxSequenceTokens,
    );
  }
}

/** Refuses a call whose batch would hold more than `max` tokens; `limit` names the setting. */
export function checkBatchTokens(tokens: number, max: number, limit: keyof TokenLimits, what: string): void {
  if (tokens > max) throw new LimitError(`${what} needs ${tokens} tokens, over the limit of ${max} (${limit})`, limit, tokens, max);
}
