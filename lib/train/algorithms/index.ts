// The one place where the run's `algorithm` picks its strategy.
import type { RlConfig } from '../../config/rl-config.js';
import { PromptTrie } from '../../explore/prompt-trie.js';
import type { TextTokenizer } from '../../tokenizer/types.js';
import { GrpoAlgorithm } from './grpo.js';
import { RexRagAlgorithm } from './rex-rag.js';
import type { RlAlgorithm } from './types.js';

export { GrpoAlgorithm } from './grpo.js';
export { RexRagAlgorithm } from './rex-rag.js';
export type { BehaviourLogps, MixtureScalars, ProbeSelection, RlAlgorithm, StepRollouts } from './types.js';

/** The strategy of `config.algorithm`, with the state of a resumed run when given. */
export function createAlgorithm(config: RlConfig, tokenizer: TextTokenizer, state?: { rho: number }): RlAlgorithm {
  switch (config.algorithm) {
    case 'grpo':
      return new GrpoAlgorithm(config.rex);
    case 'rex-rag':
      return new RexRagAlgorithm(config.rex, PromptTrie.fromPrompts(tokenizer, config.rex.promptPool), config.seed, state);
  }
}
