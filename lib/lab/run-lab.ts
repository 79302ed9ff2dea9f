// The embedded lab behind `npm start`: on a generated multi-hop world (no downloads), build the corpus index and
// a tiny Qwen2 model whose tokenizer is learned from the world, warm it up on demonstration trajectories, then
// train one copy with GRPO and one with REX-RAG under identical settings, evaluate both on held-out questions,
// and write a report. Each stage is a library call; this file only sequences them.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { buildDemonstrations, demonstrationSequence } from '../data/demonstrations.js';
import { generateWorld, worldQuestions, worldTokenizerText, writeWorldFiles } from '../data/synthetic-world.js';
import { WORLD_TOKENIZER_MERGES } from '../data/world-tokenizer-text.js';
import { evaluate } from '../eval/evaluate.js';
import { loadPolicy, savePolicyFolder } from '../model/load-policy.js';
import { writeTinyModel } from '../model/tiny-model.js';
import { labReportHtml, type LabRunSummary, type LabSummary } from '../report/lab-report.js';
import { buildIndex } from '../retrieval/build.js';
import { LocalRetriever } from '../retrieval/local-retriever.js';
import { runRl, type RlEvent } from '../train/rl-loop.js';
import { supervisedWarmup } from '../train/sft.js';
import { labSettings, type LabScale } from './lab-settings.js';

export type LabEvent =
  | { type: 'stage'; stage: string; detail: string }
  | { type: 'sft'; step: number; steps: number; nll: number }
  | { type: 'rl'; algorithm: 'grpo' | 'rex-rag'; event: RlEvent };

export interface LabOptions {
  /** The lab folder; its previous content is replaced. */
  dir: string;
  seed?: number;
  scale?: LabScale;
  onEvent?: (event: LabEvent) => void;
}

export interface LabResult {
  dir: string;
  reportPath: string;
  summary: LabSummary;
  seconds: number;
}

export async function runLab(options: LabOptions): Promise<LabResult> {
  const started = Date.now();
  const dir = resolve(options.dir);
  const seed = options.seed ?? 1;
  const scale = options.scale ?? 'demo';
  const settings = labSettings(scale, seed);
  const emit = (event: LabEvent) => options.onEvent?.(event);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });

  // 1. The world, its corpus and questions.
  const world = generateWorld({ seed, ...settings.world });
  const questions = worldQuestions(world, { seed });
  const files = await writeWorldFiles(join(dir, 'world'), world, { questions });
  emit({ type: 'stage', stage: 'world', detail: `${files.documents} passages, ${files.trainQuestions} train and ${files.devQuestions} dev questions` });
  await buildIndex({ corpus: files.corpus, out: join(dir, 'index') });
  const retriever = await LocalRetriever.open(join(dir, 'index'));
  try {
    // 2. A tiny Qwen2 whose tokenizer is learned from the world's text, warmed up on demonstrations.
    const model = await writeTinyModel(join(dir, 'base-model'), {
      seed, ...settings.model, tokenizerText: worldTokenizerText(world), merges: WORLD_TOKENIZER_MERGES,
    });
    emit({ type: 'stage', stage: 'model', detail: `Qwen2 ${settings.model.layers} layers, hidden ${settings.model.hidden}, vocabulary ${model.config.vocab_size}` });
    const base = await loadPolicy(join(dir, 'base-model'));
    const tokenizer = base.tokenizer!;
    const demonstrations = await buildDemonstrations(world, questions.train.slice(0, settings.sft.maxExamples), retriever, { seed });
    const examples = demonstrations.map((d) => {
      const sequence = demonstrationSequence(d, tokenizer);
      return { ids: sequence.tokens, lossMask: sequence.lossMask };
    });
    const meanLength = examples.reduce((n, e) => n + e.ids.length, 0) / examples.length;
    emit({ type: 'stage', stage: 'warm-up', detail: `${examples.length} demonstrations, ${meanLength.toFixed(0)} tokens on average` });
    const sftSteps = settings.sft.epochs * Math.ceil(examples.length / settings.sft.batchSize);
    const nll = await supervisedWarmup({
      policy: base, examples, epochs: settings.sft.epochs, batchSize: settings.sft.batchSize, lr: settings.sft.lr, seed,
      warmupSteps: Math.min(10, sftSteps - 1),
      onStep: (s) => emit({ type: 'sft', step: s.step, steps: sftSteps, nll: s.nll }),
    });
    await savePolicyFolder(base, join(dir, 'warm-model'));
    base.dispose();

    // 3. GRPO and REX-RAG from the same warm start, same questions, same seeds.
    const evalQuestions = questions.dev.slice(0, settings.devQuestions);
    const runs: LabRunSummary[] = [];
    for (const algorithm of ['grpo', 'rex-rag'] as const) {
      const runStarted = Date.now();
      emit({ type: 'stage', stage: algorithm, detail: `${settings.rl.steps} steps of ${settings.rl.questionsPerStep} questions x ${settings.rl.groupSize} rollouts` });
      const result = await runRl({
        config: { ...settings.rl, algorithm },
        policy: await loadPolicy(join(dir, 'warm-model')),
        retriever,
        trainQuestions: questions.train,
        evalQuestions,
        runDir: join(dir, 'runs', algorithm),
        onEvent: (event) => emit({ type: 'rl', algorithm, event }),
      });
      await savePolicyFolder(result.policy, join(dir, 'runs', algorithm, 'model'));
      result.policy.dispose();
      runs.push({ algorithm, evals: result.evals, steps: result.steps, seconds: (Date.now() - runStarted) / 1000 });
    }

    const warm = await loadPolicy(join(dir, 'warm-model'));
    const warmEval = await evaluate({ policy: warm, retriever, questions: evalQuestions, rollout: settings.rl.rollout });
    warm.dispose();
    const summary: LabSummary = {
      title: 'rexrag lab: REX-RAG against GRPO on a generated multi-hop world',
      setting: [
        ['world', `${world.people.length} people, ${world.cities.length} cities, ${world.countries.length} countries; ${files.documents} passages`],
        ['questions', `${files.trainQuestions} train, ${evalQuestions.length} dev (1- and 2-hop)`],
        ['retriever', 'hashed n-gram embedder + HNSW, top 3'],
        ['model', `Qwen2, ${settings.model.layers} layers, hidden ${settings.model.hidden}, ${settings.model.heads} heads (${settings.model.kvHeads} KV), vocabulary ${model.config.vocab_size}, random init`],
        ['warm-up', `${examples.length} demonstrations x ${settings.sft.epochs} epochs; NLL ${nll[0]!.toFixed(2)} -> ${nll[nll.length - 1]!.toFixed(2)}; dev EM after warm-up ${warmEval.em.toFixed(3)}`],
        ['RL', `${settings.rl.steps} steps x ${settings.rl.questionsPerStep} questions x ${settings.rl.groupSize} rollouts, ${settings.rl.rollout.maxTurns} turns of <= ${settings.rl.rollout.maxResponseTokensPerTurn} tokens, lr ${settings.rl.trainer.optimizer.lr}, KL ${settings.rl.trainer.loss.klCoef} (k3)`],
        ['REX-RAG', `probe chance ${settings.rl.rex.probeProbability.toFixed(3)} per wrong answer, initial keep ratio ${settings.rl.rex.keepRatio}, 30 exploration prompts`],
        ['seed', String(seed)],
      ],
      runs,
      notes: [
        'Both methods start from the same warmed-up weights and see the same questions in the same order with the same sampling seeds; only the algorithm differs.',
        'A tiny model on a tiny world: the comparison shows the machinery end to end; it is not a reproduction of the paper\'s numbers.',
        `Everything above ran on this machine in ${((Date.now() - started) / 1000).toFixed(0)} s; metrics per step are in runs/<method>/metrics.jsonl.`,
      ],
    };
    const reportPath = join(dir, 'report.html');
    await writeFile(reportPath, labReportHtml(summary));
    await writeFile(join(dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
    return { dir, reportPath, summary, seconds: (Date.now() - started) / 1000 };
  } finally {
    await retriever.close();
  }
}
