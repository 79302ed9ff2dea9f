// The multi-turn rollout loop with a scripted fake policy and a fake retriever: the exact tokens, components,
// loss masks and log-probs of each trajectory, the number of generate and search calls, and the probe hook.
import test from 'ava';

import { COMPONENT } from '../../lib/algo/components.js';
import { informationObservation, invalidActionNotice } from '../../lib/rollout/observation.js';
import { rolloutConfigSchema, type RolloutConfigInput } from '../../lib/config/rollout-config.js';
import { runRollouts } from '../../lib/rollout/rollout-loop.js';
import { mixSeed } from '../../lib/util/random.js';
import type { ProbeContext, RolloutEvent, RolloutOptions, Trajectory } from '../../lib/rollout/rollout-types.js';
import { buildPromptMessages } from '../../lib/rollout/search-r1-prompt.js';
import { CharTokenizer, END_OF_TEXT, IM_END } from '../helpers/char-tokenizer.js';
import { FakeRetriever, fakeHits } from '../helpers/fake-retriever.js';
import { fakeLogprobs, ScriptedSession, type Script, type ScriptInput } from '../helpers/scripted-session.js';

// '\n<' makes "\n<answer>" start inside a token; '>\n' makes a closing tag end inside one.
const tokenizer = new CharTokenizer(['\n<', '>\n']);
const ROLLOUT_KEYS = new Set(Object.keys(rolloutConfigSchema.shape));
const questions = [
  { id: 'q1', question: 'capital of France', golds: ['Paris'] },
  { id: 'q2', question: 'capital of Italy', golds: ['Rome'] },
];

/** The response part of a row's text (after the assistant header). */
function responseOf(input: ScriptInput): string {
  const header = '<|im_start|>assistant\n';
  return input.text.slice(input.text.indexOf(header) + header.length);
}

function questionOf(input: ScriptInput): string {
  return /Question: (.*)\?\n/.exec(input.text)![1]!;
}

function promptTokensOf(question: string): number[] {
  return tokenizer.encode(tokenizer.applyChatTemplate(buildPromptMessages(question), { addGenerationPrompt: true }));
}

function setup(script: Script, retriever = new FakeRetriever()) {
  const session = new ScriptedSession(tokenizer, script);
  const events: RolloutEvent[] = [];
  // Rollout-config keys go into options.rollout, everything else is a runRollouts option.
  const run = (options: Partial<RolloutOptions> & RolloutConfigInput = {}) => {
    const entries = Object.entries(options);
    return runRollouts({
      session,
      tokenizer,
      retriever,
      questions,
      groupSize: 2,
      seed: 7,
      onEvent: (event) => events.push(event),
      ...Object.fromEntries(entries.filter(([key]) => !ROLLOUT_KEYS.has(key))),
      rollout: Object.fromEntries(entries.filter(([key]) => ROLLOUT_KEYS.has(key))),
    });
  };
  return { session, retriever, events, run };
}

/** Expected components: consecutive [text, code] segments, tokenized. */
function segments(...parts: [string | number[], number][]): { tokens: number[]; components: number[] } {
  const tokens: number[] = [];
  const components: number[] = [];
  for (const [part, code] of parts) {
    const ids = typeof part === 'string' ? tokenizer.encode(part) : part;
    tokens.push(...ids);
    components.push(...ids.map(() => code));
  }
  return { tokens, components };
}

function checkLogprobs(t: { deepEqual: (a: unknown, b: unknown, m?: string) => void }, trajectory: Trajectory): void {
  const sampled = trajectory.responseTokens.map((token, i) =>
    trajectory.components[i] === COMPONENT.model ? fakeLogprobs(token, trajectory.promptTokens.length + i).logprob : 0,
  );
  const model = trajectory.responseTokens.map((token, i) =>
    trajectory.components[i] === COMPONENT.model ? fakeLogprobs(token, trajectory.promptTokens.length + i).modelLogprob : 0,
  );
  t.deepEqual(trajectory.sampledLogprobs, sampled, `sampled log-probs of row ${trajectory.rowId}`);
  t.deepEqual(trajectory.modelLogprobs, model, `model log-probs of row ${trajectory.rowId}`);
}

test('search then answer: exact components, masks, one generate and one search call per turn', async (t) => {
  const search = (q: string) => `<think>I need to look up ${q}.</think>\n<search> ${q} </search>`;
  const { session, retriever, events, run } = setup((input) =>
    responseOf(input).includes('<information>') ? '<think>Found it.</think>\n<answer> Paris </answer>' : search(questionOf(input)),
  );
  const trajectories = await run();
  t.is(trajectories.length, 4);

  // One generate call per turn covering every active row; one batched search.
  t.is(session.generateCalls.length, 2);
  t.deepEqual(session.generateCalls.map((call) => call.rowIds), [[0, 1, 2, 3], [0, 1, 2, 3]]);
  const options = session.generateCalls[0]!.options;
  t.deepEqual(options.stopStrings, ['</search>', '</answer>']);
  t.deepEqual(options.eosTokenIds, [IM_END, END_OF_TEXT]);
  t.is(options.maxNewTokens, 500);
  t.deepEqual(session.generateCalls.map((call) => call.options.seed), [mixSeed(7, 0, 0), mixSeed(7, 0, 1)]);
  t.deepEqual(retriever.calls, [
    { queries: ['capital of France', 'capital of France', 'capital of Italy', 'capital of Italy'], topk: 3 },
  ]);

  for (const trajectory of trajectories) {
    const question = questions[Math.floor(trajectory.rowId / 2)]!;
    const observation = informationObservation(fakeHits(question.question, 3));
    const expected = segments(
      [search(question.question), COMPONENT.model],
      [observation, COMPONENT.information],
      ['<think>Found it.</think>\n<answer> Paris </answer>', COMPONENT.model],
    );
    t.deepEqual(trajectory.promptTokens, promptTokensOf(question.question));
    t.deepEqual(trajectory.responseTokens, expected.tokens);
    t.deepEqual(trajectory.components, expected.components);
    t.deepEqual(trajectory.lossMask, expected.components.map((c) => (c === COMPONENT.model ? 1 : 0)));
    t.is(trajectory.responseText, search(question.question) + observation + '<think>Found it.</think>\n<answer> Paris </answer>');
    t.like(trajectory, {
      questionId: question.id,
      groupId: question.id,
      answer: 'Paris',
      finishReason: 'answer',
      turns: 2,
      isProbe: false,
      probeOf: null,
      probePromptStart: null,
    });
    t.deepEqual(trajectory.searches, [question.question]);
    checkLogprobs(t, trajectory);
  }
  t.deepEqual(session.liveRows(), [], 'finished rows are released');
  t.deepEqual(
    events.filter((e) => e.type === 'turn'),
    [
      { type: 'turn', turn: 0, final: false, activeRows: 4 },
      { type: 'turn', turn: 1, final: false, activeRows: 4 },
    ],
  );
});

test('no action within the turn budget: the invalid notice is appended, then the row answers', async (t) => {
  const { session, retriever, run } = setup((input) =>
    responseOf(input).includes('invalid') ? '<answer> Rome </answer>' : 'I am not sure',
  );
  const [first] = await run({ maxResponseTokensPerTurn: 30, questions: questions.slice(0, 1), groupSize: 1 });
  const expected = segments(
    ['I am not sure' + '.'.repeat(17), COMPONENT.model],
    ['\nMy action is invalid. ', COMPONENT.invalid],
    ['<answer> Rome </answer>', COMPONENT.model],
  );
  t.deepEqual(first!.responseTokens, expected.tokens);
  t.deepEqual(first!.components, expected.components);
  t.deepEqual(first!.lossMask, expected.components.map((c) => (c === COMPONENT.model ? 1 : 0)));
  t.is(first!.finishReason, 'answer');
  t.is(first!.answer, 'Rome');
  t.is(first!.turns, 2);
  t.is(retriever.calls.length, 0);
  t.is(session.generateCalls.length, 2);
  checkLogprobs(t, first!);

  // Search-R1's notice on request.
  const other = setup((input) => (responseOf(input).includes('try again') ? '<answer> Rome </answer>' : 'hmm'));
  const [second] = await other.run({ maxResponseTokensPerTurn: 30, questions: questions.slice(0, 1), groupSize: 1, invalidNotice: 'search-r1' });
  t.true(second!.responseText.includes('\nMy previous action is invalid. If I want to search'));
  t.is(second!.finishReason, 'answer');
});

test('max turns: searches run in turns 0..maxTurns−1, the final turn generates but does not search', async (t) => {
  let n = 0;
  const { session, retriever, run } = setup(() => `<search> query ${n++} </search>`);
  const trajectories = await run({ maxTurns: 2 });
  t.is(session.generateCalls.length, 3);
  t.true(session.generateCalls.every((call) => call.rowIds.length === 4));
  t.is(retriever.calls.length, 2);
  t.true(retriever.calls.every((call) => call.queries.length === 4));
  for (const trajectory of trajectories) {
    t.is(trajectory.finishReason, 'max-turns');
    t.is(trajectory.turns, 3);
    t.is(trajectory.searches.length, 3);
    t.is(trajectory.answer, null);
    // The response ends with the final turn's search block; nothing is appended after it.
    t.true(trajectory.responseText.endsWith(`<search> ${trajectory.searches[2]} </search>`));
    t.is(trajectory.components.at(-1), COMPONENT.model);
    const informationRuns = trajectory.responseText.split('<information>').length - 1;
    t.is(informationRuns, 2);
  }
});

test('an orphan </search> keeps generating in a follow-up call within the same turn', async (t) => {
  const { session, retriever, run } = setup((input) => {
    const response = responseOf(input);
    if (response.includes('<information>')) return '<answer> Paris </answer>';
    if (input.rowId === 1 && input.rowCall === 0) return 'I will not </search> yet';
    return '<search> real query </search>';
  });
  const trajectories = await run({ questions: questions.slice(0, 1) });
  t.deepEqual(session.generateCalls.map((call) => call.rowIds), [[0, 1], [1], [0, 1]]);
  t.is(session.generateCalls[1]!.options.maxNewTokens, 500 - tokenizer.encode('I will not </search>').length);
  t.deepEqual(retriever.calls.map((call) => call.queries), [['real query', 'real query']]);
  const orphan = trajectories[1]!;
  const expected = segments(
    ['I will not </search><search> real query </search>', COMPONENT.model],
    [informationObservation(fakeHits('real query', 3)), COMPONENT.information],
    ['<answer> Paris </answer>', COMPONENT.model],
  );
  t.deepEqual(orphan.responseTokens, expected.tokens);
  t.deepEqual(orphan.components, expected.components);
  t.is(orphan.turns, 2);
  t.is(orphan.finishReason, 'answer');
  t.is(trajectories[0]!.responseText.startsWith('<search> real query </search>\n\n<information>'), true);
});

test('EOS without an action ends the row and stays its last, trained token', async (t) => {
  const { run } = setup(() => 'I give up<|im_end|>');
  const trajectories = await run({ questions: questions.slice(0, 1), groupSize: 1 });
  const [row] = trajectories;
  t.deepEqual(row!.responseTokens, [...tokenizer.encode('I give up'), IM_END]);
  t.is(row!.responseTokens.at(-1), IM_END);
  t.is(row!.components.at(-1), COMPONENT.model);
  t.is(row!.lossMask.at(-1), 1);
  t.is(row!.finishReason, 'eos');
  t.is(row!.answer, null);
  t.is(row!.responseText, 'I give up<|im_end|>');
});

test("onEosWithoutAction 'notice': the EOS is dropped, the invalid notice appended, and the row goes on", async (t) => {
  const { run, session } = setup((input) => (responseOf(input).includes('My action is invalid') ? '<answer> Paris </answer>' : 'I give up<|im_end|>'));
  const [row] = await run({ questions: questions.slice(0, 1), groupSize: 1, onEosWithoutAction: 'notice' });
  const expected = segments(
    ['I give up', COMPONENT.model],
    [tokenizer.encode(invalidActionNotice('rex')), COMPONENT.invalid],
    ['<answer> Paris </answer>', COMPONENT.model],
  );
  t.deepEqual(row!.responseTokens, expected.tokens);
  t.deepEqual(row!.components, expected.components);
  t.is(row!.finishReason, 'answer');
  t.is(session.generateCalls.length, 2);
  // In the final turn there is nothing to continue to: the row ends on its EOS as in 'end'.
  const last = setup(() => 'I give up<|im_end|>');
  const [ended] = await last.run({ questions: questions.slice(0, 1), groupSize: 1, maxTurns: 0, onEosWithoutAction: 'notice' });
  t.is(ended!.finishReason, 'eos');
  t.is(ended!.responseTokens.at(-1), IM_END);
});

test('observations are capped to maxObservationTokens', async (t) => {
  const { events, run } = setup((input) =>
    responseOf(input).includes('<information>') ? '<answer> x </answer>' : '<search> q </search>',
  );
  const [row] = await run({ maxObservationTokens: 20, questions: questions.slice(0, 1), groupSize: 1 });
  const observation = tokenizer.encode(informationObservation(fakeHits('q', 3)));
  const expected = segments(
    ['<search> q </search>', COMPONENT.model],
    [observation.slice(0, 20), COMPONENT.information],
    ['<answer> x </answer>', COMPONENT.model],
  );
  t.deepEqual(row!.responseTokens, expected.tokens);
  t.deepEqual(row!.components, expected.components);
  t.deepEqual(
    events.filter((e) => e.type === 'observation-truncated'),
    [{ type: 'observation-truncated', turn: 0, rowId: 0, tokens: observation.length, kept: 20 }],
  );
});

test('a retriever failure rejects with the retriever error and frees the rows', async (t) => {
  const failure = new Error('retriever is down');
  const { session, run } = setup(() => '<search> q </search>', new FakeRetriever(undefined, failure));
  const error = await t.throwsAsync(run());
  t.is(error, failure);
  t.deepEqual(session.liveRows(), []);

  // A retriever that answers with the wrong number of lists is an ERR_RETRIEVER.
  const broken = { search: async () => [] };
  const other = setup(() => '<search> q </search>');
  await t.throwsAsync(other.run({ retriever: broken }), { code: 'ERR_RETRIEVER', message: /one list of hits per query/ } as never);
});

test('context cap: generation stops at maxContextTokens, and an observation that does not fit ends the row', async (t) => {
  const long = 'x'.repeat(200);
  // "capital of France" makes the longer prompt (rows 0 and 1).
  const longer = promptTokensOf(questions[0]!.question).length;
  const short = promptTokensOf(questions[1]!.question).length;
  t.true(longer > short);
  const { session, events, run } = setup(() => long);
  const cap = longer + 40;
  const trajectories = await run({ maxContextTokens: cap });
  // One call; maxNewTokens is the largest allowance (the shorter prompt's room).
  t.is(session.generateCalls.length, 1);
  t.is(session.generateCalls[0]!.options.maxNewTokens, cap - short);
  for (const trajectory of trajectories) {
    t.is(trajectory.finishReason, 'context');
    t.is(trajectory.promptTokens.length + trajectory.responseTokens.length, cap);
    t.deepEqual(trajectory.components, trajectory.responseTokens.map(() => COMPONENT.model));
  }
  // The rows with the longer prompt generated past their room; the extra tokens were dropped.
  t.deepEqual(
    events.filter((e) => e.type === 'tokens-dropped'),
    [0, 1].map((rowId) => ({ type: 'tokens-dropped', turn: 0, rowId, tokens: longer - short })),
  );

  // The search block fits but the observation does not: the row ends without it, and no third call happens.
  const fits = setup(() => '<search> q </search>');
  const [row] = await fits.run({ maxContextTokens: longer + 30, questions: questions.slice(0, 1), groupSize: 1 });
  t.is(row!.finishReason, 'context');
  t.is(row!.responseText, '<search> q </search>');
  t.is(fits.session.generateCalls.length, 1);
  t.is(fits.retriever.calls.length, 1);
});

test('tokens generated past a row budget are dropped and the session row is re-cloned before appending', async (t) => {
  const seen = new Map<number, number[]>();
  const { session, events, run } = setup((input) => {
    if (!seen.has(input.rowId)) seen.set(input.rowId, [...input.tokens]);
    if (responseOf(input).includes('invalid')) return '<answer> x </answer>';
    if (input.rowCall === 0) return input.rowId === 0 ? 'a </search>' : 'abcdefghij </search>';
    return 'z'.repeat(100);
  });
  const trajectories = await run({ questions: questions.slice(0, 1), maxResponseTokensPerTurn: 40 });
  const promptLength = promptTokensOf(questions[0]!.question).length;
  // Follow-up call: allowances 40 − 11 = 29 and 40 − 20 = 20; the call uses 29, row 1 overruns by 9.
  t.deepEqual(session.generateCalls.map((call) => [call.rowIds, call.options.maxNewTokens]), [
    [[0, 1], 40],
    [[0, 1], 29],
    [[0, 2], 40],
  ]);
  t.deepEqual(
    events.filter((e) => e.type === 'tokens-dropped'),
    [{ type: 'tokens-dropped', turn: 0, rowId: 1, tokens: 9 }],
  );
  t.deepEqual(session.cloneCalls, [{ rowId: 1, keepTokens: promptLength + 40, newRowId: 2 }]);
  t.true(session.released.has(1));
  for (const trajectory of trajectories) {
    const first = trajectory.rowId === 0 ? 'a </search>' + 'z'.repeat(29) : 'abcdefghij </search>' + 'z'.repeat(20);
    const expected = segments(
      [first, COMPONENT.model],
      ['\nMy action is invalid. ', COMPONENT.invalid],
      ['<answer> x </answer>', COMPONENT.model],
    );
    t.deepEqual(trajectory.responseTokens, expected.tokens);
    t.deepEqual(trajectory.components, expected.components);
    t.is(trajectory.finishReason, 'answer');
  }
  // What the re-cloned row held when it generated in turn 1 is exactly the trajectory so far.
  const notice = tokenizer.encode('\nMy action is invalid. ');
  t.deepEqual(seen.get(2), [...trajectories[1]!.promptTokens, ...trajectories[1]!.responseTokens.slice(0, 40 + notice.length)]);
});

test('tokens after the closing tag inside the stopping token are kept', async (t) => {
  const { run } = setup(() => '<answer> Paris </answer>\nmore text');
  const [row] = await run({ questions: questions.slice(0, 1), groupSize: 1 });
  // '>\n' is one token: it completes '</answer>' and brings the newline along.
  t.is(row!.responseText, '<answer> Paris </answer>\n');
  t.is(row!.responseTokens.at(-1), tokenizer.idOf('>\n'));
  t.is(row!.answer, 'Paris');
});

test('probe hook: the clone is cut at the <answer> token, gets the probe prompt and continues', async (t) => {
  const probeText = '<think> Maybe I missed something.';
  const { session, events, run } = setup((input) => {
    const response = responseOf(input);
    if (response.includes('Maybe I missed')) return '</think>\n<answer> Paris </answer>';
    return '<think>guess</think> \n<answer> Lyon </answer>';
  });
  const contexts: ProbeContext[] = [];
  const trajectories = await run({
    questions: questions.slice(0, 1),
    onAnswer: async (context) => {
      contexts.push(context);
      return context.rowId === 0 ? { promptTokens: tokenizer.encode(probeText) } : null;
    },
  });
  const promptLength = promptTokensOf(questions[0]!.question).length;
  const cut = tokenizer.encode('<think>guess</think> ').length;

  // The hook saw both originals in turn 0 (not the probe's own answer later).
  t.is(contexts.length, 2);
  t.like(contexts[0], {
    rowId: 0,
    questionId: 'q1',
    groupId: 'q1',
    question: 'capital of France',
    turn: 0,
    answer: 'Lyon',
    answerStart: cut,
    answerStartInRow: promptLength + cut,
    textLostBeforeAnswer: '\n', // "\n<" is one token: the newline goes with the cut
  });
  t.deepEqual(contexts[0]!.golds, ['Paris']);
  t.deepEqual(contexts[0]!.responseTokens, tokenizer.encode('<think>guess</think> \n<answer> Lyon </answer>'));

  t.deepEqual(session.cloneCalls, [{ rowId: 0, keepTokens: promptLength + cut, newRowId: 2 }]);
  t.deepEqual(session.generateCalls.map((call) => call.rowIds), [[0, 1], [2]]);
  t.is(trajectories.length, 3);
  const [original, , probe] = trajectories;
  t.is(original!.answer, 'Lyon');
  t.is(original!.responseText, '<think>guess</think> \n<answer> Lyon </answer>');
  t.like(probe, {
    rowId: 2,
    questionId: 'q1',
    groupId: 'q1',
    isProbe: true,
    probeOf: 0,
    probePromptStart: cut,
    answer: 'Paris',
    finishReason: 'answer',
    turns: 2,
  });
  const expected = segments(
    ['<think>guess</think> ', COMPONENT.model],
    [probeText, COMPONENT['probe-prompt']],
    ['</think>\n<answer> Paris </answer>', COMPONENT.model],
  );
  t.deepEqual(probe!.responseTokens, expected.tokens);
  t.deepEqual(probe!.components, expected.components);
  t.deepEqual(probe!.lossMask, expected.tokens.map(() => 1));
  t.deepEqual(probe!.promptTokens, original!.promptTokens);
  // Prefix log-probs are the original's; the spliced prompt was not sampled.
  t.deepEqual(probe!.sampledLogprobs.slice(0, cut), original!.sampledLogprobs.slice(0, cut));
  t.true(probe!.sampledLogprobs.slice(cut, cut + tokenizer.encode(probeText).length).every((v) => v === 0));
  checkLogprobs(t, probe!);
  t.deepEqual(
    events.filter((e) => e.type === 'probe'),
    [{ type: 'probe', turn: 0, rowId: 2, probeOf: 0, promptTokens: tokenizer.encode(probeText).length }],
  );
  t.deepEqual(session.liveRows(), []);
});

test('probe hook: not called in the final turn; a prompt that does not fit is skipped', async (t) => {
  let calls = 0;
  const { run } = setup(() => '<answer> Lyon </answer>');
  await run({ maxTurns: 0, onAnswer: () => (calls++, { promptTokens: [65] }) });
  t.is(calls, 0);

  const other = setup(() => '<answer> Lyon </answer>');
  const promptLength = promptTokensOf(questions[0]!.question).length;
  const result = await other.run({
    questions: questions.slice(0, 1),
    groupSize: 1,
    maxContextTokens: promptLength + 30,
    onAnswer: () => ({ promptTokens: tokenizer.encode('x'.repeat(40)) }),
  });
  t.is(result.length, 1);
  t.deepEqual(
    other.events.filter((e) => e.type === 'probe-skipped'),
    [{ type: 'probe-skipped', turn: 0, probeOf: 0, reason: 'context' }],
  );
  await t.throwsAsync(other.run({ questions: questions.slice(0, 1), groupSize: 1, onAnswer: () => ({ promptTokens: [-1] }) }), {
    instanceOf: RangeError,
    message: /promptTokens\[0\]/,
  });
});

test('bad options are rejected before anything runs', async (t) => {
  const { session, run } = setup(() => '<answer> x </answer>');
  await t.throwsAsync(run({ questions: [questions[0]!, { ...questions[1]!, id: 'q1' }] }), { instanceOf: RangeError, message: /not unique/ });
  await t.throwsAsync(run({ groupSize: 0 }), { instanceOf: RangeError, message: /options.groupSize/ });
  await t.throwsAsync(run({ maxTurns: -1 }), { code: 'ERR_INVALID_ARG', message: /options\.rollout[\s\S]*maxTurns/ } as never);
  await t.throwsAsync(run({ seed: 0.5 }), { instanceOf: TypeError, message: /options.seed/ });
  await t.throwsAsync(run({ questions: [{ id: 'x', question: '', golds: [] }] }), { instanceOf: RangeError, message: /question must not be empty/ });
  await t.throwsAsync(run({ topP: 0 }), { code: 'ERR_INVALID_ARG', message: /topP/ } as never);
  await t.throwsAsync(run({ maxContextTokens: 5 }), { code: 'ERR_INVALID_ARG', message: /question "q1": its prompt is \d+ tokens, which leaves no room/ } as never);
  t.is(session.generateCalls.length, 0);
  // The rollout section alone sets the per-turn budget.
  const trajectories = await run({ maxResponseTokensPerTurn: 64 });
  t.is(session.generateCalls[0]!.options.maxNewTokens, 64);
  t.is(trajectories.length, 4);
});
