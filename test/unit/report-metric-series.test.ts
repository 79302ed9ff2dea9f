// The dashboard's series: TensorBoard-style smoothing, minutes since the start, and the points of one metric.
import test from 'ava';

import { elapsedMinutes, metricNames, metricPoints, smoothEma, type RunMetrics } from '../../lib/report/metric-series.js';

test('smoothEma: weight 0 changes nothing; the first point is not pulled toward 0; a constant stays constant', (t) => {
  t.deepEqual(smoothEma([3, 1, 4], 0), [3, 1, 4]);
  const smoothed = smoothEma([2, 4], 0.5);
  t.is(smoothed[0], 2);
  // m1 = 1, m2 = 0.5 + 2 = 2.5; debiased by 1 - 0.25
  t.true(Math.abs(smoothed[1]! - 2.5 / 0.75) < 1e-12);
  t.true(smoothEma([5, 5, 5, 5], 0.9).every((v) => Math.abs(v - 5) < 1e-12));
  t.throws(() => smoothEma([1], 1), { instanceOf: RangeError, message: /\[0, 1\)/ });
});

test('elapsedMinutes: from wall_time, else from seconds (sft), else from summed step times', (t) => {
  t.deepEqual(elapsedMinutes([{ step: 1, wall_time: 100 }, { step: 2, wall_time: 160 }]), [0, 1]);
  t.deepEqual(elapsedMinutes([{ step: 1, seconds: 30 }, { step: 2, seconds: 90 }]), [0.5, 1.5]);
  t.deepEqual(elapsedMinutes([{ step: 1, 'time/step_s': 60 }, { step: 2, 'time/step_s': 120 }]), [1, 3]);
});

test('metricPoints: lines without the metric are skipped, runs are smoothed separately; metricNames omits coordinates', (t) => {
  const runs: RunMetrics[] = [
    { run: 'a', lines: [{ step: 1, 'reward/mean': 0, wall_time: 0 }, { step: 1, 'eval/em': 0.5, wall_time: 30 }, { step: 2, 'reward/mean': 1, wall_time: 60 }] },
    { run: 'b', lines: [{ step: 1, 'reward/mean': 1 }] },
  ];
  const points = metricPoints(runs, 'reward/mean', 0.5);
  t.deepEqual(points.map((p) => [p.run, p.step, p.value, p.minutes]), [['a', 1, 0, 0], ['a', 2, 1, 1], ['b', 1, 1, 0]]);
  t.is(points[2]!.smoothed, 1, 'run b starts its own average');
  t.deepEqual(metricNames(runs), ['eval/em', 'reward/mean']);
});
