// `rexrag demo` (what `npm start` runs): the embedded lab, REX-RAG against GRPO on a generated world, with
// progress on stderr and the result table on stdout. `--self-check` only checks the native runtime.
import { labSummaryText } from '../report/lab-report.js';
import { LAB_METHODS, parseLabMethods } from '../lab/lab-methods.js';
import { LAB_PROBE_POOLS, LAB_REGIMES, type LabProbePool, type LabRegime } from '../lab/lab-settings.js';
import { runLab, type LabEvent } from '../lab/run-lab.js';
import { matmulBenchmark, runtimeInfo } from '../runtime.js';
import { checkOutputFolder } from './output-file.js';
import { numberOption, seedOption, stringOption, switchFlags, valueFlags } from './parse.js';
import { CliUsageError, defineCommand } from './usage.js';

const usage = `usage: rexrag demo [--dir DIR] [--seed N] [--scale demo|test] [--regime default|dead-ends] [--methods LIST] [--probe-pool paper|lab] [--resume] [--self-check]
  Generates a multi-hop world, its corpus index and a tiny Qwen2 model, warms the model up on demonstrations,
  trains one copy with GRPO and one with REX-RAG, evaluates both and writes DIR/report.html (default runs/lab).
  --scale test runs the same pipeline at toy size in seconds. --regime dead-ends: a demonstrator that almost always
  answers multi-hop questions too early. --methods: comma-separated, from ${LAB_METHODS.join(', ')}
  (default grpo,rex-rag). --probe-pool: REX-RAG's exploration prompts, the paper's 30 English ones (default) or
  the lab's own (one tag the lab's model can read). --resume keeps the warm start and the methods a previous run of DIR finished.
  --self-check only checks libtorch and the BLAS.`;

function describe(event: LabEvent): string | undefined {
  if (event.type === 'stage') return `[${event.stage}] ${event.detail}`;
  if (event.type === 'sft') return event.step === event.steps || event.step % 100 === 0 ? `[warm-up] step ${event.step}/${event.steps}: NLL ${event.nll.toFixed(3)}` : undefined;
  if (event.type === 'eval') {
    return event.rows.filter((r) => r.hops !== 'all').map((r) => `[eval] ${r.method} step ${r.step}, ${r.hops}-hop: sampled EM ${r.em.toFixed(3)} [${r.emLow.toFixed(2)}, ${r.emHigh.toFixed(2)}] (${r.samples}), greedy ${r.greedyEm.toFixed(3)}, all-wrong ${r.allWrong.toFixed(2)}, searches ${r.searches.toFixed(2)}`).join('\n');
  }
  const e = event.event;
  if (e.type === 'step') {
    const m = e.metrics;
    return `[${event.algorithm}] step ${e.step}: reward ${m['reward/mean']!.toFixed(3)}, dead ends ${m['deadend/rate']!.toFixed(2)}, ` +
      `probes kept ${m['probe/kept']}/${m['probe/generated']}, ${m['time/step_s']!.toFixed(1)} s`;
  }
  return undefined;
}

async function selfCheck(): Promise<number> {
  const info = runtimeInfo();
  const matmul = await matmulBenchmark({ size: 1024, reps: 10 });
  const blasOk = /openblas|mkl/i.test(info.blasLibrary);
  process.stdout.write(`${JSON.stringify({ runtime: info, matmul1024: matmul, optimisedBlas: blasOk }, null, 2)}\n`);
  if (!blasOk) process.stderr.write('warning: libtorch is not using OpenBLAS or MKL; install libopenblas0-openmp\n');
  return 0;
}

export const demoCommand = defineCommand({
  name: 'demo',
  summary: 'run the embedded lab: REX-RAG against GRPO on a generated world (what npm start runs)',
  usage,
  options: { ...valueFlags('dir', 'seed', 'scale', 'regime', 'methods', 'probe-pool'), ...switchFlags('self-check', 'resume') },
  async run(values) {
    if (values['self-check']) return selfCheck();
    const scale = stringOption(values, 'scale') ?? 'demo';
    if (scale !== 'demo' && scale !== 'test') throw new CliUsageError(`--scale must be demo or test, got "${scale}"`);
    const regime = stringOption(values, 'regime') ?? 'default';
    if (!LAB_REGIMES.includes(regime as LabRegime)) throw new CliUsageError(`--regime must be one of ${LAB_REGIMES.join(', ')}, got "${regime}"`);
    const probePool = stringOption(values, 'probe-pool') ?? 'paper';
    if (!LAB_PROBE_POOLS.includes(probePool as LabProbePool)) throw new CliUsageError(`--probe-pool must be one of ${LAB_PROBE_POOLS.join(', ')}, got "${probePool}"`);
    const methodsText = stringOption(values, 'methods');
    let methods;
    try {
      methods = methodsText === undefined ? undefined : parseLabMethods(methodsText);
    } catch (error) {
      throw new CliUsageError(`--methods: ${(error as Error).message}`);
    }
    const dir = stringOption(values, 'dir') ?? 'runs/lab';
    await checkOutputFolder(dir, 'dir');
    const info = runtimeInfo();
    process.stderr.write(`rexrag lab on libtorch ${info.torchVersion}, ${info.numThreads} threads (${scale} scale)\n`);
    const result = await runLab({
      dir,
      seed: seedOption(values, 'seed', 1),
      scale,
      regime: regime as LabRegime,
      methods,
      probePool: probePool as LabProbePool,
      resume: values.resume === true,
      onEvent: (event) => {
        const line = describe(event);
        if (line) process.stderr.write(`${line}\n`);
      },
    });
    process.stdout.write(`\n${labSummaryText(result.summary)}\n\nreport: ${result.reportPath} (${result.seconds.toFixed(0)} s)\n`);
    return 0;
  },
});
