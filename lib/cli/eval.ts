// `rexrag eval`: greedy multi-turn rollouts of a model folder over a question file; EM and F1 as JSON.
import { rolloutConfigSchema } from '../config/rollout-config.js';
import { readQuestionsJsonl } from '../data/questions.js';
import { evaluate } from '../eval/evaluate.js';
import { loadPolicy } from '../model/load-policy.js';
import { flagHelp, flagOptions, EVAL_ROLLOUT_FLAGS, sectionFromFlags } from './config-flags.js';
import { stringOption, valueFlags } from './parse.js';
import { openRetriever, retrieverOptions } from './retriever-option.js';
import { defineCommand } from './usage.js';

const usage = `usage: rexrag eval --model DIR (--index DIR | --retriever URL) --questions FILE.jsonl [options]
${flagHelp(rolloutConfigSchema, EVAL_ROLLOUT_FLAGS)}
Prints {"questions", "em", "f1", "searchesMean", "answeredRate"}; greedy decoding, no probes (as the reference).`;

export const evalCommand = defineCommand({
  name: 'eval',
  summary: 'evaluate a model (greedy, EM/F1) on a question file against a retriever',
  usage,
  options: { ...valueFlags('model', 'questions', 'device'), ...retrieverOptions, ...flagOptions(EVAL_ROLLOUT_FLAGS) },
  async run(values) {
    const questions = await readQuestionsJsonl(stringOption(values, 'questions', true));
    const rollout = sectionFromFlags(rolloutConfigSchema, EVAL_ROLLOUT_FLAGS, values);
    const retriever = await openRetriever(values);
    const policy = await loadPolicy(stringOption(values, 'model', true), { device: stringOption(values, 'device') ?? 'cpu' });
    try {
      const { trajectories: _unused, ...summary } = await evaluate({ policy, retriever, questions, rollout });
      process.stdout.write(`${JSON.stringify(summary)}\n`);
      return 0;
    } finally {
      policy.dispose();
      await retriever.close();
    }
  },
});
