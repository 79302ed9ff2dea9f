// REX-RAG's probe trigger (method doc §3.2): when an original training trajectory answers wrongly before the final
// turn, spawn a probe with probability p and splice a uniformly drawn pool prompt. Returned as the rollout loop's
// `onAnswer` hook; cloning and splicing are the loop's, μ and the filter are probe-policy.ts's and
// trajectory-filter.ts's.
import { parseConfig } from '../config/resolve-config.js';
import { rexConfigSchema, type RexConfigInput } from '../config/rex-config.js';
import type { PromptTrie } from './prompt-trie.js';
import { exactMatch } from '../reward/qa-em.js';
import type { ProbeContext, ProbeDecision } from '../rollout/rollout-types.js';
import { describe, expectArray, expectBoolean, expectInteger, expectNumber, expectObject, expectString } from '../validate.js';
import { drawUniform, keyedRandom, type RandomSource } from '../util/random.js';

export interface ProbeTriggerInput {
  /** The answering trajectory is itself a probe (probes never spawn probes). */
  isProbe: boolean;
  /** Validation rollouts never probe. */
  validation: boolean;
  /** The answer block's content. */
  answer: string;
  golds: readonly string[];
}

/**
 * The reference's condition, in its order: training, an original trajectory, a wrong answer (EM < 1 against the
 * golds, SQuAD normalisation), and then ONE draw u of `random` with u < probability. Nothing is drawn unless the
 * first three hold, as in the reference's short-circuit.
 */
export function shouldProbe(input: ProbeTriggerInput, random: RandomSource, probability: number): boolean {
  expectObject(input, 'input');
  expectNumber(probability, 'probability', { min: 0, max: 1 });
  if (expectBoolean(input.validation, 'input.validation')) return false;
  if (expectBoolean(input.isProbe, 'input.isProbe')) return false;
  if (exactMatch(expectString(input.answer, 'input.answer'), input.golds) >= 1) return false;
  return drawUniform(random) < probability;
}

export interface ProbeTriggerOptions {
  /** The pool's trie, built with the rollout tokenizer. */
  trie: PromptTrie;
  /**
   * Seed of the draws. Each decision uses its own stream keyed by (seed, questionId, rowId, turn), so the outcome
   * does not depend on the order in which hooks run (e.g. concurrent cohorts). Use a different seed each training
   * step (e.g. base seed + step). Default 0.
   */
  seed?: number;
  /** REX-RAG's section of the run config (its `probeProbability` is p); missing keys take the schema's defaults. */
  rex?: RexConfigInput;
  /** Validation rollouts: the hook never fires. Default false. */
  validation?: boolean;
}

export interface ProbeTriggerDecision extends ProbeDecision {
  /** Pool index of the spliced prompt. */
  promptIndex: number;
}

/** What the hook accepts: a ProbeContext, optionally telling whether the answering row is a probe. */
export type ProbeTriggerContext = ProbeContext & { isProbe?: boolean };

/**
 * The rollout loop's `onAnswer` hook implementing the trigger: shouldProbe with the first draw of the context's
 * stream, then a uniform pool prompt from the second (PromptTrie.sample). Returns `{promptTokens, promptIndex}`
 * or null. The loop only calls it for originals; a context with `isProbe: true` is refused all the same.
 */
export function createProbeTrigger(options: ProbeTriggerOptions): (context: ProbeTriggerContext) => ProbeTriggerDecision | null {
  expectObject(options, 'options');
  const { trie } = options;
  expectObject(trie, 'options.trie');
  if (typeof trie.sample !== 'function') throw new TypeError('options.trie must be a PromptTrie');
  const seed = expectInteger(options.seed ?? 0, 'options.seed');
  const probability = parseConfig(rexConfigSchema, options.rex ?? {}, 'options.rex').probeProbability;
  const validation = expectBoolean(options.validation ?? false, 'options.validation');
  return (context) => {
    expectObject(context, 'context');
    const golds = expectArray(context.golds, 'context.golds') as string[];
    const id = context.questionId;
    if (typeof id !== 'string' && typeof id !== 'number') {
      throw new TypeError(`context.questionId must be a string or a number, got ${describe(id)}`);
    }
    expectInteger(context.rowId, 'context.rowId');
    expectInteger(context.turn, 'context.turn');
    const random = keyedRandom(seed, `${typeof id}:${id}|row:${context.rowId}|turn:${context.turn}`);
    const input = { isProbe: context.isProbe ?? false, validation, answer: context.answer, golds };
    if (!shouldProbe(input, random, probability)) return null;
    const { index, tokens } = trie.sample(random);
    return { promptTokens: tokens, promptIndex: index };
  };
}
