// REX-RAG pieces end to end on the scripted rollout loop: the trigger as onAnswer spawns probes from wrong
// originals, then the filter scores them and the probe's spliced prompt tokens get their trie μ in β.
import test from 'ava';

import { batchMixture, computeBehaviourLogps } from '../../lib/algo/probe-policy.js';
import { createProbeTrigger, type ProbeTriggerContext } from '../../lib/explore/probe-trigger.js';
import { probeBudget, scoreProbe, selectProbes } from '../../lib/algo/trajectory-filter.js';
import { PromptTrie } from '../../lib/explore/prompt-trie.js';
import { scoreAnswer } from '../../lib/reward/qa-em.js';
import { COMPONENT } from '../../lib/algo/components.js';
import { runRollouts } from '../../lib/rollout/rollout-loop.js';
import { CharTokenizer } from '../helpers/char-tokenizer.js';
import { FakeRetriever } from '../helpers/fake-retriever.js';
import { ScriptedSession, type ScriptInput } from '../helpers/scripted-session.js';

const tokenizer = new CharTokenizer();
const POOL = ['<think> I erred.', '<think> I slipped.', '<think> Maybe wrong.', '<think> Check again.'];
const close = (a: number, b: number, tolerance = 1e-12) => Math.abs(a - b) <= tolerance * Math.max(1, Math.abs(b));

function responseOf(input: ScriptInput): string {
  const header = '<|im_start|>assistant\n';
  return input.text.slice(input.text.indexOf(header) + header.length);
}

test('trigger → probe → filter → β: the probe prompt tokens get their trie μ', async (t) => {
  const trie = PromptTrie.fromPrompts(tokenizer, POOL);
  // Originals search once, then answer wrongly; a probe (its text holds a pool prompt) answers correctly.
  const session = new ScriptedSession(tokenizer, (input) => {
    const response = responseOf(input);
    if (POOL.some((prompt) => response.includes(prompt))) return ' Let me redo it.</think>\n<answer> Paris </answer>';
    if (response.includes('<information>')) return '<think>So it is Lyon.</think>\n<answer> Lyon </answer>';
    return '<think>Look it up.</think>\n<search> capital of France </search>';
  });
  const trigger = createProbeTrigger({ trie, seed: 3, rex: { probeProbability: 1 } });
  const seen: ProbeTriggerContext[] = [];
  const chosen = new Map<number, number>();
  const trajectories = await runRollouts({
    session,
    tokenizer,
    retriever: new FakeRetriever(),
    questions: [{ id: 'q1', question: 'capital of France', golds: ['Paris'] }],
    groupSize: 3,
    seed: 1,
    onAnswer: (context) => {
      seen.push(context);
      const decision = trigger(context);
      if (decision) chosen.set(context.rowId, decision.promptIndex);
      return decision;
    },
  });

  // The hook saw the three originals' wrong answers (never the probes' answers) and fired for each.
  t.deepEqual(seen.map((c) => c.rowId), [0, 1, 2]);
  t.is(trajectories.length, 6);
  const originals = trajectories.filter((r) => !r.isProbe);
  const probes = trajectories.filter((r) => r.isProbe);
  t.is(probes.length, 3);
  const rewards = trajectories.map((r) => scoreAnswer(r.responseText, r.golds));
  t.deepEqual(rewards, [0, 0, 0, 1, 1, 1]);

  // π_old per response token, as the actor would recompute it: the fake model log-probs on sampled tokens and an
  // unlikely log 0.01 on spliced prompt and information tokens (which the policy did not sample).
  const oldLogpsOf = (r: (typeof trajectories)[number]) =>
    r.components.map((c, i) => (c === COMPONENT.model ? r.modelLogprobs[i]! : Math.log(0.01) - i * 1e-3));

  // Filter: keep the best 2 of 3 probes.
  const scored = probes.map((r) => ({ rowId: r.rowId, score: scoreProbe(oldLogpsOf(r), r.components) }));
  const { kept } = selectProbes(scored, probeBudget(1, 10, 0.2, 1)); // ⌊10·0.2⌋ = 2
  t.is(kept.length, 2);
  t.true(kept[0]!.score >= kept[1]!.score);
  const keptRows = new Set(kept.map((p) => p.rowId));
  const batch = [...originals, ...probes.filter((r) => keptRows.has(r.rowId))];
  const mixture = batchMixture(batch.map((r) => ({ isProbe: r.isProbe, reward: rewards[r.rowId]! })));
  t.deepEqual(mixture, { alpha: 0.4, errorRate: 1, originalAccuracy: 0, originals: 3, probes: 2 });

  for (const probe of batch.filter((r) => r.isProbe)) {
    const L = probe.probePromptStart!;
    const promptTokens = probe.responseTokens.filter((_, i) => probe.components[i] === COMPONENT['probe-prompt']);
    t.deepEqual(promptTokens, trie.promptTokens(chosen.get(probe.probeOf!)!), 'the spliced prompt is the drawn one');
    t.deepEqual(probe.responseTokens.slice(L, L + promptTokens.length), promptTokens);
    const mus = trie.conditionals(promptTokens);
    t.true(mus.some((mu) => mu < 1), 'the pool branches inside the prompt');
    const oldLogps = oldLogpsOf(probe);
    const result = computeBehaviourLogps({
      oldLogps,
      components: probe.components,
      isProbe: true,
      probePromptStart: L,
      promptConditionals: mus,
      alpha: mixture.alpha,
      errorRate: mixture.errorRate,
    });
    mus.forEach((mu, k) => {
      const t_ = L + k;
      t.is(result.mu[t_], mu);
      const beta = (1 - mixture.alpha) * Math.exp(oldLogps[t_]!) + mixture.alpha * mu;
      t.true(close(result.behaviourLogps[t_]!, Math.log(beta)), `prompt token ${k}`);
    });
    // z = 1: the prefix μ is π_old itself, so prefix and continuation tokens have β = π_old.
    probe.components.forEach((c, i) => {
      if (c === COMPONENT.model && !close(result.behaviourLogps[i]!, oldLogps[i]!, 1e-12)) t.fail(`model token ${i}`);
    });
    // The information observation lies inside the prefix and keeps π_old.
    const info = probe.components.indexOf(COMPONENT.information);
    t.true(info >= 0 && info < L);
    t.is(result.isWeights[info], 1);
  }
  for (const original of originals) {
    const result = computeBehaviourLogps({
      oldLogps: oldLogpsOf(original),
      components: original.components,
      isProbe: false,
      probePromptStart: null,
      alpha: mixture.alpha,
      errorRate: mixture.errorRate,
    });
    original.components.forEach((c, i) => {
      if (c === COMPONENT.model && !close(result.isWeights[i]!, 1 / 0.6)) t.fail(`original ${original.rowId} token ${i}`);
    });
  }
});

test('a spliced prompt that opens an action is completed by the probe: <search> + the model query is one search', async (t) => {
  const pool = ['<search>'];
  const trie = PromptTrie.fromPrompts(tokenizer, pool);
  const session = new ScriptedSession(tokenizer, (input) => {
    const response = responseOf(input);
    const observations = response.split('<information>').length - 1;
    if (observations >= 2) return '<answer> Paris </answer>';
    if (response.endsWith('<search>')) return ' capital city of France </search>';  // the probe, right after the splice
    if (observations === 1) return '<answer> Lyon </answer>';
    return '<search> capital of France </search>';
  });
  const trigger = createProbeTrigger({ trie, seed: 3, rex: { probeProbability: 1, promptPool: pool } });
  const trajectories = await runRollouts({
    session, tokenizer, retriever: new FakeRetriever(), questions: [{ id: 'q1', question: 'capital of France', golds: ['Paris'] }],
    groupSize: 1, seed: 1, onAnswer: trigger,
  });
  const probe = trajectories.find((r) => r.isProbe)!;
  t.deepEqual(probe.searches, ['capital of France', 'capital city of France']);
  t.is(scoreAnswer(probe.responseText, probe.golds), 1);
  t.notRegex(probe.responseText, /invalid/);
  // The spliced tag stays tagged as the probe prompt, and the model's query after it as model tokens.
  const promptStart = probe.probePromptStart!;
  t.is(probe.components[promptStart], COMPONENT['probe-prompt']);
  t.is(probe.components[promptStart + '<search>'.length], COMPONENT.model);
});
