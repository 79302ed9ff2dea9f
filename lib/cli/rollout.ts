// `rexrag rollout`: multi-turn Search-R1 rollouts of a model folder against an index or a retrieval server;
// trajectories (with their EM reward) as JSONL.
import { rolloutConfigSchema } from '../config/rollout-config.js';
import { readQuestions } from '../data/questions.js';
import { loadPolicy } from '../model/load-policy.js';
import { scoreAnswer } from '../reward/qa-em.js';
import { runRolloutsInCohorts } from '../rollout/cohorts.js';
import { checkRolloutRows } from '../train/rollout-rows.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { flagHelp, flagOptions, ROLLOUT_FLAGS, sectionFromFlags } from './config-flags.js';
import { checkOutputFile } from './output-file.js';
import { numberOption, seedOption, stringOption, valueFlags } from './parse.js';
import { openRetriever, retrieverOptions } from './retriever-option.js';
import { CliUsageError, defineCommand } from './usage.js';

const usage = `usage: rexrag rollout --model DIR (--index DIR | --retriever URL) --questions FILE [options]
  --questions FILE        Search-R1 parquet, or JSONL: {"id"?, "question", "golden_answers": [...], "data_source"?} per line
  --group-size N          rollouts per question (default 5)
  --seed S                sampling seed (default 0)
  --out FILE              JSONL of trajectories (default stdout)
${flagHelp(rolloutConfigSchema, ROLLOUT_FLAGS)}
Each output line: the trajectory (tokens, components, loss mask, log-probs, text, answer) plus "reward" (EM).`;

export const rolloutCommand = defineCommand({
  name: 'rollout',
  summary: 'run Search-R1 multi-turn rollouts of a model against a retriever (JSONL out)',
  usage,
  options: { ...valueFlags('model', 'questions', 'group-size', 'seed', 'out', 'device'), ...retrieverOptions, ...flagOptions(ROLLOUT_FLAGS) },
  async run(values) {
    const groupSize = numberOption(values, 'group-size', 5, { integer: true, min: 1 });
    const seed = seedOption(values, 'seed', 0);
    const questions = await readQuestions(stringOption(values, 'questions', true));
    const rollout = sectionFromFlags(rolloutConfigSchema, ROLLOUT_FLAGS, values);
    const outFlag = stringOption(values, 'out');
    const out = outFlag === undefined ? undefined : await checkOutputFile(outFlag, 'out');
    const retriever = await openRetriever(values);
    const policy = await loadPolicy(stringOption(values, 'model', true), { device: stringOption(values, 'device') ?? 'cpu' });
    try {
      if (!policy.tokenizer) throw new CliUsageError('the model folder has no tokenizer.json');
      checkRolloutRows({ questions: questions.length, groupSize, cohorts: rollout.cohorts, limits: policy.limits, groupName: '--group-size' });
      const started = Date.now();
      const trajectories = await runRolloutsInCohorts({
        createSession: () => policy.createSession(), tokenizer: policy.tokenizer, retriever, questions, groupSize, rollout, seed,
      });
      let correct = 0;
      const lines = trajectories.map((trajectory) => {
        const reward = scoreAnswer(trajectory.responseText, trajectory.golds, { metric: 'em' });
        correct += reward;
        return `${JSON.stringify({ ...trajectory, reward })}\n`;
      });
      // A file appears complete or not at all.
      if (out) await writeFileAtomic(out, lines.join(''));
      else for (const line of lines) process.stdout.write(line);
      process.stderr.write(`rexrag rollout: ${trajectories.length} trajectories, EM ${(correct / trajectories.length).toFixed(3)}, ` +
        `${trajectories.reduce((n, t) => n + t.searches.length, 0)} searches, ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      return 0;
    } finally {
      policy.dispose();
      await retriever.close();
    }
  },
});
