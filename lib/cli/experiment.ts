// `rexrag experiment`: the embedded lab over several seeds in one regime, comparing methods (GRPO, REX-RAG and
// its ablations) with every figure's 95% interval over seeds; resumable (finished seeds and methods are kept).
import { runExperiment, type ExperimentResult, type MeanInterval } from '../lab/experiment.js';
import { LAB_METHODS, parseLabMethods } from '../lab/lab-methods.js';
import { LAB_PROBE_POOLS, LAB_REGIMES, type LabProbePool, type LabRegime } from '../lab/lab-settings.js';
import { checkOutputFolder } from './output-file.js';
import { numberOption, parseCommandArgs, stringOption } from './parse.js';
import { CliUsageError, type Command } from './usage.js';

const usage = `usage: rexrag experiment [--regime default|dead-ends] [--seeds N] [--methods LIST] [--probe-pool paper|lab] [--dir DIR] [--parallel N] [--scale demo|test]
  Runs the lab (rexrag demo) for seeds 1..N (default 4) in DIR/seed-K (default runs/experiment-REGIME), N at a
  time with --parallel (default 1), keeping seeds and methods already done, then writes DIR/experiment.json: per
  method, over seeds (mean, t 95% interval): held-out sampled EM per step and hop group, the paired difference
  to GRPO on the same seeds, the dead-end rate per step, probe success, and compute (sampled tokens, training time).
  --methods: comma-separated, from ${LAB_METHODS.join(', ')} (default grpo,rex-rag; grpo is always run).
  --probe-pool: REX-RAG's exploration prompts (see rexrag demo --help); a finished REX-RAG method of another pool
  is run again, GRPO and the warm start are kept.
  The table on stdout shows the last evaluation.`;

const f = (x: number) => x.toFixed(3);
const ci = (m: MeanInterval) => `${f(m.mean)} [${f(m.low)}, ${f(m.high)}]`;

/** The last evaluation's tables: EM per method and hop group with the paired difference to GRPO; probes; compute. */
export function experimentTable(result: ExperimentResult): string {
  const last = Math.max(...result.em.map((m) => m.step));
  const lines = [`regime ${result.regime}, seeds ${result.seeds.join(',')}, step ${last}: held-out sampled EM, mean [95% CI] over seeds`];
  for (const hops of [1, 2, 3, 'multi', 'all'] as const) {
    for (const method of result.methods) {
      const cell = result.em.find((m) => m.method === method && m.step === last && m.hops === hops);
      if (!cell) continue;
      const d = result.differences.find((x) => x.method === method && x.step === last && x.hops === hops);
      lines.push(`${String(hops).padEnd(6)} ${method.padEnd(22)} ${ci(cell)}${d ? `  - GRPO ${ci(d)}` : ''}`);
    }
  }
  lines.push('', 'per method over a run, mean [95% CI] over seeds:');
  for (const method of result.methods) {
    const dead = result.deadEnds.filter((x) => x.method === method);
    const probes = result.probes.find((x) => x.method === method);
    const compute = result.compute.find((x) => x.method === method);
    if (!probes || !compute || dead.length === 0) continue;
    lines.push(
      `${method.padEnd(22)} dead ends step 1 ${f(dead[0]!.mean)} -> step ${dead.length} ${f(dead[dead.length - 1]!.mean)}; ` +
      `probes kept ${f(probes.kept.mean)}/${f(probes.generated.mean)}, EM kept ${f(probes.keptAccuracy.mean)}, generated ${f(probes.generatedAccuracy.mean)}, rescued groups ${f(probes.rescuedGroups.mean)}; ` +
      `sampled tokens ${compute.sampledTokens.mean.toFixed(0)}, training ${compute.trainSeconds.mean.toFixed(0)} s`,
    );
  }
  return lines.join('\n');
}

export const experimentCommand: Command = {
  name: 'experiment',
  summary: 'run the lab over several seeds and compare REX-RAG and its ablations with GRPO (paired, with intervals)',
  usage,
  async run(argv) {
    const values = parseCommandArgs(argv, {
      regime: { type: 'string' }, seeds: { type: 'string' }, methods: { type: 'string' }, 'probe-pool': { type: 'string' }, dir: { type: 'string' }, parallel: { type: 'string' }, scale: { type: 'string' },
    }, usage);
    if (!values) return 0;
    const regime = stringOption(values, 'regime') ?? 'default';
    if (!LAB_REGIMES.includes(regime as LabRegime)) throw new CliUsageError(`--regime must be one of ${LAB_REGIMES.join(', ')}, got "${regime}"`);
    const scale = stringOption(values, 'scale') ?? 'demo';
    if (scale !== 'demo' && scale !== 'test') throw new CliUsageError(`--scale must be demo or test, got "${scale}"`);
    const probePool = stringOption(values, 'probe-pool') ?? 'paper';
    if (!LAB_PROBE_POOLS.includes(probePool as LabProbePool)) throw new CliUsageError(`--probe-pool must be one of ${LAB_PROBE_POOLS.join(', ')}, got "${probePool}"`);
    let methods;
    try {
      methods = parseLabMethods(stringOption(values, 'methods') ?? 'grpo,rex-rag');
    } catch (error) {
      throw new CliUsageError(`--methods: ${(error as Error).message}`);
    }
    const dir = stringOption(values, 'dir') ?? `runs/experiment-${regime}`;
    await checkOutputFolder(dir, 'dir');
    const result = await runExperiment({
      dir,
      seeds: numberOption(values, 'seeds', 4, { integer: true, min: 1 }),
      regime: regime as LabRegime,
      methods,
      probePool: probePool as LabProbePool,
      scale,
      parallel: numberOption(values, 'parallel', 1, { integer: true, min: 1 }),
      onLine: (line) => {
        if (/\[eval\].*multi|\] step \d+0:|failed/.test(line)) process.stderr.write(`${line}\n`);
      },
    });
    process.stdout.write(`${experimentTable(result)}\n`);
    return 0;
  },
};
