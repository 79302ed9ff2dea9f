// `npm run bench [-- --quick] [-- --only NAME]`: runs every workload for rexrag and for the plain PyTorch
// reference side by side (each measurement in a fresh child process, same thread count), prints a table, and
// writes the figures with the machine, commit and config to benchmarks/results/. The measurements themselves
// live in benchmarks/workloads/, the reference in benchmarks/python/.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { probePython, REPO_ROOT, waitForQuietBeforeChildren } from './lib/child.js';
import { compareFigures, readResultFigures, renderComparison } from './lib/compare.js';
import { benchmarkSizes } from './lib/config.js';
import type { BenchContext, Workload } from './lib/context.js';
import { commitInfo, machineInfo } from './lib/machine.js';
import { BUSY_THRESHOLD, createQuietBudget } from './lib/quiet.js';
import { renderMarkdownTable, renderTable, single } from './lib/report.js';
import { generationWorkload } from './workloads/generation.js';
import { grpoWorkload } from './workloads/grpo.js';
import { labStepWorkload } from './workloads/lab-step.js';
import { limitsWorkload } from './workloads/limits.js';
import { logprobsWorkload } from './workloads/logprobs.js';
import { parityWorkload } from './workloads/parity.js';
import { retrievalWorkload } from './workloads/retrieval.js';

const WORKLOADS: Workload[] = [limitsWorkload, parityWorkload, generationWorkload, logprobsWorkload, grpoWorkload, labStepWorkload, retrievalWorkload];
/** Workloads whose figures need the machine limits; --only runs the limits first for them. */
const NEEDS_LIMITS = new Set(['generation', 'grpo', 'retrieval']);

const USAGE = `usage: npm run bench [-- --quick] [-- --only NAME] [-- --threads N] [-- --keep-temp]
  --quick       every workload at reduced size (a few minutes)
  --only NAME   one workload: ${WORKLOADS.map((w) => w.name).join(', ')}
  --threads N   libtorch threads for rexrag and PyTorch alike (default: the number of cores)
  --max-wait S  seconds the whole run may spend waiting for other load to settle before measurements
                (default 30 with --quick, 600 otherwise; 0 never waits)
  --keep-temp   keep the scratch folder with the saved weights
  --compare OLD.json   after the run, print every figure's change against an earlier results file
  --against NEW.json   with --compare: compare two results files without running anything`;

const RESULTS_DIR = join(REPO_ROOT, 'benchmarks', 'results');
const README = join(REPO_ROOT, 'benchmarks', 'README.md');

function parseOptions() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      threads: { type: 'string' },
      'max-wait': { type: 'string' },
      'keep-temp': { type: 'boolean', default: false },
      compare: { type: 'string' },
      against: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  const threads = values.threads === undefined ? os.availableParallelism() : Number(values.threads);
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`--threads must be a positive integer, got ${values.threads}`);
  if (values.only !== undefined && !WORKLOADS.some((w) => w.name === values.only)) {
    throw new RangeError(`--only must be one of ${WORKLOADS.map((w) => w.name).join(', ')}, got ${JSON.stringify(values.only)}`);
  }
  const maxWait = values['max-wait'] === undefined ? (values.quick ? 30 : 600) : Number(values['max-wait']);
  if (!(maxWait >= 0)) throw new RangeError(`--max-wait must be a number of seconds >= 0, got ${values['max-wait']}`);
  if (values.against !== undefined && values.compare === undefined) throw new RangeError('--against needs --compare OLD.json');
  // Read the old file now, so a wrong path fails before a long run rather than after it.
  const compareWith = values.compare === undefined ? undefined : { path: values.compare, figures: readResultFigures(values.compare) };
  return { quick: values.quick, only: values.only, threads, maxWait, keepTemp: values['keep-temp'], help: values.help, compareWith, against: values.against };
}

/** Replaces the text between `<!-- name:start -->` and `<!-- name:end -->` in the README, if both are there. */
function updateReadmeSection(name: string, body: string): boolean {
  let text: string;
  try {
    text = readFileSync(README, 'utf8');
  } catch {
    return false;
  }
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) return false;
  writeFileSync(README, `${text.slice(0, from + start.length)}\n${body}\n${text.slice(to)}`);
  return true;
}

async function main(): Promise<number> {
  let options;
  try {
    options = parseOptions();
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (options.compareWith && options.against) {
    try {
      const changes = compareFigures(options.compareWith.figures, readResultFigures(options.against));
      process.stdout.write(`${options.against}\n${renderComparison(changes, options.compareWith.path)}\n`);
      return 0;
    } catch (error) {
      process.stderr.write(`${(error as Error).message}\n`);
      return 2;
    }
  }
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s`;
  const loadSamples: number[] = [];
  const sizes = benchmarkSizes(options.quick, options.threads);
  const python = probePython();
  const machine = machineInfo();
  if (python.available) machine.pythonTorchVersion = python.torchVersion;
  const tempDir = mkdtempSync(join(os.tmpdir(), 'rexrag-bench-'));
  const quietBudget = createQuietBudget(options.maxWait * 1000);
  waitForQuietBeforeChildren(quietBudget, machine.cores);
  const context: BenchContext = {
    sizes,
    tempDir,
    python,
    limits: {},
    parity: new Map(),
    figures: [],
    notes: [],
    log: (message) => {
      loadSamples.push(os.loadavg()[0]!);
      process.stderr.write(`[bench ${elapsed()}] ${message}\n`);
    },
  };
  context.log(`${sizes.mode} run on ${machine.cpuModel}, ${machine.cores} cores, ${sizes.threads} threads, load ${machine.loadAverage.join(' ')}`);
  if (!python.available) context.notes.push(`PyTorch reference not run: ${python.reason}`);
  if (options.quick) {
    context.notes.push(`--quick: ${sizes.shapes[1]!.id} stands in for Qwen2.5-0.5B (same width and vocabulary, 2 of 24 layers); ` +
      `retrieval corpus ${sizes.retrieval.passages} passages (100k in a full run)`);
  }

  let selected = WORKLOADS;
  if (options.only) {
    selected = WORKLOADS.filter((w) => w.name === options.only || (NEEDS_LIMITS.has(options.only!) && w.name === 'limits'));
  }
  let failures = 0;
  for (const workload of selected) {
    try {
      await workload.run(context);
    } catch (error) {
      failures += 1;
      const message = (error as Error).message;
      context.log(`${workload.name} failed: ${message}`);
      context.notes.push(`${workload.name} failed: ${message}`);
      context.figures.push(single(workload.name, '-', null, { note: 'failed, see notes' }));
    }
  }
  if (!options.keepTemp) rmSync(tempDir, { recursive: true, force: true });

  const finishedLoad = os.loadavg().map((value) => Math.round(value * 100) / 100);
  // The 1-minute load includes this run's own threads; more than that plus half the cores means other work ran.
  const peakLoad = Math.max(machine.loadAverage[0]! + sizes.threads, ...loadSamples, finishedLoad[0]!);
  const quietSummary = {
    measurements: quietBudget.measurements,
    startedWhileBusy: quietBudget.startedBusy,
    repeatedBecauseDisturbed: quietBudget.repeated,
    disturbed: quietBudget.disturbed,
    waitedSeconds: Math.round(quietBudget.waitedMs / 1000),
  };
  if (quietBudget.disturbed.length > 0 || quietBudget.startedBusy > 0) {
    context.notes.push(`other processes shared the machine: ${quietBudget.disturbed.length} of ${quietBudget.measurements} measurements ` +
      `kept a result during which they used >= ${BUSY_THRESHOLD} cores on average (${quietBudget.repeated} disturbed ones were repeated; ` +
      `${quietSummary.waitedSeconds} s spent waiting for quiet): ${quietBudget.disturbed.join(', ') || '-'}. ` +
      'Those figures are noisy, the PyTorch side more so (its many small parallel regions wait on descheduled threads)');
  } else if (peakLoad > sizes.threads + machine.cores / 2) {
    context.notes.push(`1-minute load up to ${peakLoad.toFixed(1)} on ${machine.cores} cores, but no measurement was disturbed by more than ${BUSY_THRESHOLD} cores`);
  }
  const date = new Date();
  const report = {
    date: date.toISOString(),
    mode: sizes.mode,
    only: options.only ?? null,
    durationSeconds: Math.round((Date.now() - started) / 1000),
    machine: { ...machine, loadAverageAtEnd: finishedLoad, peakLoadAverage: Math.round(peakLoad * 100) / 100, quiet: quietSummary },
    commit: commitInfo(),
    config: sizes,
    results: context.figures,
    notes: context.notes,
  };

  const table = renderTable(context.figures);
  process.stdout.write(`\nrexrag benchmarks (${sizes.mode}${options.only ? `, only ${options.only}` : ''}) - ${date.toISOString()}\n`);
  process.stdout.write(`${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB; libtorch ${machine.torchVersion}, ${sizes.threads} threads; ratio > 1: rexrag better\n\n`);
  process.stdout.write(`${table}\n`);
  if (context.notes.length) process.stdout.write(`\nnotes:\n${context.notes.map((n) => `- ${n}`).join('\n')}\n`);

  mkdirSync(RESULTS_DIR, { recursive: true });
  const day = date.toISOString().slice(0, 10);
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const written: string[] = [];
  if (options.only) {
    const file = join(RESULTS_DIR, `${day}-${sizes.mode}-only-${options.only}.json`);
    writeFileSync(file, json);
    written.push(file);
  } else {
    for (const file of [join(RESULTS_DIR, 'latest.json'), join(RESULTS_DIR, `${day}-${sizes.mode}.json`)]) {
      writeFileSync(file, json);
      written.push(file);
    }
    const heading = `${sizes.mode === 'quick' ? '`npm run bench -- --quick`' : '`npm run bench`'}, ${date.toISOString().slice(0, 16).replace('T', ' ')} UTC, ` +
      `commit ${report.commit.commit.slice(0, 10)}${report.commit.dirty ? ' (with uncommitted changes)' : ''}, ${report.durationSeconds} s\n\n` +
      `Machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.kernel}; libtorch ${machine.torchVersion} ` +
      `(${machine.blasLibrary.split('/').pop()}), python3-torch ${machine.pythonTorchVersion ?? 'not installed'}, ${sizes.threads} threads; ` +
      `load average ${machine.loadAverage.join(' ')} at the start, ${finishedLoad.join(' ')} at the end.\n\n`;
    const notes = context.notes.length ? `\n\n${context.notes.map((n) => `- ${n}`).join('\n')}` : '';
    if (updateReadmeSection(`results-${sizes.mode}`, heading + renderMarkdownTable(context.figures) + notes)) written.push(README);
  }
  if (options.compareWith) process.stdout.write(`\n${renderComparison(compareFigures(options.compareWith.figures, context.figures), options.compareWith.path)}\n`);
  process.stdout.write(`\nwritten: ${written.map((f) => f.replace(`${REPO_ROOT}/`, '')).join(', ')}\n`);
  return failures > 0 ? 1 : 0;
}

process.exitCode = await main();
