// `rexrag eval`: greedy multi-turn rollouts of a model folder (or of every checkpoint of a run) over a question
// file, reported as the paper's table: EM / F1 / n per data source, their average over sources, and pooled.
// The table goes to stdout as Markdown, the JSON result to --out, progress to stderr.
import { resolve } from 'node:path';

import { rolloutConfigSchema } from '../config/rollout-config.js';
import { readQuestions } from '../data/questions.js';
import { formatSourceTable, limitPerSource, type SourceTable } from '../eval/by-source.js';
import { evaluateCheckpoints } from '../eval/checkpoint-sweep.js';
import { evaluateResumable, type EvalProgress } from '../eval/run-eval.js';
import { loadPolicy } from '../model/load-policy.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { EVAL_ROLLOUT_FLAGS, flagHelp, flagOptions, sectionFromFlags } from './config-flags.js';
import { checkOutputFile } from './output-file.js';
import { numberOption, stringOption, valueFlags } from './parse.js';
import { ProgressBar } from './progress-bar.js';
import { openRetriever, retrieverOptions } from './retriever-option.js';
import { CliUsageError, defineCommand } from './usage.js';

const usage = `usage: rexrag eval (--model DIR | --checkpoints RUN_DIR) (--index DIR | --retriever URL) --data FILE [options]
  --data FILE             questions: Search-R1 parquet (test.parquet) or JSONL (--questions is an alias)
  --checkpoints RUN_DIR   evaluate every RUN_DIR/checkpoints/step-NNNNNNNN/model, one table row per step
  --limit-per-source N    only the first N questions of each data_source
  --out FILE              write the result as JSON: {bySource: {nq: {em, f1, n}, ...}, average: {em, f1}, overall: {em, f1, n}}
  --results FILE          one JSONL line per evaluated question (default: FILE.questions.jsonl next to --out);
                          rerunning the same command skips the questions it already holds
  --batch-size N          questions per rollout batch and per append to the results file (default 32)
  --device cpu|cuda
${flagHelp(rolloutConfigSchema, EVAL_ROLLOUT_FLAGS)}
Greedy decoding, no probes (as the reference). Prints the per-source Markdown table on stdout (EM / F1 in %).`;

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

export const evalCommand = defineCommand({
  name: 'eval',
  summary: 'evaluate a model or every checkpoint of a run (greedy; EM/F1 per data source) against a retriever',
  usage,
  options: {
    ...valueFlags('model', 'checkpoints', 'data', 'questions', 'limit-per-source', 'out', 'results', 'batch-size', 'device'),
    ...retrieverOptions, ...flagOptions(EVAL_ROLLOUT_FLAGS),
  },
  async run(values) {
    const model = stringOption(values, 'model');
    const runDir = stringOption(values, 'checkpoints');
    if ((model === undefined) === (runDir === undefined)) throw new CliUsageError('give exactly one of --model DIR and --checkpoints RUN_DIR');
    const data = stringOption(values, 'data') ?? stringOption(values, 'questions');
    if (data === undefined) throw new CliUsageError('--data is required');
    const limit = numberOption(values, 'limit-per-source', 0, { integer: true, min: 1 });
    const batchSize = numberOption(values, 'batch-size', 32, { integer: true, min: 1 });
    const rollout = sectionFromFlags(rolloutConfigSchema, EVAL_ROLLOUT_FLAGS, values);
    const out = stringOption(values, 'out');
    const resultsFile = stringOption(values, 'results') ?? (out ? `${out.replace(/\.json$/i, '')}.questions.jsonl` : undefined);
    // Both files are written after the rollouts: a path that cannot take them is refused now.
    if (out) await checkOutputFile(out, 'out');
    if (resultsFile) await checkOutputFile(resultsFile, values.results === undefined ? 'out' : 'results');
    const questions = limitPerSource(await readQuestions(data), limit);
    const device = stringOption(values, 'device') ?? 'cpu';
    const settings = { data: resolve(data), limitPerSource: limit || null, rollout };

    const bar = new ProgressBar();
    const onProgress = (p: EvalProgress) => bar.update(`eval ${p.label}`, p.done / p.total, `${p.done}/${p.total} questions, ETA ${formatSeconds(p.etaSeconds)}`, true);
    const common = { retriever: await openRetriever(values), questions, rollout, settings, batchSize, onProgress, ...(resultsFile ? { resultsFile } : {}) };
    try {
      let result: Record<string, unknown>;
      let rows: { label: string; table: SourceTable }[];
      if (runDir !== undefined) {
        const sweep = await evaluateCheckpoints(runDir, (dir) => loadPolicy(dir, { device }), common);
        rows = sweep.map(({ step, table }) => ({ label: String(step), table }));
        result = { runDir, data, checkpoints: sweep.map(({ step, table }) => ({ step, ...table })) };
      } else {
        const policy = await loadPolicy(model!, { device });
        try {
          const { table, resumed } = await evaluateResumable({ ...common, policy, label: resolve(model!) });
          if (resumed > 0) bar.message(`rexrag eval: ${resumed} questions taken from ${resultsFile}`);
          rows = [{ label: model!, table }];
          result = { model, data, ...table };
        } finally {
          policy.dispose();
        }
      }
      bar.done();
      process.stdout.write(formatSourceTable(rows, runDir !== undefined ? 'step' : 'model'));
      if (out) await writeFileAtomic(out, `${JSON.stringify(result, null, 2)}\n`);
      return 0;
    } finally {
      bar.done();
      await common.retriever.close();
    }
  },
});
