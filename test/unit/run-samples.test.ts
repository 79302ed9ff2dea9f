// Sample trajectories of a run: segments by component, which rows are picked, and the samples files.
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { COMPONENT } from '../../lib/algo/components.js';
import { pickSampleIndices, readSamples, responseSegments, SampleLog, samplesPath, sampleSteps } from '../../lib/train/run-samples.js';

const tokenizer = { decode: (ids: number[]) => ids.map((id) => String.fromCharCode(97 + id)).join('') };

test('responseSegments cuts the response where the component changes', (t) => {
  const { model, information } = COMPONENT;
  const probePrompt = COMPONENT['probe-prompt'];
  const segments = responseSegments({ responseTokens: [0, 1, 2, 3, 4, 5, 6], components: [model, model, information, information, probePrompt, model, model] }, tokenizer);
  t.deepEqual(segments, [
    { kind: 'model', text: 'ab' }, { kind: 'information', text: 'cd' }, { kind: 'probe-prompt', text: 'e' }, { kind: 'model', text: 'fg' },
  ]);
  t.deepEqual(responseSegments({ responseTokens: [], components: [] }, tokenizer), []);
});

test('pickSampleIndices: up to half probes (kept and right first), then originals of distinct questions, right and wrong in turn', (t) => {
  const rows = [
    { isProbe: false, questionId: 'a' }, { isProbe: false, questionId: 'a' }, { isProbe: false, questionId: 'b' }, { isProbe: false, questionId: 'c' },
    { isProbe: true, questionId: 'a' }, { isProbe: true, questionId: 'b' }, { isProbe: true, questionId: 'c' },
  ];
  const rewards = [0, 1, 1, 0, 0, 1, 0];
  t.deepEqual(pickSampleIndices(rows, rewards, 4, new Set([6])), [6, 5, 2, 0]);
  t.deepEqual(pickSampleIndices(rows, rewards, 0), []);
  // Too few originals: probes fill the places.
  t.deepEqual(pickSampleIndices(rows.slice(3), rewards.slice(3), 3), [2, 1, 0]);
});

test('SampleLog keeps one file per step; adding a phase replaces that phase and keeps the others; readSamples skips torn lines', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rexrag-samples-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const log = new SampleLog(dir);
  const sample = (phase: 'train' | 'eval') => ({ step: 5, phase, question: 'q?', segments: [{ kind: 'model' as const, text: '<answer> x </answer>' }] });
  await log.add(5, [sample('train'), sample('train')]);
  await new SampleLog(dir).add(5, [sample('eval')]);
  await log.add(5, [sample('train')]);
  await log.add(10, []);
  t.is(samplesPath(dir, 5), join(dir, 'samples', 'step-00000005.jsonl'));
  t.deepEqual(await sampleSteps(dir), [5]);
  appendFileSync(samplesPath(dir, 5), '{"step": 5, "question": "torn');
  t.deepEqual((await readSamples(dir, 5)).map((s) => s.phase), ['eval', 'train']);
  t.is(readFileSync(samplesPath(dir, 5), 'utf8').split('\n').length, 3);
  await t.throwsAsync(readSamples(dir, 7), { code: 'ERR_INVALID_ARG', message: /no samples for step 7/ } as never);
  t.deepEqual(await sampleSteps(join(dir, 'missing')), []);
});
