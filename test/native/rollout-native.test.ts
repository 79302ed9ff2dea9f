// Rollouts with the real pieces: a tiny Qwen2 folder, its tokenizer and chat template, a hashed index over a
// small corpus, the native generation session. Trained tokens are exactly the sampled ones: a teacher-forced pass
// over each finished trajectory reproduces the log-probs reported while generating, across turns and appended
// observations. The `rexrag rollout` command writes the same kind of trajectories as JSONL.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { loadPolicy } from '../../lib/model/load-policy.js';
import { writeTinyModel } from '../../lib/model/tiny-model.js';
import { buildIndex } from '../../lib/retrieval/build.js';
import { LocalRetriever } from '../../lib/retrieval/local-retriever.js';
import { runRolloutsInCohorts } from '../../lib/rollout/cohorts.js';
import { COMPONENT } from '../../lib/algo/components.js';
import { runCli } from '../helpers/run-cli.js';

const root = mkdtempSync(join(tmpdir(), 'rexrag-rollout-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));

const corpus = [
  { id: '1', contents: '"Paris"\nParis is the capital of France.' },
  { id: '2', contents: '"Hamlet"\nHamlet is a tragedy written by William Shakespeare.' },
  { id: '3', contents: '"Nile"\nThe Nile is a river in Africa.' },
];
const questions = [
  { id: 'q1', question: 'What is the capital of France', golds: ['Paris'] },
  { id: 'q2', question: 'Who wrote Hamlet?', golds: ['William Shakespeare', 'Shakespeare'] },
];

test.before(async () => {
  await writeTinyModel(join(root, 'model'), { seed: 31 });
  writeFileSync(join(root, 'corpus.jsonl'), corpus.map((d) => JSON.stringify(d)).join('\n'));
  await buildIndex({ corpus: join(root, 'corpus.jsonl'), out: join(root, 'index') });
  writeFileSync(join(root, 'questions.jsonl'), questions.map((q) => JSON.stringify({ id: q.id, question: q.question, golden_answers: q.golds })).join('\n'));
});

test('native multi-turn rollouts: the trained tokens are the sampled tokens, with their log-probs', async (t) => {
  const policy = await loadPolicy(join(root, 'model'));
  const retriever = await LocalRetriever.open(join(root, 'index'));
  const trajectories = await runRolloutsInCohorts({
    createSession: () => policy.createSession(), tokenizer: policy.tokenizer!, retriever, questions, groupSize: 3,
    seed: 3, rollout: { maxTurns: 2, maxResponseTokensPerTurn: 12 },
  });
  t.is(trajectories.length, 6);
  const sequences = trajectories.map((tr) => [...tr.promptTokens, ...tr.responseTokens]);
  const { logps } = await policy.score(sequences);
  let checked = 0;
  let maxDiff = 0;
  trajectories.forEach((tr, i) => {
    t.is(tr.components.length, tr.responseTokens.length);
    t.deepEqual(tr.lossMask, tr.components.map((c) => (c === COMPONENT.model || c === COMPONENT['probe-prompt'] ? 1 : 0)));
    tr.components.forEach((component, k) => {
      if (component !== COMPONENT.model) return;
      maxDiff = Math.max(maxDiff, Math.abs(tr.modelLogprobs[k]! - logps[i]![tr.promptTokens.length + k]!));
      checked++;
    });
    t.true(tr.turns >= 1 && tr.turns <= 3);
  });
  t.true(checked > 50, `${checked} model tokens checked`);
  t.true(maxDiff < 2e-4, `largest |generation − teacher forcing| over ${checked} tokens: ${maxDiff}`);
  t.true(trajectories.some((tr) => tr.components.some((c) => c !== COMPONENT.model)), 'some observation or notice was appended');
  policy.dispose();
  await retriever.close();
});

test('rexrag rollout writes one JSONL trajectory per rollout with its reward', async (t) => {
  const out = join(root, 'trajectories.jsonl');
  const result = await runCli(['rollout', '--model', join(root, 'model'), '--index', join(root, 'index'), '--questions',
    join(root, 'questions.jsonl'), '--group-size', '2', '--max-turns', '1', '--max-response-tokens', '8', '--out', out]);
  t.is(result.code, 0, result.stderr);
  t.regex(result.stderr, /4 trajectories, EM \d\.\d{3}/);
  const lines = readFileSync(out, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
  t.is(lines.length, 4);
  t.deepEqual(lines.map((l) => l.questionId), ['q1', 'q1', 'q2', 'q2']);
  t.true(lines.every((l) => typeof l.reward === 'number' && Array.isArray(l.lossMask)));
  const bad = await runCli(['rollout', '--model', join(root, 'model'), '--questions', join(root, 'questions.jsonl')]);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /exactly one of --index DIR or --retriever URL/);
  // An output path that cannot be written is refused before any rollout runs.
  const base = ['rollout', '--model', join(root, 'model'), '--index', join(root, 'index'), '--questions', join(root, 'questions.jsonl')];
  const folder = await runCli([...base, '--out', root]);
  t.is(folder.code, 2);
  t.regex(folder.stderr, /--out .* is a folder; give a file path/);
  const missing = await runCli([...base, '--out', join(root, 'no-such-folder', 'x.jsonl')]);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /does not exist or is not writable/);
});

test('sampling seeds: the same question in two cohorts draws different tokens; the same seed reruns exactly', async (t) => {
  const policy = await loadPolicy(join(root, 'model'));
  const retriever = await LocalRetriever.open(join(root, 'index'));
  // Two copies of one question, one per cohort, one row each: with a plain seed + call, both cohorts' first
  // generate calls had the same seed and the rows (same prompt) sampled identical tokens.
  const twins = [questions[0]!, { ...questions[0]!, id: 'q1-copy' }];
  const run = () => runRolloutsInCohorts({
    createSession: () => policy.createSession(), tokenizer: policy.tokenizer!, retriever, questions: twins, groupSize: 1,
    seed: 5, rollout: { cohorts: 2, maxTurns: 1, maxResponseTokensPerTurn: 24, temperature: 1 },
  });
  const first = await run();
  t.notDeepEqual(first[0]!.responseTokens, first[1]!.responseTokens, 'cohorts draw different numbers');
  const again = await run();
  t.deepEqual(again.map((tr) => tr.responseTokens), first.map((tr) => tr.responseTokens), 'a rerun with the same seed is identical');
  policy.dispose();
  await retriever.close();
});
