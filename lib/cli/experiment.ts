// `rexrag experiment`: the embedded lab over several seeds in one regime, with per-method sampled EM over seeds
// and the paired REX-RAG − GRPO difference, each with its 95% interval; resumable (finished seeds are kept).
import { aggregateExperiment, runExperiment, type ExperimentResult } from '../lab/experiment.js';
import { LAB_REGIMES, type LabRegime } from '../lab/lab-settings.js';
import { numberOption, parseCommandArgs, stringOption } from './parse.js';
import { CliUsageError, type Command } from './usage.js';

const usage = `usage: rexrag experiment [--regime default|dead-ends] [--seeds N] [--dir DIR] [--parallel N] [--scale demo|test]
  Runs the lab (rexrag demo) for seeds 1..N (default 4) in DIR/seed-K (default runs/experiment-REGIME), N at a
  time with --parallel (default 1), skipping seeds already done, then writes DIR/experiment.json: per method,
  step and hop group the held-out sampled EM over seeds (mean, t 95% interval) and the paired difference
  REX-RAG - GRPO on the same seeds. The table on stdout shows the last step.`;

const f = (x: number) => x.toFixed(3);

/** The last step's table: per hop group, GRPO and REX-RAG over seeds and their paired difference. */
export function experimentTable(result: ReturnType<typeof aggregateExperiment> | ExperimentResult): string {
  const last = Math.max(...result.methods.map((m) => m.step));
  const lines = [`regime ${result.regime}, seeds ${result.seeds.join(',')}, step ${last}: held-out sampled EM, mean [95% CI] over seeds`];
  for (const hops of [1, 2, 3, 'multi', 'all'] as const) {
    const cell = (method: string) => result.methods.find((m) => m.method === method && m.step === last && m.hops === hops);
    const d = result.differences.find((x) => x.step === last && x.hops === hops);
    const g = cell('grpo');
    const x = cell('rex-rag');
    if (!g || !x || !d) continue;
    lines.push(`${String(hops).padEnd(6)} GRPO ${f(g.mean)} [${f(g.low)}, ${f(g.high)}]  REX-RAG ${f(x.mean)} [${f(x.low)}, ${f(x.high)}]  REX-RAG - GRPO ${f(d.mean)} [${f(d.low)}, ${f(d.high)}]`);
  }
  return lines.join('\n');
}

export const experimentCommand: Command = {
  name: 'experiment',
  summary: 'run the lab over several seeds and compare REX-RAG with GRPO (paired, with intervals)',
  usage,
  async run(argv) {
    const values = parseCommandArgs(argv, { regime: { type: 'string' }, seeds: { type: 'string' }, dir: { type: 'string' }, parallel: { type: 'string' }, scale: { type: 'string' } }, usage);
    if (!values) return 0;
    const regime = stringOption(values, 'regime') ?? 'default';
    if (!LAB_REGIMES.includes(regime as LabRegime)) throw new CliUsageError(`--regime must be one of ${LAB_REGIMES.join(', ')}, got "${regime}"`);
    const scale = stringOption(values, 'scale') ?? 'demo';
    if (scale !== 'demo' && scale !== 'test') throw new CliUsageError(`--scale must be demo or test, got "${scale}"`);
    const result = await runExperiment({
      dir: stringOption(values, 'dir') ?? `runs/experiment-${regime}`,
      seeds: numberOption(values, 'seeds', 4, { integer: true, min: 1 }),
      regime: regime as LabRegime,
      scale,
      parallel: numberOption(values, 'parallel', 1, { integer: true, min: 1 }),
      onLine: (line) => {
        if (/\[eval\].*multi|\[(grpo|rex-rag|world|warm-up)\] \d+ |failed/.test(line)) process.stderr.write(`${line}\n`);
      },
    });
    process.stdout.write(`${experimentTable(result)}\n`);
    return 0;
  },
};
