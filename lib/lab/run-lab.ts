// The embedded lab behind `npm start`: on a generated syllable world (no downloads), build a BM25 index and a
// tiny Qwen2 with the lab tokenizer, warm it up with `rexrag sft`'s loop on the demonstrator's trajectories,
// train one copy with GRPO and one with REX-RAG under identical settings, evaluate every checkpoint on held-out
// test questions (sampled EM with intervals, and greedy EM), and write summary.json and report.html. Other lab
// methods (REX-RAG's ablations) can be added; with `resume`, the warm start and finished methods are kept.
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
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
import { writeFileAtomic } from '../util/atomic-file.js';
import { labEvaluate, type LabEvalRow } from './lab-eval.js';
import { methodConfig, type LabMethod } from './lab-methods.js';
import { labSettings, type LabProbePool, type LabRegime, type LabScale } from './lab-settings.js';
import { makeFolder } from '../util/make-folder.js';

export type LabEvent =
  | { type: 'stage'; stage: string; detail: string }
  | { type: 'sft'; step: number; steps: number; nll: number }
  | { type: 'rl'; algorithm: LabMethod; event: RlEvent }
  | { type: 'eval'; rows: LabEvalRow[] };

export interface LabOptions {
  /** The lab folder; its previous content is replaced. */
  dir: string;
  seed?: number;
  scale?: LabScale;
  regime?: LabRegime;
  /** The exploration prompts of REX-RAG's probes (see LabProbePool); default 'paper'. */
  probePool?: LabProbePool;
  /** The methods trained from the warm start, in order (default GRPO and REX-RAG). */
  methods?: readonly LabMethod[];
  /**
   * Keep what a previous run of the same folder finished: the warm start (and its evaluation) and every method
   * whose evaluation is saved; a method cut short is trained again from the warm start.
   */
  resume?: boolean;
  onEvent?: (event: LabEvent) => void;
}

/** What the warm-up stage leaves for the methods, saved as warm-start.json so a resumed lab can skip it. */
interface WarmStart {
  modelDir: string;
  rows: LabEvalRow[];
  demos: { count: number; fresh: number; shortcut: number };
  sft: { steps: number; nllFirst: number; nllLast: number };
  vocabSize: number;
}

/** A finished method, saved as runs/METHOD/lab-result.json. */
interface MethodResult {
  /** The probe pool it ran with (GRPO's results hold for any pool). */
  probePool?: LabProbePool;
  rows: LabEvalRow[];
  run: LabSummary['runs'][number];
}

async function readJson<T>(path: string): Promise<T | undefined> {
  return existsSync(path) ? (JSON.parse(await readFile(path, 'utf8')) as T) : undefined;
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
  const methods = options.methods ?? ['grpo', 'rex-rag'];
  const probePool = options.probePool ?? 'paper';
  const settings = labSettings(scale, seed, regime, probePool);
  const emit = (event: LabEvent) => options.onEvent?.(event);
  const seconds = () => (Date.now() - started) / 1000;
  const timings: [string, number][] = [];
  let mark = 0;
  const lap = (stage: string) => {
    timings.push([stage, seconds() - mark]);
    mark = seconds();
  };
  const warmStartFile = join(dir, 'warm-start.json');
  let warm = options.resume ? await readJson<WarmStart>(warmStartFile) : undefined;
  if (!warm) {
    await rm(dir, { recursive: true, force: true });
    await makeFolder(dir);
  }

  // 1. The world, its corpus, questions and BM25 index (the world is a function of the seed, so a resumed lab
  //    rebuilds the same one and keeps its index).
  const world = generateLabWorld({ seed, sizes: settings.world });
  const questions = labQuestions(world);
  const files = await writeLabWorldFiles(join(dir, 'world'), world, questions);
  emit({ type: 'stage', stage: 'world', detail: `${files.documents} passages; ${questions.train.length} train, ${questions.dev.length} dev, ${questions.test.length} test questions (disjoint entities)` });
  if (!warm) await buildIndex({ corpus: files.corpus, out: join(dir, 'index'), embedder: 'bm25' });
  const retriever = await LocalRetriever.open(join(dir, 'index'));
  try {
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

    // 2. A tiny Qwen2 with the syllable tokenizer; demonstrations; the warm start (rexrag sft's loop).
    if (warm) {
      emit({ type: 'stage', stage: 'warm-up', detail: `kept from the previous run (${warm.modelDir})` });
    } else {
      const tokenizer = buildLabTokenizer({ syllables: LAB_SYLLABLES, words: LAB_WORDS });
      const model = await writeTinyModel(join(dir, 'base-model'), { seed, ...settings.model, tokenizer, tieWordEmbeddings: true });
      emit({ type: 'stage', stage: 'model', detail: `Qwen2 ${settings.model.layers} layers, hidden ${settings.model.hidden}, vocabulary ${model.config.vocab_size}` });
      const demos = await labDemonstrations(world, questions.train, retriever, { seed, count: settings.demos.count, freshFraction: settings.demos.freshFraction, shortcut: settings.demos.shortcut, topk: settings.rl.rollout.topk });
      await writeFile(join(dir, 'demos.jsonl'), sftDemosJsonl(demos));
      lap('world + demonstrations');
      const demoCounts = { count: demos.length, fresh: demos.filter((d) => d.fresh).length, shortcut: demos.filter((d) => d.shortcut).length };
      emit({ type: 'stage', stage: 'warm-up', detail: `${demoCounts.count} demonstrations (${demoCounts.fresh} in fresh mini-worlds, ${demoCounts.shortcut} with a shortcut)` });
      const sft = await runSft({
        modelDir: join(dir, 'base-model'), demos, outDir: join(dir, 'warm'), promptTemplate: settings.rl.rollout.promptTemplate,
        epochs: settings.sft.epochs, batchSize: settings.sft.batchSize, lr: settings.sft.lr, warmupSteps: settings.sft.warmupSteps, seed,
        onStep: (step) => emit({ type: 'sft', step: step.step, steps: step.steps, nll: step.nll }),
      });
      lap('warm start');
      // The warm start gets one group's worth of samples per question, so its all-wrong share is that of RL groups at step 0.
      const rows = await evalAt(sft.modelDir, 'warm-start', 0, settings.rl.groupSize);
      lap('warm-start evaluation');
      warm = {
        modelDir: sft.modelDir, rows, demos: demoCounts, vocabSize: tokenizer.vocabSize,
        sft: { steps: sft.steps, nllFirst: sft.nll[0]!, nllLast: sft.nll[sft.nll.length - 1]! },
      };
      await writeFileAtomic(warmStartFile, `${JSON.stringify(warm, null, 2)}\n`);
    }
    const warmStart = warm;

    // 3. Every method from the same warm start, same questions, same seeds, same budget.
    const rows: LabEvalRow[] = [];
    const runs: LabSummary['runs'] = [];
    for (const method of methods) {
      const runDir = join(dir, 'runs', method);
      const resultFile = join(runDir, 'lab-result.json');
      const previous = options.resume ? await readJson<MethodResult>(resultFile) : undefined;
      const kept = previous && (method === 'grpo' || (previous.probePool ?? 'paper') === probePool) ? previous : undefined;
      const result = kept ?? { probePool, ...(await trainAndEvaluate(method, runDir)) };
      if (!kept) await writeFileAtomic(resultFile, `${JSON.stringify(result)}\n`);
      rows.push(...result.rows);
      runs.push(result.run);
      lap(method);
    }

    async function trainAndEvaluate(method: LabMethod, runDir: string): Promise<MethodResult> {
      const runStarted = Date.now();
      await rm(runDir, { recursive: true, force: true });
      emit({ type: 'stage', stage: method, detail: `${settings.rl.steps} steps of ${settings.rl.questionsPerStep} questions x ${settings.rl.groupSize} rollouts` });
      const result = await runRl({
        config: { ...methodConfig(method, settings.rl), checkpoint: { every: settings.evalEvery, keepLast: 1000 } },
        policy: await loadPolicy(warmStart.modelDir),
        retriever,
        trainQuestions: questions.train,
        runDir,
        onEvent: (event) => emit({ type: 'rl', algorithm: method, event }),
      });
      result.policy.dispose();
      const trainSeconds = (Date.now() - runStarted) / 1000;
      const methodRows: LabEvalRow[] = warmStart.rows.map((row) => ({ ...row, method }));
      for (const checkpoint of await listCheckpoints(join(runDir, 'checkpoints'))) {
        const step = Number(/step-(\d+)$/.exec(checkpoint)![1]);
        methodRows.push(...(await evalAt(join(checkpoint, 'model'), method, step, settings.evalSamples)));
      }
      return { rows: methodRows, run: { algorithm: method, steps: result.steps, trainSeconds, seconds: (Date.now() - runStarted) / 1000 } };
    }

    const summary: LabSummary = {
      title: 'rexrag lab: GRPO and REX-RAG on a generated syllable world',
      setting: [
        ['world', `${files.documents} passages; names of 2-3 syllables from ${LAB_SYLLABLES.length}; train, dev and test use disjoint entities`],
        ['questions', `${questions.train.length} train; test evaluation on ${testSet.length} held-out questions (${settings.evalQuestionsPerTemplate} per template, ${LAB_TEMPLATES.length} templates, 1-3 hops)`],
        ['retriever', `BM25, top ${settings.rl.rollout.topk}`],
        ['model', `Qwen2, ${settings.model.layers} layers, hidden ${settings.model.hidden}, ${settings.model.heads} heads, tied embeddings, vocabulary ${warmStart.vocabSize} (syllable BPE)`],
        ['warm-up', `${warmStart.demos.count} demonstrations (70% in fresh mini-worlds), ${warmStart.sft.steps} steps of ${settings.sft.batchSize}, lr ${settings.sft.lr}; NLL ${warmStart.sft.nllFirst.toFixed(2)} -> ${warmStart.sft.nllLast.toFixed(2)}`],
        ['RL', `${settings.rl.steps} steps x ${settings.rl.questionsPerStep} questions x ${settings.rl.groupSize} rollouts, compact prompt, lr ${settings.rl.trainer.optimizer.lr}, KL ${settings.rl.trainer.loss.klCoef} (k3)`],
        ['evaluation', `every ${settings.evalEvery} steps: ${settings.evalSamples} sampled rollouts per question (T=${settings.rl.rollout.temperature}; ${settings.rl.groupSize}, one RL group, at the warm start) with Wilson 95% intervals, and greedy`],
        ['REX-RAG probes', probePool === 'lab' ? `the lab's exploration prompt pool (${settings.rl.rex.promptPool!.join(', ')})` : "the paper's 30 exploration prompts"],
        ['seed, regime', `${seed}, ${regime}`],
      ],
      rows,
      runs,
      timings,
      notes: [
        'Every method starts from the same warm start and sees the same questions in the same order with the same sampling seeds; only the algorithm differs.',
        'One seed: a difference between methods smaller than the intervals is noise. EM is on held-out test entities: only searching and copying can answer.',
        `Everything ran on this machine in ${seconds().toFixed(0)} s; metrics per step are in runs/<method>/metrics.jsonl.`,
      ],
    };
    const reportPath = join(dir, 'report.html');
    await writeFile(reportPath, await labReportHtml(summary, await labExamples(join(dir, 'runs'), runs.map((r) => r.algorithm))));
    const runSeconds = runs.map((run) => ({ method: run.algorithm, trainSeconds: run.trainSeconds, seconds: run.seconds }));
    await writeFileAtomic(join(dir, 'summary.json'), `${JSON.stringify({ rows, runs: runSeconds, probePool, setting: summary.setting, timings, seconds: seconds() }, null, 2)}\n`);
    return { dir, reportPath, summary, seconds: seconds() };
  } finally {
    await retriever.close();
  }
}
