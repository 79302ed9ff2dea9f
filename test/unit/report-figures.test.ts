// Chart specs rendered headless: the EM-band figure the README uses, as SVG and PNG, and the lab's other charts.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { emBandsSpec, metricChartSpec, rangeBandsSpec, seriesChartSpec } from '../../lib/report/chart-specs.js';
import { renderFigure, specToSvg } from '../../lib/report/render-figure.js';

const rows = ['grpo', 'rex-rag'].flatMap((method) => [0, 10, 20].flatMap((step) => [1, 'multi'].map((hops) => {
  const em = hops === 1 ? 0.9 : 0.2 + step / 50;
  return { method, step, hops, em, emLow: em - 0.05, emHigh: em + 0.05 };
})));

test('emBandsSpec keeps one hop group, one band and line per method, in the lab colours', (t) => {
  const spec = emBandsSpec(rows) as unknown as { data: { values: { hops: unknown; label: string }[] }; encoding: { color: { scale: { domain: string[]; range: string[] } } } };
  t.true(spec.data.values.every((r) => r.hops === 'multi'));
  t.is(spec.data.values.length, 6);
  t.deepEqual(spec.encoding.color.scale.domain, ['GRPO', 'REX-RAG']);
  t.deepEqual(spec.encoding.color.scale.range, ['#d62728', '#1f77b4']);
  const withAblation = emBandsSpec([...rows, { method: 'rex-rag-no-filter', step: 0, hops: 'multi', em: 0.1, emLow: 0, emHigh: 0.2 }]) as unknown as typeof spec;
  t.deepEqual(withAblation.encoding.color.scale.domain, ['GRPO', 'REX-RAG', 'REX-RAG no filter']);
  t.is(withAblation.encoding.color.scale.range[2], '#2ca02c', 'other methods avoid the lab colours');
  const oneHop = emBandsSpec(rows, { hops: 1 }) as unknown as { data: { values: { em: number }[] } };
  t.true(oneHop.data.values.every((r) => r.em === 0.9));
});

test('renderFigure writes SVG and PNG from the same spec; another extension is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rexrag-fig-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const svg = readFileSync(await renderFigure(emBandsSpec(rows), join(dir, 'em.svg')), 'utf8');
  t.regex(svg, /^<svg/);
  t.regex(svg, /Held-out sampled EM, multi-hop/);
  t.regex(svg, /GRPO/);
  t.regex(svg, /REX-RAG/);
  const png = readFileSync(await renderFigure(emBandsSpec(rows), join(dir, 'sub', 'em.png')));
  t.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  t.is(png.readUInt32BE(16), 2 * Number(/width="(\d+)"/.exec(svg)![1]), 'twice the SVG width');
  await t.throwsAsync(renderFigure(emBandsSpec(rows), join(dir, 'em.pdf')), { code: 'ERR_INVALID_ARG', message: /\.svg or \.png/ } as never);
  await t.throwsAsync(specToSvg({ mark: 'nope' } as never), { code: 'ERR_INVALID_ARG', message: /invalid chart spec/ } as never);
});

test('the other specs render: metric lines with smoothing, series and per-kind ranges', async (t) => {
  const points = [1, 2, 3].flatMap((step) => ['a', 'b'].map((run) => ({ run, step, minutes: step, value: step, smoothed: step })));
  t.regex(await specToSvg(metricChartSpec({ points, metric: 'reward/mean', smoothed: true })), /reward\/mean/);
  t.regex(await specToSvg(seriesChartSpec({ points: [{ series: 'grpo', step: 1, value: 0.5 }], title: 'Dead-end rate', yTitle: 'rate' })), /Dead-end rate/);
  const ranges = [1, 2].map((step) => ({ panel: 'rex-rag', group: 'probe prompt', step, min: 0.8, mean: 1, max: 1.3 }));
  t.regex(await specToSvg(rangeBandsSpec({ rows: ranges, title: 'Ratios', yTitle: 'ratio' })), /probe prompt/);
});
