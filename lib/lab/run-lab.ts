// The embedded lab behind `npm start`: on a generated syllable world (no downloads), build a BM25 index and a
// tiny Qwen2 with the lab tokenizer, warm it up with `rexrag sft`'s loop on the demonstrator's trajectories,
// train one copy with GRPO and one with REX-RAG under identical settings, evaluate every checkpoint on held-out
// test questions (sampled EM with intervals, and greedy EM), and write summary.json and report.html.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { labDemonstrations } from '../data/lab-demonstrator.js';
import { LAB_SYLLABLES } from '../data/lab-names.js';
import { LAB_TEMPLATES, LAB_WORDS } from '../data/lab-templates.js';
import { writeLabWorldFiles } from '../data/lab-world-files.js';
import { generateLabWorld, labQuestions, type LabQuestion } from '../data/lab-world.js';
import { sftDemosJsonl } from '../data/sft-demos.js';
import { loadPolicy } from '../model/load-policy.js';
import { writeTinyModel } from '../model/tiny-model.js';
import { labExamples, labReportHtml, type LabSummary } from '../report/lab-report.js';
import { buildIndex } from '../retrieval/build.js';
import { LocalRetriever } from '../retrieval/local-retriever.js';
import { buildLabTokenizer } from '../tokenizer/lab-tokenizer.js';
import { listCheckpoints } from '../train/checkpoint.js';
import { runRl, type RlEvent } from '../train/rl-loop.js';
import { runSft } from '../train/sft.js';
import { labEvaluate, type LabEvalRow } from './lab-eval.js';
import { labSettings, type LabRegime, type LabScale } from './lab-settings.js';

export type LabEvent =
  | { type: 'stage'; stage: string; detail: string }
  | { type: 'sft'; step: number; steps: number; nll: number }
  | { type: 'rl'; algorithm: 'grpo' | 'rex-rag'; event: RlEvent }
  | { type: 'eval'; rows: LabEvalRow[] };

export interface LabOptions {
  /** The lab folder; its previous content is replaced. */
  dir: string;
  seed?: number;
  scale?: LabScale;
  regime?: LabRegime;
  onEvent?: (event: LabEvent) => void;
}

export interface LabResult {
  dir: string;
  reportPath: string;
  summary: LabSummary;
  seconds: number;
}

/** The first `perTemplate` test questions of each template. */
function evalSet(questions: LabQuestion[], perTemplate: number): LabQuestion[] {
  return LAB_TEMPLATES.flatMap((t) => questions.filter((q) => q.data_source === t.id).slice(0, perTemplate));
}

/** Runs the whole lab; see the file comment. */
export async function runLab(options: LabOptions): Promise<LabResult> {
  const started = Date.now();
  const dir = resolve(options.dir);
  const seed = options.seed ?? 1;
  const scale = options.scale ?? 'demo';
  const regime = options.regime ?? 'default';
  const settings = labSettings(scale, seed, regime);
  const emit = (event: LabEvent) => options.onEvent?.(event);
  const seconds = () => (Date.now() - started) / 1000;
  const timings: [string, number][] = [];
  let mark = 0;
  const lap = (stage: string) => {
    timings.push([stage, seconds() - mark]);
    mark = seconds();
  };
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });

  // 1. The world, its corpus, questions and BM25 index.
  const world = generateLabWorld({ seed, sizes: settings.world });
  const questions = labQuestions(world);
  const files = await writeLabWorldFiles(join(dir, 'world'), world, questions);
  emit({ type: 'stage', stage: 'world', detail: `${files.documents} passages; ${questions.train.length} train, ${questions.dev.length} dev, ${questions.test.length} test questions (disjoint entities)` });
  await buildIndex({ corpus: files.corpus, out: join(dir, 'index'), embedder: 'bm25' });
  const retriever = await LocalRetriever.open(join(dir, 'index'));
  try {
    // 2. A tiny Qwen2 with the syllable tokenizer; demonstrations; the warm start (rexrag sft's loop).
    const tokenizer = buildLabTokenizer({ syllables: LAB_SYLLABLES, words: LAB_WORDS });
    const model = await writeTinyModel(join(dir, 'base-model'), { seed, ...settings.model, tokenizer, tieWordEmbeddings: true });
    emit({ type: 'stage', stage: 'model', detail: `Qwen2 ${settings.model.layers} layers, hidden ${settings.model.hidden}, vocabulary ${model.config.vocab_size}` });
    const demos = await labDemonstrations(world, questions.train, retriever, { seed, count: settings.demos.count, freshFraction: settings.demos.freshFraction, shortcut: settings.demos.shortcut, topk: settings.rl.rollout.topk });
    await writeFile(join(dir, 'demos.jsonl'), sftDemosJsonl(demos));
    lap('world + demonstrations');
    emit({ type: 'stage', stage: 'warm-up', detail: `${demos.length} demonstrations (${demos.filter((d) => d.fresh).length} in fresh mini-worlds, ${demos.filter((d) => d.shortcut).length} with a shortcut)` });
    const sft = await runSft({
      modelDir: join(dir, 'base-model'), demos, outDir: join(dir, 'warm'), promptTemplate: settings.rl.rollout.promptTemplate,
      epochs: settings.sft.epochs, batchSize: settings.sft.batchSize, lr: settings.sft.lr, warmupSteps: settings.sft.warmupSteps, seed,
      onStep: (s) => emit({ type: 'sft', step: s.step, steps: s.steps, nll: s.nll }),
    });
    lap('warm start');
    const warmDir = sft.modelDir;
    const testSet = evalSet(questions.test, settings.evalQuestionsPerTemplate);
    const evalAt = async (modelDir: string, method: string, step: number, samples: number) => {
      const policy = await loadPolicy(modelDir);
      try {
        const samplesDir = method === 'warm-start' ? join(dir, 'warm') : join(dir, 'runs', method);
        const rows = await labEvaluate({ policy, retriever, questions: testSet, rollout: settings.rl.rollout, samples, seed: seed * 31 + 7, method, step, samplesDir });
        emit({ type: 'eval', rows });
        return rows;
      } finally {
        policy.dispose();
      }
    };
    // The warm start gets one group's worth of samples per question, so its all-wrong share is that of RL groups at step 0.
    const warmRows = await evalAt(warmDir, 'warm-start', 0, settings.rl.groupSize);
    lap('warm-start evaluation');

    // 3. GRPO and REX-RAG from the same warm start, same questions, same seeds, same budget.
    const rows: LabEvalRow[] = [];
    const runs: LabSummary['runs'] = [];
    for (const algorithm of ['grpo', 'rex-rag'] as const) {
      const runStarted = Date.now();
      emit({ type: 'stage', stage: algorithm, detail: `${settings.rl.steps} steps of ${settings.rl.questionsPerStep} questions x ${settings.rl.groupSize} rollouts` });
      const runDir = join(dir, 'runs', algorithm);
      const result = await runRl({
        config: { ...settings.rl, algorithm, checkpoint: { every: settings.evalEvery, keepLast: 1000 } },
        policy: await loadPolicy(warmDir),
        retriever,
        trainQuestions: questions.train,
        runDir,
        onEvent: (event) => emit({ type: 'rl', algorithm, event }),
      });
      result.policy.dispose();
      const trainSeconds = (Date.now() - runStarted) / 1000;
      rows.push(...warmRows.map((row) => ({ ...row, method: algorithm })));
      for (const checkpoint of await listCheckpoints(join(runDir, 'checkpoints'))) {
        const step = Number(/step-(\d+)$/.exec(checkpoint)![1]);
        rows.push(...(await evalAt(join(checkpoint, 'model'), algorithm, step, settings.evalSamples)));
      }
      runs.push({ algorithm, steps: result.steps, trainSeconds, seconds: (Date.now() - runStarted) / 1000 });
      lap(algorithm);
    }

    const summary: LabSummary = {
      title: 'rexrag lab: GRPO and REX-RAG on a generated syllable world',
      setting: [
        ['world', `${files.documents} passages; names of 2-3 syllables from ${LAB_SYLLABLES.length}; train, dev and test use disjoint entities`],
        ['questions', `${questions.train.length} train; test evaluation on ${testSet.length} held-out questions (${settings.evalQuestionsPerTemplate} per template, ${LAB_TEMPLATES.length} templates, 1-3 hops)`],
        ['retriever', `BM25, top ${settings.rl.rollout.topk}`],
        ['model', `Qwen2, ${settings.model.layers} layers, hidden ${settings.model.hidden}, ${settings.model.heads} heads, tied embeddings, vocabulary ${tokenizer.vocabSize} (syllable BPE)`],
        ['warm-up', `${demos.length} demonstrations (70% in fresh mini-worlds), ${sft.steps} steps of ${settings.sft.batchSize}, lr ${settings.sft.lr}; NLL ${sft.nll[0]!.toFixed(2)} -> ${sft.nll[sft.nll.length - 1]!.toFixed(2)}`],
        ['RL', `${settings.rl.steps} steps x ${settings.rl.questionsPerStep} questions x ${settings.rl.groupSize} rollouts, compact prompt, lr ${settings.rl.trainer.optimizer.lr}, KL ${settings.rl.trainer.loss.klCoef} (k3)`],
        ['evaluation', `every ${settings.evalEvery} steps: ${settings.evalSamples} sampled rollouts per question (T=${settings.rl.rollout.temperature}; ${settings.rl.groupSize}, one RL group, at the warm start) with Wilson 95% intervals, and greedy`],
        ['seed, regime', `${seed}, ${regime}`],
      ],
      rows,
      runs,
      timings,
      notes: [
        'Both methods start from the same warm start and see the same questions in the same order with the same sampling seeds; only the algorithm differs.',
        'One seed: a difference between methods smaller than the intervals is noise. EM is on held-out test entities: only searching and copying can answer.',
        `Everything ran on this machine in ${seconds().toFixed(0)} s; metrics per step are in runs/<method>/metrics.jsonl.`,
      ],
    };
    const reportPath = join(dir, 'report.html');
    await writeFile(reportPath, await labReportHtml(summary, await labExamples(join(dir, 'runs'), runs.map((r) => r.algorithm))));
    await writeFile(join(dir, 'summary.json'), `${JSON.stringify({ rows, setting: summary.setting, timings, seconds: seconds() }, null, 2)}\n`);
    return { dir, reportPath, summary, seconds: seconds() };
  } finally {
    await retriever.close();
  }
}
