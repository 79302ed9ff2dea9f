// The lab report from a made-up summary: every chart it promises (EM bands, reward, dead ends, probe success and
// counts, per-kind ratio bands) as inline SVG, and example trajectories with the spliced prompt marked.
import test from 'ava';

import { chooseExamples, labReportHtml, type LabSummary } from '../../lib/report/lab-report.js';
import type { TrajectorySample } from '../../lib/train/run-samples.js';

function summary(): LabSummary {
  const rows = ['grpo', 'rex-rag'].flatMap((method) => [0, 10].flatMap((step) => ([1, 2, 3, 'multi', 'all'] as const).map((hops) => ({
    method, step, split: 'test' as const, hops, em: 0.3, emLow: 0.2, emHigh: 0.4, samples: 50, greedyEm: 0.5, allWrong: 0.3, searches: 1.5,
  }))));
  const runs = (['grpo', 'rex-rag'] as const).map((algorithm) => ({
    algorithm, trainSeconds: 1, seconds: 2,
    steps: [1, 2, 3].map((step) => ({
      step,
      metrics: {
        'reward/mean': 0.3, 'deadend/rate': 0.4, 'probe/generated': algorithm === 'rex-rag' ? 5 : 0, 'probe/budget': 2, 'probe/kept': 2,
        'probe/kept_accuracy': 0.5, 'probe/generated_accuracy': 0.2,
        'train/original/ratio_min': 0.9, 'train/original/ratio_mean': 1, 'train/original/ratio_max': 1.1, 'train/original/tokens': 100,
        ...(algorithm === 'rex-rag' ? { 'train/probe_prompt/ratio_min': 0.01, 'train/probe_prompt/ratio_mean': 0.05, 'train/probe_prompt/ratio_max': 0.8, 'train/probe_prompt/tokens': 12 } : {}),
      },
    })),
  }));
  return { title: 'lab <test>', setting: [['seed', '1']], rows, runs, timings: [['grpo', 1]], notes: ['a & b'] };
}

const sample = (step: number, isProbe: boolean, reward: number, kept?: boolean): TrajectorySample => ({
  step, phase: 'train', question: `q${step}${isProbe ? 'p' : ''}${reward}`, reward, isProbe, ...(kept === undefined ? {} : { kept }),
  segments: [
    { kind: 'model', text: '<search> a </search>' }, { kind: 'information', text: '<information>doc</information>' },
    ...(isProbe ? [{ kind: 'probe-prompt' as const, text: '<think> wait </think>' }] : []), { kind: 'model', text: '<answer> x </answer>' },
  ],
});

test('chooseExamples: a kept probe, a right and a wrong original, latest first', (t) => {
  const all = [sample(1, true, 1, true), sample(5, true, 0, false), sample(5, true, 1, true), sample(1, false, 1), sample(5, false, 1), sample(5, false, 0)];
  t.deepEqual(chooseExamples(all).map((s) => s.question), ['q5p1', 'q51', 'q50']);
  t.deepEqual(chooseExamples([sample(1, false, 0)]).map((s) => s.question), ['q10']);
});

test('labReportHtml draws every chart as inline SVG and marks the spliced prompt in example trajectories', async (t) => {
  const html = await labReportHtml(summary(), [{ method: 'rex-rag', samples: [sample(3, true, 1, true)] }]);
  for (const title of ['Held-out sampled EM, multi-hop', 'Held-out sampled EM, 1-hop', 'Training reward', 'Dead-end rate', 'Probe success', 'Probes per step', 'Importance ratio']) {
    t.regex(html, new RegExp(`<svg[^]*?${title}`), title);
  }
  t.regex(html, /probe prompt/, 'the probe-prompt kind is charted for REX-RAG');
  t.regex(html, /class="seg seg-probe-prompt">&lt;think&gt; wait &lt;\/think&gt;</);
  t.regex(html, /class="seg seg-information">/);
  t.regex(html, /<title>lab &lt;test&gt;<\/title>/);
  t.notRegex(html, /<script/);
});
