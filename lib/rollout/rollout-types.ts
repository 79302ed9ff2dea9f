// The types of the multi-turn rollout loop: its options, its output trajectories, its events, and the hook that
// REX-RAG probing plugs into. The loop itself is in rollout-loop.ts.
import type { PromptTemplate } from './search-r1-prompt.js';
import type { GenerationSession, SamplingOptions } from '../model/generation-types.js';
import type { Retriever } from '../retrieval/types.js';
import type { TextTokenizer } from '../tokenizer/types.js';
import type { InvalidNoticeStyle } from './observation.js';

export interface RolloutQuestion {
  /** Globally unique across the batch: it is the GRPO group id of the question's rows. */
  id: string | number;
  question: string;
  golds: string[];
}

/** Sampling settings of every generate call; the loop supplies the stop strings and the per-turn token budget. */
export type RolloutSampling = Omit<SamplingOptions, 'stopStrings' | 'maxNewTokens' | 'eosTokenIds'> & {
  /** Default: the tokenizer's eosTokenIds. */
  eosTokenIds?: number[];
  /** Accepted for convenience; must equal maxResponseTokensPerTurn when both are given. */
  maxNewTokens?: number;
};

/** Why a trajectory ended. */
export type FinishReason =
  | 'answer' // a complete <answer> block
  | 'eos' // EOS without a complete action block (the EOS token is the last model token)
  | 'max-turns' // it searched in the final turn, where no search is executed
  | 'context' // its context reached maxContextTokens
  | 'length'; // the final turn used its whole token budget without a complete action block

/** What the probe hook is told when an original row answers in turns 0..maxTurns−1. */
export interface ProbeContext {
  /** The answering trajectory (its rowId in the output). */
  rowId: number;
  questionId: string | number;
  groupId: string | number;
  question: string;
  golds: readonly string[];
  turn: number;
  /** The answer block's content, trimmed. */
  answer: string;
  /**
   * Response index of the token that holds the '<' of `<answer>`: the clone keeps the response tokens before it.
   * When `<answer>` starts in the middle of a token, that whole token is cut too.
   */
  answerStart: number;
  /** The same position counted from the row's first prompt token: the keepTokens of the clone. */
  answerStartInRow: number;
  /** Text of the cut token before `<answer>`, lost from the clone (empty when `<answer>` starts a token). */
  textLostBeforeAnswer: string;
  /** The response tokens so far, answer block included. */
  responseTokens: readonly number[];
}

/** Returned by the probe hook to spawn a probe: these tokens are appended after the cut, as 'probe-prompt'. */
export interface ProbeDecision {
  promptTokens: number[];
}

export type ProbeHook = (context: ProbeContext) => ProbeDecision | null | Promise<ProbeDecision | null>;

export type RolloutEvent =
  | { type: 'turn'; turn: number; final: boolean; activeRows: number }
  | { type: 'generate'; turn: number; call: number; rows: number; maxNewTokens: number; followUp: boolean }
  | { type: 'search'; turn: number; queries: number }
  | { type: 'observation-truncated'; turn: number; rowId: number; tokens: number; kept: number }
  /** Tokens that the session generated past a row's limit or past its first complete action block, dropped. */
  | { type: 'tokens-dropped'; turn: number; rowId: number; tokens: number }
  | { type: 'probe'; turn: number; rowId: number; probeOf: number; promptTokens: number }
  | { type: 'probe-skipped'; turn: number; probeOf: number; reason: 'context' }
  | { type: 'row-finished'; turn: number; rowId: number; reason: FinishReason };

export interface RolloutOptions {
  session: GenerationSession;
  tokenizer: TextTokenizer;
  retriever: Retriever;
  questions: RolloutQuestion[];
  /** Rows per question (GRPO's n). */
  groupSize: number;
  sampling: RolloutSampling;
  /** Turns in which a search is executed; one more final turn follows without search. Default 5 (REX-RAG). */
  maxTurns?: number;
  /** Observation tokens kept (the rest is cut off). Default 500. */
  maxObservationTokens?: number;
  /** Model tokens per turn, over all generate calls of the turn. Default 500. */
  maxResponseTokensPerTurn?: number;
  /** A row's prompt + response may not exceed this. Default 4096. */
  maxContextTokens?: number;
  /** Documents per search. Default 3. */
  topk?: number;
  /** Default 'rex' ("\nMy action is invalid. "). */
  invalidNotice?: InvalidNoticeStyle;
  /** How the question becomes the prompt (buildPromptMessages). Default 'search-r1'. */
  promptTemplate?: PromptTemplate;
  /** Release the session rows of finished trajectories. Default true. */
  releaseFinishedRows?: boolean;
  onEvent?: (event: RolloutEvent) => void;
  /** REX-RAG probing: called when an original row answers before the final turn. */
  onAnswer?: ProbeHook;
}

/** One trajectory. Per-token arrays are over the response (everything after the prompt). */
export interface Trajectory {
  /** Index in the output: originals first (question order, then group member), then probes as created. */
  rowId: number;
  questionId: string | number;
  /** The GRPO group: the question id (a probe shares its source's). */
  groupId: string | number;
  golds: string[];
  promptTokens: number[];
  responseTokens: number[];
  /** Component code per response token (see components.ts). */
  components: number[];
  lossMask: number[];
  /** Log-prob under the sampling distribution; 0 for tokens the policy did not sample. */
  sampledLogprobs: number[];
  /** Log-prob under the untempered model; 0 for tokens the policy did not sample. */
  modelLogprobs: number[];
  /** decode(responseTokens), special tokens kept. */
  responseText: string;
  /** Turns in which the row generated (a probe counts the turns it inherited). */
  turns: number;
  /** Queries of the searches it made (executed or, in the final turn, not). */
  searches: string[];
  /** Content of the answer block that ended it, or null. */
  answer: string | null;
  finishReason: FinishReason;
  isProbe: boolean;
  /** rowId of the trajectory it was cloned from. */
  probeOf: number | null;
  /** Response index of its first spliced prompt token. */
  probePromptStart: number | null;
}
