// `rexrag train`: GRPO or REX-RAG on a model folder, a retriever and a question file; metrics, checkpoints and
// the final model go to the run folder.
import { join } from 'node:path';

import { rlConfigSchema } from '../config/rl-config.js';
import { resolveConfig } from '../config/resolve-config.js';
import { readQuestions } from '../data/questions.js';
import { loadPolicy, savePolicyFolder } from '../model/load-policy.js';
import { runRl, type RlEvent } from '../train/rl-loop.js';
import { stringOption, switchFlags, valueFlags } from './parse.js';
import { openRetriever, retrieverOptions } from './retriever-option.js';
import { defineCommand } from './usage.js';

const usage = `usage: rexrag train --model DIR (--index DIR | --retriever URL) --train FILE --out RUN_DIR [options]
  --train FILE           questions: Search-R1 parquet (train.parquet) or JSONL
  --dev FILE             questions (parquet or JSONL) evaluated (greedy) every eval.every steps
  --config FILE          YAML or JSON run configuration (see README: algorithm, steps, rollout, rex, trainer, ...)
  --set KEY=VALUE        override one setting, e.g. --set algorithm=grpo --set trainer.optimizer.lr=1e-5 (repeatable)
  --resume               continue from the latest checkpoint in RUN_DIR/checkpoints
RUN_DIR receives config.json, metrics.jsonl (slash-named metrics per step), checkpoints/ and model/ (the result).`;

function describeEvent(event: RlEvent): string | undefined {
  if (event.type === 'step') {
    const m = event.metrics;
    return `step ${event.step}: reward ${m['reward/mean']!.toFixed(3)}, dead ends ${m['deadend/rate']!.toFixed(2)}, ` +
      `probes ${m['probe/kept']}/${m['probe/generated']}, loss ${m['train/loss']!.toFixed(4)}, ${m['time/step_s']!.toFixed(1)} s`;
  }
  if (event.type === 'eval') return `eval at step ${event.step}: EM ${event.result.em.toFixed(3)} over ${event.result.questions} questions`;
  if (event.type === 'checkpoint') return `checkpoint ${event.dir}`;
  return undefined;
}

export const trainCommand = defineCommand({
  name: 'train',
  summary: 'train a model with GRPO or REX-RAG against a retriever',
  usage,
  options: {
    ...valueFlags('model', 'train', 'dev', 'config', 'out', 'device'), ...retrieverOptions, ...switchFlags('resume'),
    set: { type: 'string', multiple: true },
  },
  async run(values) {
    const out = stringOption(values, 'out', true);
    const config = await resolveConfig(rlConfigSchema, {
      ...(stringOption(values, 'config') ? { file: stringOption(values, 'config')! } : {}),
      overrides: (values.set as string[] | undefined) ?? [],
    });
    const trainQuestions = await readQuestions(stringOption(values, 'train', true));
    const devFile = stringOption(values, 'dev');
    const evalQuestions = devFile ? await readQuestions(devFile) : [];
    const retriever = await openRetriever(values);
    const resume = values.resume === true;
    const policy = resume ? undefined : await loadPolicy(stringOption(values, 'model', true), { device: stringOption(values, 'device') ?? 'cpu' });
    try {
      const result = await runRl({
        config, retriever, trainQuestions, evalQuestions, runDir: out, resume, ...(policy ? { policy } : {}),
        onEvent: (event) => {
          const line = describeEvent(event);
          if (line) process.stderr.write(`${line}\n`);
        },
      });
      await savePolicyFolder(result.policy, join(out, 'model'));
      process.stdout.write(`${JSON.stringify({ runDir: out, algorithm: config.algorithm, steps: config.steps, evals: result.evals })}\n`);
      result.policy.dispose();
      return 0;
    } finally {
      await retriever.close();
    }
  },
});
