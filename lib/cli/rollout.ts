// `rexrag rollout`: multi-turn Search-R1 rollouts of a model folder against an index or a retrieval server;
// trajectories (with their EM reward) as JSONL.
import { createWriteStream } from 'node:fs';

import { readQuestions } from '../data/questions.js';
import { loadPolicy } from '../model/load-policy.js';
import { scoreAnswer } from '../reward/qa-em.js';
import { runRolloutsInCohorts } from '../rollout/cohorts.js';
import { numberOption, parseCommandArgs, stringOption } from './parse.js';
import { openRetriever, retrieverOptions } from './retriever-option.js';
import { CliUsageError, type Command } from './usage.js';

const usage = `usage: rexrag rollout --model DIR (--index DIR | --retriever URL) --questions FILE [options]
  --questions FILE        Search-R1 parquet, or JSONL: {"id"?, "question", "golden_answers": [...], "data_source"?} per line
  --group-size N          rollouts per question (default 5)
  --max-turns N           turns with search, then one final answer turn (default 5)
  --max-response-tokens N per turn (default 500)     --max-obs-tokens N  (default 500)
  --max-context-tokens N  (default 4096)             --topk K            documents per search (default 3)
  --temperature T         (default 1)  --top-p P (default 1)  --seed S (default 0)
  --cohorts N             question cohorts run concurrently so retrieval overlaps generation (default 2)
  --out FILE              JSONL of trajectories (default stdout)
Each output line: the trajectory (tokens, components, loss mask, log-probs, text, answer) plus "reward" (EM).`;

export const rolloutCommand: Command = {
  name: 'rollout',
  summary: 'run Search-R1 multi-turn rollouts of a model against a retriever (JSONL out)',
  usage,
  async run(argv) {
    const values = parseCommandArgs(argv, {
      model: { type: 'string' }, ...retrieverOptions, questions: { type: 'string' },
      'group-size': { type: 'string' }, 'max-turns': { type: 'string' }, 'max-response-tokens': { type: 'string' },
      'max-obs-tokens': { type: 'string' }, 'max-context-tokens': { type: 'string' }, topk: { type: 'string' },
      temperature: { type: 'string' }, 'top-p': { type: 'string' }, seed: { type: 'string' }, cohorts: { type: 'string' },
      out: { type: 'string' }, device: { type: 'string' },
    }, usage);
    if (!values) return 0;
    const questions = await readQuestions(stringOption(values, 'questions', true));
    const options = {
      groupSize: numberOption(values, 'group-size', 5, { integer: true, min: 1 }),
      maxTurns: numberOption(values, 'max-turns', 5, { integer: true, min: 0 }),
      maxResponseTokensPerTurn: numberOption(values, 'max-response-tokens', 500, { integer: true, min: 1 }),
      maxObservationTokens: numberOption(values, 'max-obs-tokens', 500, { integer: true, min: 1 }),
      maxContextTokens: numberOption(values, 'max-context-tokens', 4096, { integer: true, min: 2 }),
      topk: numberOption(values, 'topk', 3, { integer: true, min: 1 }),
      cohorts: numberOption(values, 'cohorts', 2, { integer: true, min: 1 }),
    };
    const sampling = {
      temperature: numberOption(values, 'temperature', 1, { min: 0 }),
      topP: numberOption(values, 'top-p', 1, { min: Number.MIN_VALUE, max: 1 }),
      topK: 0,
      seed: numberOption(values, 'seed', 0, { integer: true, min: 0 }),
    };
    const retriever = await openRetriever(values);
    const policy = await loadPolicy(stringOption(values, 'model', true), { device: stringOption(values, 'device') ?? 'cpu' });
    try {
      if (!policy.tokenizer) throw new CliUsageError('the model folder has no tokenizer.json');
      const started = Date.now();
      const trajectories = await runRolloutsInCohorts({
        ...options, createSession: () => policy.createSession(), tokenizer: policy.tokenizer, retriever, questions, sampling,
      });
      const out = stringOption(values, 'out');
      const stream = out ? createWriteStream(out) : process.stdout;
      let correct = 0;
      for (const trajectory of trajectories) {
        const reward = scoreAnswer(trajectory.responseText, trajectory.golds, { metric: 'em' });
        correct += reward;
        stream.write(`${JSON.stringify({ ...trajectory, reward })}\n`);
      }
      if (out) await new Promise<void>((resolve, reject) => (stream as ReturnType<typeof createWriteStream>).end((error?: Error | null) => (error ? reject(error) : resolve())));
      process.stderr.write(`rexrag rollout: ${trajectories.length} trajectories, EM ${(correct / trajectories.length).toFixed(3)}, ` +
        `${trajectories.reduce((n, t) => n + t.searches.length, 0)} searches, ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      return 0;
    } finally {
      policy.dispose();
      await retriever.close();
    }
  },
};
