// The fused RMSNorm (native/core/rms_norm.cc): output and both gradients against HF's expression in float64, on
// widths that are and are not multiples of the vector length and row counts below, at and above one block of the
// weight gradient's fixed-order sum (256 rows), next to ATen's own float32 error; and the same bits on one thread.
import test from 'ava';

import { native } from '../../lib/native.js';

const shapes = [[1, 128], [3, 7], [17, 33], [255, 128], [257, 96], [1000, 5], [600, 896]] as const;

for (const [rows, width] of shapes) {
  test(`fused RMSNorm equals float64 at ${rows} x ${width}`, (t) => {
    const d = native().checks.rmsNorm({ rows, width, seed: rows * 31 + width });
    t.log(`output ${d.output.toExponential(1)} (aten ${d.atenOutput.toExponential(1)}), grad input ${d.gradInput.toExponential(1)} (aten ${d.atenGradInput.toExponential(1)}), grad weight ${d.gradWeight.toExponential(1)} (aten ${d.atenGradWeight.toExponential(1)})`);
    // Within a few times ATen's own float32 error (plus a floor for the cases where ATen's happens to be ~0).
    const close = (ours: number, aten: number, floor: number) => ours <= 4 * aten + floor;
    t.true(close(d.output, d.atenOutput, 1e-6), `output off by ${d.output}`);
    t.true(close(d.gradInput, d.atenGradInput, 1e-5), `input gradient off by ${d.gradInput}`);
    t.true(close(d.gradWeight, d.atenGradWeight, 1e-6 * rows), `weight gradient off by ${d.gradWeight}`);
    t.true(d.sameOnOneThread, 'the fused RMSNorm gave other bits on one thread');
  });
}

test('the RMSNorm check refuses impossible shapes with a named error', (t) => {
  t.throws(() => native().checks.rmsNorm({ rows: 0, width: 4, seed: 1 }), { message: /rows and width/ });
});
