// `rexrag eval`: greedy multi-turn rollouts of a model folder over a question file; EM and F1 as JSON.
import { rlConfigSchema } from '../config/rl-config.js';
import { readQuestionsJsonl } from '../data/questions.js';
import { evaluate } from '../eval/evaluate.js';
import { loadPolicy } from '../model/load-policy.js';
import { numberOption, parseCommandArgs, stringOption } from './parse.js';
import { openRetriever, retrieverOptions } from './retriever-option.js';
import type { Command } from './usage.js';

const usage = `usage: rexrag eval --model DIR (--index DIR | --retriever URL) --questions FILE.jsonl [options]
  --max-turns N (default 5)  --max-response-tokens N (default 500)  --topk K (default 3)
Prints {"questions", "em", "f1", "searchesMean", "answeredRate"}; greedy decoding, no probes (as the reference).`;

export const evalCommand: Command = {
  name: 'eval',
  summary: 'evaluate a model (greedy, EM/F1) on a question file against a retriever',
  usage,
  async run(argv) {
    const values = parseCommandArgs(argv, {
      model: { type: 'string' }, ...retrieverOptions, questions: { type: 'string' }, 'max-turns': { type: 'string' },
      'max-response-tokens': { type: 'string' }, topk: { type: 'string' }, device: { type: 'string' },
    }, usage);
    if (!values) return 0;
    const questions = await readQuestionsJsonl(stringOption(values, 'questions', true));
    const rollout = rlConfigSchema.shape.rollout.parse({
      maxTurns: numberOption(values, 'max-turns', 5, { integer: true, min: 0 }),
      maxResponseTokensPerTurn: numberOption(values, 'max-response-tokens', 500, { integer: true, min: 1 }),
      topk: numberOption(values, 'topk', 3, { integer: true, min: 1 }),
    });
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
};
