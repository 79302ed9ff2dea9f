// The per-source evaluation table: the arithmetic on a scripted policy (EM/F1/n per source, the unweighted
// average over sources, the pooled figures), the Markdown rendering, --limit-per-source, an interrupted
// evaluation that resumes from its results file without recounting, and a sweep over a run's checkpoints.
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { rlConfigSchema } from '../../lib/config/rl-config.js';
import { aggregateBySource, formatSourceTable, limitPerSource, sourceMetrics } from '../../lib/eval/by-source.js';
import { evaluateCheckpoints } from '../../lib/eval/checkpoint-sweep.js';
import { evaluateResumable } from '../../lib/eval/run-eval.js';
import type { Policy } from '../../lib/model/policy.js';
import type { Retriever } from '../../lib/retrieval/types.js';
import type { RolloutQuestion } from '../../lib/rollout/rollout-types.js';
import { CharTokenizer } from '../helpers/char-tokenizer.js';
import { FakeRetriever } from '../helpers/fake-retriever.js';
import { ScriptedSession } from '../helpers/scripted-session.js';

let root: string;
test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'rexrag-eval-src-'));
});
test.after.always(async () => {
  await rm(root, { recursive: true, force: true });
});

const rollout = rlConfigSchema.shape.rollout.parse({ maxTurns: 2, maxResponseTokensPerTurn: 60, cohorts: 2 });

/** Seven questions over three sources; `said` is what the scripted model answers to each. */
const cases: { q: RolloutQuestion; said: string }[] = [
  { q: { id: 'nq:0', question: 'Q0 first?', golds: ['paris'], dataSource: 'nq' }, said: 'Paris' },
  { q: { id: 'nq:1', question: 'Q1 second?', golds: ['rome'], dataSource: 'nq' }, said: 'the Rome' },
  { q: { id: 'nq:2', question: 'Q2 third?', golds: ['oslo'], dataSource: 'nq' }, said: 'Oslo.' },
  { q: { id: 'nq:3', question: 'Q3 fourth?', golds: ['lima'], dataSource: 'nq' }, said: 'Quito' },
  { q: { id: 'hotpotqa:0', question: 'Q4 fifth?', golds: ['red apple'], dataSource: 'hotpotqa' }, said: 'red' },
  { q: { id: 'hotpotqa:1', question: 'Q5 sixth?', golds: ['blue'], dataSource: 'hotpotqa' }, said: 'blue' },
  { q: { id: 'bamboogle:0', question: 'Q6 seventh?', golds: ['x'], dataSource: 'bamboogle' }, said: 'y' },
];
const questions = cases.map((c) => c.q);

/** A Policy stand-in: searches once, then answers what `answerFor` says for the question in its prompt. */
function scriptedPolicy(answerFor: (index: number) => string, counter?: { rows: number }): Policy {
  const tokenizer = new CharTokenizer();
  return {
    tokenizer,
    createSession() {
      const session = new ScriptedSession(tokenizer, ({ text, rowCall }) => {
        const index = Number(/Q(\d) /.exec(text)![1]);
        return rowCall === 0 ? `<think>look</think><search>Q${index}</search>` : `<answer>${answerFor(index)}</answer>`;
      });
      const addRow = session.addRow.bind(session);
      session.addRow = (tokens) => {
        if (counter) counter.rows++;
        return addRow(tokens);
      };
      return session;
    },
    dispose() {},
  } as unknown as Policy;
}

test('per-source EM/F1/n, the average over sources and the pooled figures on a scripted policy', async (t) => {
  const { table, resumed } = await evaluateResumable({
    policy: scriptedPolicy((i) => cases[i]!.said), retriever: new FakeRetriever(), questions, rollout, label: 'm', batchSize: 3,
  });
  t.is(resumed, 0);
  // nq: Paris ✓, "the Rome" ✓ (articles dropped), "Oslo." ✓, Quito ✗; hotpotqa: "red" vs "red apple" F1 2/3, blue ✓.
  const f1Red = 2 * (1 * 0.5) / (1 + 0.5);
  t.deepEqual(Object.keys(table.bySource), ['nq', 'hotpotqa', 'bamboogle']);
  t.deepEqual(table.bySource.nq, { em: 0.75, f1: 0.75, n: 4 });
  t.is(table.bySource.hotpotqa!.em, 0.5);
  t.true(Math.abs(table.bySource.hotpotqa!.f1 - (f1Red + 1) / 2) < 1e-12);
  t.deepEqual(table.bySource.bamboogle, { em: 0, f1: 0, n: 1 });
  t.true(Math.abs(table.average.em - (0.75 + 0.5 + 0) / 3) < 1e-12, 'the paper averages the per-benchmark EMs');
  t.true(Math.abs(table.average.f1 - (0.75 + (f1Red + 1) / 2 + 0) / 3) < 1e-12);
  t.true(Math.abs(table.overall.em - 4 / 7) < 1e-12, 'pooled: 4 right of 7');
  t.is(table.overall.n, 7);
  t.deepEqual(sourceMetrics(table)['eval/nq/em'], 0.75);
  t.deepEqual(sourceMetrics(table)['eval/bamboogle/n'], 1);
  t.deepEqual(Object.keys(sourceMetrics(aggregateBySource([{ id: 'a', dataSource: '(none)', em: 1, f1: 1 }]))), ['eval/avg_em', 'eval/avg_f1']);
});

test('the Markdown table: a row per label, a column per source with its n, then avg and overall', (t) => {
  const table = aggregateBySource([
    { id: 'a', dataSource: 'nq', em: 1, f1: 1 }, { id: 'b', dataSource: 'nq', em: 0, f1: 0.5 }, { id: 'c', dataSource: 'popqa', em: 1, f1: 1 },
  ]);
  t.is(formatSourceTable([{ label: '10', table }], 'step'), [
    '| step | nq (n=2) | popqa (n=1) | avg | overall |',
    '|---|---|---|---|---|',
    '| 10 | 50.0 / 75.0 | 100.0 / 100.0 | 75.0 / 87.5 | 66.7 / 83.3 (n=3) |',
    '',
    'EM / F1 in %; avg is the unweighted mean over sources (the paper\'s Avg), overall pools every question.',
    '',
  ].join('\n'));
  t.deepEqual(aggregateBySource([]), { bySource: {}, average: { em: 0, f1: 0 }, overall: { em: 0, f1: 0, n: 0 } });
});

test('--limit-per-source keeps the first N of each source in file order', (t) => {
  t.deepEqual(limitPerSource(questions, 1).map((q) => q.id), ['nq:0', 'hotpotqa:0', 'bamboogle:0']);
  t.deepEqual(limitPerSource(questions, 2).map((q) => q.id), ['nq:0', 'nq:1', 'hotpotqa:0', 'hotpotqa:1', 'bamboogle:0']);
  t.is(limitPerSource(questions, 0).length, 7);
});

test('an interrupted evaluation resumes from its results file: finished questions are not run or counted again', async (t) => {
  const resultsFile = join(root, 'resume.questions.jsonl');
  const settings = { data: 'test.parquet', rollout };
  const answer = (i: number) => cases[i]!.said;
  // The retriever fails on Q5's search: batches [Q0,Q1] and [Q2,Q3] are written, [Q4,Q5] is lost.
  const failing: Retriever = {
    async search(queries, topk) {
      if (queries.some((q) => q.includes('Q5'))) throw new Error('retriever went away');
      return new FakeRetriever().search(queries, topk);
    },
  };
  const first = { rows: 0 };
  await t.throwsAsync(evaluateResumable({ policy: scriptedPolicy(answer, first), retriever: failing, questions, rollout, label: 'm', resultsFile, settings, batchSize: 2 }), { message: /retriever went away/ });
  const written = (await readFile(resultsFile, 'utf8')).trim().split('\n');
  t.is(written.length, 1 + 4, 'the settings line and four question lines');
  // A crash in the middle of an append leaves a torn line: it is cut off and its question evaluated again.
  await appendFile(resultsFile, '{"label":"m","id":"hotpotqa:0","dataSour');

  const second = { rows: 0 };
  const progress: number[] = [];
  const resumed = await evaluateResumable({
    policy: scriptedPolicy(answer, second), retriever: new FakeRetriever(), questions, rollout, label: 'm', resultsFile, settings, batchSize: 2,
    onProgress: (p) => progress.push(p.done),
  });
  t.is(resumed.resumed, 4);
  t.is(second.rows, 3, 'only Q4, Q5 and Q6 are rolled out again');
  t.deepEqual(progress, [6, 7]);
  const straight = await evaluateResumable({ policy: scriptedPolicy(answer), retriever: new FakeRetriever(), questions, rollout, label: 'm' });
  t.deepEqual(resumed.table, straight.table, 'the same table as an uninterrupted run');
  const lines = (await readFile(resultsFile, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { id?: string });
  t.is(lines.length, 8);
  t.deepEqual(lines.slice(1).map((line) => line.id).sort(), questions.map((q) => String(q.id)).sort(), 'each question once');

  const again = { rows: 0 };
  const third = await evaluateResumable({ policy: scriptedPolicy(answer, again), retriever: new FakeRetriever(), questions, rollout, label: 'm', resultsFile, settings });
  t.is(again.rows, 0, 'a complete file runs nothing');
  t.deepEqual(third.table, straight.table);
  const other = await t.throwsAsync(evaluateResumable({ policy: scriptedPolicy(answer), retriever: new FakeRetriever(), questions, rollout, label: 'm', resultsFile, settings: { ...settings, data: 'other.parquet' } }));
  t.regex(other!.message, /holds results made with other settings/);
});

test('a checkpoint sweep evaluates every step of a run in order into one table', async (t) => {
  const runDir = join(root, 'run');
  for (const step of ['00000010', '00000002']) await mkdir(join(runDir, 'checkpoints', `step-${step}`, 'model'), { recursive: true });
  await writeFile(join(runDir, 'checkpoints', 'latest.json'), '{"checkpoint":"step-00000010"}');
  const opened: string[] = [];
  let disposed = 0;
  const rows = await evaluateCheckpoints(runDir, async (modelDir) => {
    opened.push(modelDir);
    // Step 2 answers everything wrong, step 10 everything right.
    const policy = scriptedPolicy((i) => (modelDir.includes('step-00000010') ? questions[i]!.golds[0]! : 'wrong'));
    return { ...policy, tokenizer: policy.tokenizer, createSession: policy.createSession, dispose: () => { disposed++; } } as unknown as Policy;
  }, { retriever: new FakeRetriever(), questions, rollout, resultsFile: join(root, 'sweep.jsonl') });
  t.deepEqual(opened, [join(runDir, 'checkpoints', 'step-00000002', 'model'), join(runDir, 'checkpoints', 'step-00000010', 'model')]);
  t.is(disposed, 2);
  t.deepEqual(rows.map((row) => [row.step, row.table.average.em, row.table.overall.em]), [[2, 0, 0], [10, 1, 1]]);
  const markdown = formatSourceTable(rows.map((row) => ({ label: String(row.step), table: row.table })), 'step');
  t.true(markdown.includes('| 2 | 0.0 / 0.0 | 0.0 / 0.0 | 0.0 / 0.0 | 0.0 / 0.0 | 0.0 / 0.0 (n=7) |'));
  t.true(markdown.includes('| 10 | 100.0 / 100.0 |'));
  await t.throwsAsync(evaluateCheckpoints(join(root, 'nothing'), async () => scriptedPolicy(() => ''), { retriever: new FakeRetriever(), questions, rollout }), { message: /has no checkpoints\/ folder/ });
});
