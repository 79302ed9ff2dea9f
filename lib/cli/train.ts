// `rexrag train`: GRPO or REX-RAG on a model folder, a retriever and a question file; metrics, checkpoints and
// the final model go to the run folder.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { rlConfigSchema } from '../config/rl-config.js';
import { resolveConfig } from '../config/resolve-config.js';
import { readQuestions } from '../data/questions.js';
import { launchLocalRanks } from '../distributed/launch.js';
import { ProcessGroup } from '../distributed/process-group.js';
import { loadPolicy, savePolicyFolder } from '../model/load-policy.js';
import { runRl, type RlEvent } from '../train/rl-loop.js';
import { checkOutputFolder } from './output-file.js';
import { numberOption, stringOption, switchFlags, valueFlags, type OptionValues } from './parse.js';
import { openRetriever, retrieverOptions } from './retriever-option.js';
import { CliUsageError, defineCommand } from './usage.js';

const usage = `usage: rexrag train --model DIR (--index DIR | --retriever URL) --train FILE --out RUN_DIR [options]
  --train FILE           questions: Search-R1 parquet (train.parquet) or JSONL
  --dev FILE             questions (parquet or JSONL) evaluated (greedy) every eval.every steps
  --config FILE          YAML or JSON run configuration (see README: algorithm, steps, rollout, rex, trainer, ...)
  --set KEY=VALUE        override one setting, e.g. --set algorithm=grpo --set trainer.optimizer.lr=1e-5 (repeatable)
  --resume               continue from the latest checkpoint in RUN_DIR/checkpoints
  --reshard              with --resume: accept a checkpoint written by a different number of ranks
  --nproc N              data parallel on this machine: N ranks (child processes, REXRAG_NUM_THREADS = cores / N)
  --dist-timeout SECONDS rendezvous and collective timeout of a data-parallel run (default 1800)
  --dist-backend B       auto (default: nccl for a CUDA policy when libtorch has it, else gloo), gloo or nccl
RUN_DIR receives config.json, metrics.jsonl (slash-named metrics per step), checkpoints/ and model/ (the result).
Data parallel over several machines: one \`rexrag train\` per rank with MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE
and LOCAL_RANK set (torchrun's names); rank 0 writes RUN_DIR.`;

/** The command line that gave `values`, without `omit` (what --nproc hands to each rank). */
export function argvFromValues(values: OptionValues, omit: readonly string[]): string[] {
  const argv: string[] = [];
  for (const [name, value] of Object.entries(values)) {
    if (omit.includes(name) || value === undefined || value === false) continue;
    if (value === true) argv.push(`--${name}`);
    else for (const item of Array.isArray(value) ? value : [value]) argv.push(`--${name}`, String(item));
  }
  return argv;
}

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
    ...valueFlags('model', 'train', 'dev', 'config', 'out', 'device', 'nproc', 'dist-timeout', 'dist-backend'), ...retrieverOptions, ...switchFlags('resume', 'reshard'),
    set: { type: 'string', multiple: true },
  },
  async run(values) {
    const out = stringOption(values, 'out', true);
    await checkOutputFolder(out, 'out');
    if (values.nproc !== undefined) {
      const nproc = numberOption(values, 'nproc', 1, { integer: true, min: 1 });
      if (process.env.WORLD_SIZE) throw new CliUsageError('--nproc starts its own ranks: unset WORLD_SIZE (or drop --nproc and launch each rank yourself)');
      const bin = fileURLToPath(new URL('../../../bin/rexrag.js', import.meta.url));
      const launched = await launchLocalRanks({ nproc, args: [bin, 'train', ...argvFromValues(values, ['nproc'])] });
      return launched.exitCode;
    }
    const timeoutSeconds = numberOption(values, 'dist-timeout', 1800, { min: 1 });
    const backend = stringOption(values, 'dist-backend') ?? 'auto';
    if (backend !== 'auto' && backend !== 'gloo' && backend !== 'nccl') throw new CliUsageError(`--dist-backend must be auto, gloo or nccl, got "${backend}"`);
    const config = await resolveConfig(rlConfigSchema, {
      ...(stringOption(values, 'config') ? { file: stringOption(values, 'config')! } : {}),
      overrides: (values.set as string[] | undefined) ?? [],
    });
    const trainQuestions = await readQuestions(stringOption(values, 'train', true));
    const devFile = stringOption(values, 'dev');
    const evalQuestions = devFile ? await readQuestions(devFile) : [];
    const retriever = await openRetriever(values);
    const resume = values.resume === true;
    const device = stringOption(values, 'device') ?? 'cpu';
    let group: ProcessGroup | undefined;
    try {
      group = await ProcessGroup.fromEnv({ timeoutSeconds, device, backend });
      // A rank's GPU is its LOCAL_RANK's (the torchrun convention) when the device names none.
      const rankDevice = group && device === 'cuda' ? `cuda:${process.env.LOCAL_RANK}` : device;
      const policy = resume ? undefined : await loadPolicy(stringOption(values, 'model', true), { device: rankDevice });
      const result = await runRl({
        config, retriever, trainQuestions, evalQuestions, runDir: out, resume, ...(policy ? { policy } : {}),
        ...(group ? { processGroup: group } : {}), reshard: values.reshard === true,
        onEvent: (event) => {
          const line = describeEvent(event);
          if (line) process.stderr.write(`${line}\n`);
        },
      });
      if ((group?.rank ?? 0) === 0) {
        await savePolicyFolder(result.policy, join(out, 'model'));
        process.stdout.write(`${JSON.stringify({ runDir: out, algorithm: config.algorithm, steps: config.steps, worldSize: group?.worldSize ?? 1, evals: result.evals })}\n`);
      }
      result.policy.dispose();
      return 0;
    } finally {
      group?.dispose();
      await retriever.close();
    }
  },
});
