// The RL loop end to end on a tiny model and corpus, for both algorithms: metrics and evaluations are written,
// and a run interrupted after a checkpoint resumes to exactly the parameters of a straight run.
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { rlConfigSchema } from '../../lib/config/rl-config.js';
import { loadPolicy } from '../../lib/model/load-policy.js';
import { writeTinyModel } from '../../lib/model/tiny-model.js';
import { buildIndex } from '../../lib/retrieval/build.js';
import { LocalRetriever } from '../../lib/retrieval/local-retriever.js';
import { runRl } from '../../lib/train/rl-loop.js';
import { readSamples, sampleSteps } from '../../lib/train/run-samples.js';

const root = mkdtempSync(join(tmpdir(), 'rexrag-rl-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));
const questions = ['Paris', 'Nile', 'Hamlet', 'Rome'].map((gold, i) => ({ id: `q${i}`, question: `Which one is ${gold}?`, golds: [gold] }));

test.before(async () => {
  await writeTinyModel(join(root, 'model'), { seed: 4 });
  writeFileSync(join(root, 'corpus.jsonl'), questions.map((q, i) => JSON.stringify({ id: String(i), contents: `"${q.golds[0]}"\n${q.golds[0]} is a name.` })).join('\n'));
  await buildIndex({ corpus: join(root, 'corpus.jsonl'), out: join(root, 'index') });
});

function config(algorithm: 'grpo' | 'rex-rag', steps: number) {
  return rlConfigSchema.parse({
    algorithm, steps, questionsPerStep: 2, groupSize: 2, seed: 3,
    rollout: { maxTurns: 1, maxResponseTokensPerTurn: 6, cohorts: 2 },
    trainer: { optimizer: { lr: 1e-2 }, loss: { klCoef: 0.01 } },
    eval: { every: 1, maxQuestions: 2 },
    checkpoint: { every: 1, keepLast: 2 },
  });
}

for (const algorithm of ['grpo', 'rex-rag'] as const) {
  test(`${algorithm}: steps write metrics and evaluations, and a resumed run ends where a straight run ends`, async (t) => {
    const retriever = await LocalRetriever.open(join(root, 'index'));
    const straightDir = join(root, `${algorithm}-straight`);
    const straight = await runRl({ config: config(algorithm, 3), policy: await loadPolicy(join(root, 'model')), retriever, trainQuestions: questions, evalQuestions: questions, runDir: straightDir });
    const lines = readFileSync(join(straightDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    t.is(lines.filter((l) => 'train/loss' in l).length, 3);
    t.is(lines.filter((l) => 'eval/em' in l).length, 4, 'evaluated at 0, 1, 2, 3');
    t.true(lines.every((l) => Object.values(l).every((v) => typeof v === 'number' && Number.isFinite(v))));
    t.true(lines.every((l) => Math.abs(l.wall_time - Date.now() / 1000) < 600), 'every line has its wall time');
    // Samples: the evaluations' (steps 0-3) and the training rollouts' of step 1 (samples.every 5).
    t.deepEqual(await sampleSteps(straightDir), [0, 1, 2, 3]);
    const stepOne = await readSamples(straightDir, 1);
    t.deepEqual([...new Set(stepOne.map((s) => s.phase))], ['train', 'eval']);
    t.true(stepOne.every((s) => s.segments.length > 0 && questions.some((q) => q.question === s.question)));
    t.true(stepOne.filter((s) => s.phase === 'train').length <= 4);
    const trainLines = lines.filter((l) => 'train/loss' in l);
    t.true(trainLines.every((l) => l['train/original/tokens'] > 0 && 'train/original/ratio_max' in l), 'per-kind statistics from the native step');
    t.true(straight.steps.every((s) => s.metrics['reward/mean']! >= 0 && s.metrics['is/alpha']! >= 0));

    const splitDir = join(root, `${algorithm}-split`);
    const first = await runRl({ config: config(algorithm, 2), policy: await loadPolicy(join(root, 'model')), retriever, trainQuestions: questions, runDir: splitDir });
    first.policy.dispose();
    const resumed = await runRl({ config: config(algorithm, 3), retriever, trainQuestions: questions, runDir: splitDir, resume: true });
    t.is(resumed.steps.length, 1, 'only the missing step ran');
    for (const { name } of straight.policy.parameters()) {
      t.deepEqual(resumed.policy.parameterValues(name), straight.policy.parameterValues(name), name);
    }
    straight.policy.dispose();
    resumed.policy.dispose();
    await retriever.close();
  });
}

test('rexrag train and rexrag eval run from the command line', async (t) => {
  const { runCli } = await import('../helpers/run-cli.js');
  writeFileSync(join(root, 'train.jsonl'), questions.map((q) => JSON.stringify({ id: q.id, question: q.question, golden_answers: q.golds })).join('\n'));
  const out = join(root, 'cli-run');
  const trained = await runCli(['train', '--model', join(root, 'model'), '--index', join(root, 'index'), '--train', join(root, 'train.jsonl'),
    '--dev', join(root, 'train.jsonl'), '--out', out, '--set', 'algorithm=grpo', '--set', 'steps=1', '--set', 'questionsPerStep=2',
    '--set', 'groupSize=2', '--set', 'rollout.maxTurns=1', '--set', 'rollout.maxResponseTokensPerTurn=4']);
  t.is(trained.code, 0, trained.stderr);
  t.regex(trained.stderr, /step 1: reward/);
  t.is(JSON.parse(trained.stdout).steps, 1);
  const evaluated = await runCli(['eval', '--model', join(out, 'model'), '--index', join(root, 'index'), '--questions', join(root, 'train.jsonl'), '--max-turns', '1', '--max-response-tokens', '4', '--out', join(out, 'eval.json')]);
  t.is(evaluated.code, 0, evaluated.stderr);
  t.regex(evaluated.stdout, /^\| model \| \(none\) \(n=4\) \| avg \| overall \|/);
  t.is(JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8')).overall.n, 4);
  const bad = await runCli(['train', '--model', join(root, 'model'), '--index', join(root, 'index'), '--train', join(root, 'train.jsonl'), '--out', out, '--set', 'algorithm=ppo']);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /algorithm/);
});

test('resume survives checkpoint pruning, cleans crash leftovers and keeps one metrics line per step', async (t) => {
  const retriever = await LocalRetriever.open(join(root, 'index'));
  const dir = join(root, 'pruned');
  const run = async (steps: number, resume: boolean) => {
    const result = await runRl({
      config: config('rex-rag', steps), retriever, trainQuestions: questions, runDir: dir, resume,
      ...(resume ? {} : { policy: await loadPolicy(join(root, 'model')) }),
    });
    result.policy.dispose();
  };
  await run(2, false);
  // A crash after step 3's metrics line but before its checkpoint: a stale line and a half-written checkpoint.
  appendFileSync(join(dir, 'metrics.jsonl'), `${JSON.stringify({ step: 3, 'train/loss': 123 })}\n`);
  mkdirSync(join(dir, 'checkpoints', '.step-00000003.tmp-deadbeef'));
  // Killed while replacing latest.json (the old writer's undotted name and the atomic writer's), a sample file
  // and the final model folder.
  const leftovers = [join('checkpoints', 'latest.json.tmp-deadbeef'), join('checkpoints', '.latest.json.tmp-123-deadbeef'),
    join('samples', '.step-00000001.jsonl.tmp-123-deadbeef'), '.model.tmp-deadbeef'];
  for (const leftover of leftovers) writeFileSync(join(dir, leftover), '{');
  // keepLast 2: resuming from step 2 to 5 prunes step 2, the folder the resumed policy was loaded from.
  await run(5, true);
  t.false(existsSync(join(dir, 'checkpoints', '.step-00000003.tmp-deadbeef')), 'the half-written checkpoint is gone');
  for (const leftover of leftovers) t.false(existsSync(join(dir, leftover)), `${leftover} is gone`);
  for (const step of ['step-00000004', 'step-00000005']) {
    t.true(existsSync(join(dir, 'checkpoints', step, 'model', 'tokenizer.json')), `${step} keeps its tokenizer`);
  }
  await run(6, true);
  const steps = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>)
    .filter((l) => 'train/loss' in l).map((l) => l.step);
  t.deepEqual(steps, [1, 2, 3, 4, 5, 6], 'one line per step, the stale step-3 line replaced');
  await t.throwsAsync(runRl({ config: config('grpo', 1), retriever, trainQuestions: questions, runDir: join(root, 'empty'), resume: true }), {
    code: 'ERR_INVALID_ARG', message: /nothing to resume: no checkpoint in .*empty/,
  } as never);
  await retriever.close();
});

test('issue 16 repro: 2 steps with checkpoint.every 1 and keepLast 3, resumed to 6, then to 8; every checkpoint and the model are complete folders', async (t) => {
  const { runCli } = await import('../helpers/run-cli.js');
  const { validateCheckpoint, listCheckpoints } = await import('../../lib/train/checkpoint.js');
  writeFileSync(join(root, 'train.jsonl'), questions.map((q) => JSON.stringify({ id: q.id, question: q.question, golden_answers: q.golds })).join('\n'));
  const out = join(root, 'repro-run');
  const train = (steps: number, resume: boolean) => runCli(['train', '--model', join(root, 'model'), '--index', join(root, 'index'), '--train', join(root, 'train.jsonl'),
    '--out', out, '--set', 'algorithm=grpo', '--set', `steps=${steps}`, '--set', 'questionsPerStep=2', '--set', 'groupSize=2', '--set', 'eval.every=0',
    '--set', 'rollout.maxTurns=1', '--set', 'rollout.maxResponseTokensPerTurn=4', '--set', 'checkpoint.every=1', '--set', 'checkpoint.keepLast=3',
    ...(resume ? ['--resume'] : [])]);
  for (const [steps, resume] of [[2, false], [6, true], [8, true]] as const) {
    const result = await train(steps, resume);
    t.is(result.code, 0, `train to ${steps}: ${result.stderr}`);
  }
  const modelFiles = readdirSync(join(root, 'model')).filter((name) => !name.startsWith('.')).sort();
  const checkpoints = await listCheckpoints(join(out, 'checkpoints'));
  t.deepEqual(checkpoints.map((dir) => dir.slice(-13)), ['step-00000006', 'step-00000007', 'step-00000008']);
  for (const folder of [...checkpoints.map((dir) => join(dir, 'model')), join(out, 'model')]) {
    t.deepEqual(readdirSync(folder).sort(), modelFiles, `${folder} holds every file of a model folder`);
    const policy = await loadPolicy(folder);  // self-contained: loads with nothing else around it
    t.truthy(policy.tokenizer, `${folder} has its tokenizer`);
    policy.dispose();
  }
  for (const dir of checkpoints) await t.notThrowsAsync(validateCheckpoint(dir));
  const steps = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { step: number }).step);
  t.deepEqual(steps, [1, 2, 3, 4, 5, 6, 7, 8], 'one metrics line per step');
});

test('a run folder that cannot be created is an ERR_IO naming it, not a hang', async (t) => {
  const retriever = await LocalRetriever.open(join(root, 'index'));
  const policy = await loadPolicy(join(root, 'model'));
  await t.throwsAsync(runRl({ config: config('grpo', 1), policy, retriever, trainQuestions: questions, runDir: '/proc/rexrag-run' }), {
    code: 'ERR_IO', message: /cannot create the folder \/proc\/rexrag-run/,
  } as never);
  policy.dispose();
  await retriever.close();
});

test('questionsPerStep above the train set, and a group size no generate call can hold, are refused before any rollout (API and rexrag rollout)', async (t) => {
  const retriever = await LocalRetriever.open(join(root, 'index'));
  const policy = await loadPolicy(join(root, 'model'));
  await t.throwsAsync(runRl({ config: { ...config('grpo', 1), questionsPerStep: 100_000_000 }, policy, retriever, trainQuestions: questions }), {
    code: 'ERR_INVALID_ARG', message: /questionsPerStep \(100000000\) is larger than the 4 train questions/,
  } as never);
  const huge = { ...config('grpo', 1), groupSize: 100_000_000 };
  await t.throwsAsync(runRl({ config: huge, policy, retriever, trainQuestions: questions }), {
    code: 'ERR_LIMIT', message: /groupSize 100000000 makes 100000000 rows in one cohort's generate call/,
  } as never);
  policy.dispose();
  await retriever.close();
  const { runCli } = await import('../helpers/run-cli.js');
  writeFileSync(join(root, 'rows.jsonl'), questions.map((q) => JSON.stringify({ id: q.id, question: q.question, golden_answers: q.golds })).join('\n'));
  const cli = await runCli(['rollout', '--model', join(root, 'model'), '--index', join(root, 'index'), '--questions', join(root, 'rows.jsonl'), '--group-size', '100000000']);
  t.is(cli.code, 1, cli.stderr);
  t.regex(cli.stderr, /--group-size 100000000 makes 200000000 rows/);
});
