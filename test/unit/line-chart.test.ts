// The SVG chart places points by their values, labels round ticks, and escapes text.
import test from 'ava';

import { lineChartSvg, niceTicks } from '../../lib/report/line-chart.js';

test('niceTicks picks round steps covering the range', (t) => {
  t.deepEqual(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  t.deepEqual(niceTicks(0, 20), [0, 5, 10, 15, 20]);
  t.deepEqual(niceTicks(3, 3), [3]);
});

test('lineChartSvg draws one polyline per series at the right coordinates', (t) => {
  const svg = lineChartSvg({
    title: 'EM <dev>', xLabel: 'step', yLabel: 'EM', yRange: [0, 1], width: 200, height: 200,
    series: [{ name: 'GRPO', color: '#111', points: [[0, 0], [10, 1]] }, { name: 'REX-RAG', color: '#222', points: [[0, 0.5]] }],
  });
  t.is(svg.match(/<polyline/g)!.length, 2);
  t.regex(svg, /EM &lt;dev&gt;/);
  // x 0 -> left margin 56, y 0 -> bottom (200 − 64 = 136); x 10 -> 200 − 16 = 184, y 1 -> top margin 36.
  t.regex(svg, /points="56\.0,136\.0 184\.0,36\.0"/);
  t.regex(svg, /points="56\.0,86\.0"/);
});
