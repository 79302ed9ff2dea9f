// zod schema of the rollout section: Search-R1's multi-turn budget and the sampling settings of training
// rollouts. The single source of these options' names, types and defaults (rex-rag-method.md §1.5).
import { z } from 'zod';

export const rolloutConfigSchema = z
  .object({
    maxTurns: z.number().int().min(0).default(5).describe('turns in which a search is executed; one final turn without search follows'),
    maxResponseTokensPerTurn: z.number().int().min(1).default(500).describe('model tokens per turn, over all generate calls of the turn'),
    maxObservationTokens: z.number().int().min(1).default(500).describe('observation tokens kept (the rest is cut off)'),
    maxContextTokens: z.number().int().min(2).default(4096).describe("a row's prompt + response may not exceed this"),
    topk: z.number().int().min(1).default(3).describe('documents per search'),
    temperature: z.number().min(0).default(1).describe('sampling temperature of training rollouts (0: greedy)'),
    topP: z.number().gt(0).max(1).default(1).describe('nucleus sampling mass; 1 disables it'),
    topK: z.number().int().min(0).default(0).describe('keep the k most likely tokens; 0 disables it'),
    invalidNotice: z.enum(['rex', 'search-r1']).default('rex').describe("text appended after a turn without an action: REX-RAG's or Search-R1's"),
    onEosWithoutAction: z
      .enum(['end', 'notice'])
      .default('end')
      .describe("EOS before any action block: end the row (keeping the EOS as its last trained token) or, as the reference, drop the EOS, append the invalid-action notice and continue"),
    promptTemplate: z
      .enum(['search-r1', 'compact'])
      .default('search-r1')
      .describe("the user prompt: Search-R1's instruction + question (real models), or the question alone (small models trained on the protocol, e.g. the lab)"),
    cohorts: z.number().int().min(1).default(2).describe('question cohorts run concurrently (retrieval overlaps generation)'),
  })
  .strict();

export type RolloutConfig = z.infer<typeof rolloutConfigSchema>;
/** What a caller may pass: any subset; the schema fills the defaults. */
export type RolloutConfigInput = z.input<typeof rolloutConfigSchema>;
