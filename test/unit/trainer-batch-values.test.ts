// The trainer's batch is checked value by value before the native step: a loss mask other than 0/1, a log-prob
// above 0 or not finite on a trained token, or an infinite advantage would silently skew the loss, so each is
// refused naming the row and token. Pure TypeScript (packBatch), no addon needed.
import test from 'ava';

import { packBatch, type TrajectoryBatch } from '../../lib/train/grpo-trainer.js';

const base: TrajectoryBatch = { ids: [[1, 2, 3, 4]], lossMask: [[0, 1, 1, 0]], advantages: [1] };

const refused: { name: string; batch: Partial<TrajectoryBatch>; message: RegExp }[] = [
  { name: 'a loss mask of 0.5', batch: { lossMask: [[0, 0.5, 1, 0]] }, message: /batch\.lossMask\[0\]\[1\] must be 0 or 1, got 0\.5/ },
  { name: 'a loss mask of 2', batch: { lossMask: [[0, 1, 2, 0]] }, message: /batch\.lossMask\[0\]\[2\] must be 0 or 1, got 2/ },
  { name: 'a loss mask of -1', batch: { lossMask: [[0, -1, 1, 0]] }, message: /batch\.lossMask\[0\]\[1\] must be 0 or 1, got -1/ },
  { name: 'an infinite loss mask', batch: { lossMask: [[0, Infinity, 1, 0]] }, message: /must be 0 or 1, got Infinity/ },
  { name: 'a behaviour log-prob above 0', batch: { behaviourLogps: [[0, 0.5, -1, 0]] }, message: /batch\.behaviourLogps\[0\]\[1\] must be a log-probability \(<= 0\), got 0\.5/ },
  { name: 'an infinite behaviour log-prob', batch: { behaviourLogps: [[0, -1, Infinity, 0]] }, message: /batch\.behaviourLogps\[0\]\[2\] must be finite, got Infinity/ },
  { name: 'a behaviour log-prob of -Infinity', batch: { behaviourLogps: [[0, -Infinity, -1, 0]] }, message: /batch\.behaviourLogps\[0\]\[1\] must be finite, got -Infinity/ },
  { name: 'a reference log-prob above 0', batch: { refLogps: [[0, -1, 3, 0]] }, message: /batch\.refLogps\[0\]\[2\] must be a log-probability \(<= 0\), got 3/ },
  { name: 'an infinite per-token advantage', batch: { advantages: [[0, Infinity, 1, 1]] }, message: /batch\.advantages\[0\]\[1\] must be finite, got Infinity/ },
  { name: 'a NaN behaviour log-prob on an untrained token', batch: { behaviourLogps: [[0, -1, -1, NaN]] }, message: /batch\.behaviourLogps\[0\]\[3\] must be a number/ },
];

for (const { name, batch, message } of refused) {
  test(`${name} is refused, naming the row and token`, (t) => {
    t.throws(() => packBatch({ ...base, ...batch }, 10), { message });
  });
}

test('valid values pass: 0/1 masks, log-probs <= 0 (and rounding slack), placeholders on untrained tokens', (t) => {
  const packed = packBatch({ ...base, behaviourLogps: [[5, -0.1, 1e-7, 7]], refLogps: [[0, -2, -3, 0]], advantages: [[0, -1, 2.5, 0]] }, 10);
  t.deepEqual(Array.from(packed.lossMask), [0, 1, 1, 0]);
  t.is(packed.behaviourLogps!.length, 4);
  t.deepEqual(Array.from(packed.advantages), [0, -1, 2.5, 0]);
});
