// The contract between the multi-turn rollout loop and whatever generates tokens: the native Qwen2 policy
// (lib/model/policy.ts) or a scripted fake in tests. Rows are trajectories; each keeps its own KV cache.

/** Why a row stopped in one generate() call. */
export type StopReason =
  | 'stop' // a stop string appeared in the row's new bytes
  | 'eos' // an EOS token was sampled (it is included in `tokens`)
  | 'length'; // maxNewTokens reached

export interface SamplingOptions {
  /** 0 means greedy. */
  temperature: number;
  /** Nucleus sampling mass in (0, 1]; 1 disables it. */
  topP: number;
  /** Keep the k most likely tokens; 0 or less disables it. */
  topK: number;
  maxNewTokens: number;
  /** Same seed, same rows, same options: same tokens. */
  seed: number;
  /** A row stops right after the token whose bytes complete one of these strings. */
  stopStrings: string[];
  eosTokenIds: number[];
}

export interface GeneratedRow {
  rowId: number;
  /** The new tokens, the stopping token included. */
  tokens: number[];
  /** log-prob of each token under the distribution it was sampled from (temperature, top-k, top-p applied). */
  logprobs: number[];
  /** log-prob of each token under the untempered model: log_softmax(logits). */
  modelLogprobs: number[];
  stopReason: StopReason;
  /** The stop string that matched, when stopReason is 'stop'. */
  stopString?: string;
}

/**
 * A batch of growing token rows. Calls that change rows are synchronous bookkeeping; generate() is the one
 * heavy call and covers all given rows in one native turn. Tokens appended to a row are prefilled by the
 * next generate() that includes it.
 */
export interface GenerationSession {
  /** Adds a row holding `promptTokens` (at least one token) and returns its id. */
  addRow(promptTokens: number[]): number;
  /** Appends tokens (an observation, a spliced prompt) to a row. */
  append(rowId: number, tokens: number[]): void;
  /** A new row with the first `keepTokens` tokens of `rowId` (all when omitted); shares the cached prefix. */
  clone(rowId: number, keepTokens?: number): number;
  /** Every token of the row, prompt included. */
  tokens(rowId: number): number[];
  /** Generates for the given rows until each stops; the new tokens are appended to their rows. */
  generate(rowIds: number[], options: SamplingOptions): Promise<GeneratedRow[]>;
  /** Frees rows that will not be used again. */
  release(rowIds: number[]): void;
  /** Frees everything; the session cannot be used afterwards. */
  dispose(): void;
}
