// The linear layers' float32 kernels through fast_linear: the forward (native/core/gemm.cc) and the backward's
// g·W and gᵀ·x (native/core/gemm_ab.cc). Output and gradients against a float64 reference on shapes that exercise
// every tail: rows not a multiple of the forward's 4-row block or the backward's 8 (AVX2: 6), outputs not a
// multiple of 4, K not a multiple of the 16-float vector or of the backward's 48-column strip, K longer than the
// forward's 1024 slice and the backward's 256, next to at::linear's own float32 error as the yardstick; and the
// kernels' results are the same bits on one thread as on several (under REXRAG_KERNELS=aten, OpenBLAS runs instead
// and only the accuracy is checked: its bits depend on the thread count).
import test from 'ava';

import { native } from '../../lib/native.js';

const shapes = [
  [1, 896, 300], [3, 7, 5], [5, 33, 4], [8, 129, 257], [13, 1030, 9], [33, 16, 1], [70, 2100, 66], [130, 64, 130],
  [300, 50, 17], [521, 97, 259],
] as const;
const ownKernels = process.env.REXRAG_KERNELS !== 'aten';

for (const [rows, inFeatures, outFeatures] of shapes) {
  test(`fast linear equals float64 at ${rows} x ${inFeatures} -> ${outFeatures}`, (t) => {
    for (const bias of [true, false]) {
      const d = native().checks.fastLinear({ rows, inFeatures, outFeatures, bias, seed: rows + inFeatures });
      // Float32 sums of L products of unit normals are off by about 1e-7·L at worst; allow 2e-6 per term.
      const within = (error: number, length: number) => error <= 2e-6 * length;
      t.log(`bias ${bias}: output ${d.output.toExponential(1)} (aten ${d.atenOutput.toExponential(1)}), grad input ${d.gradInput.toExponential(1)} (aten ${d.atenGradInput.toExponential(1)}), grad weight ${d.gradWeight.toExponential(1)} (aten ${d.atenGradWeight.toExponential(1)})`);
      t.true(within(d.output, inFeatures), `output off by ${d.output}`);
      t.true(within(d.gradInput, outFeatures), `input gradient off by ${d.gradInput}`);
      t.true(within(d.gradWeight, rows), `weight gradient off by ${d.gradWeight}`);
      t.true(within(d.gradBias, rows), `bias gradient off by ${d.gradBias}`);
      if (ownKernels) {
        t.true(d.sameOnOneThread, 'the forward kernel gave other bits on one thread');
        t.true(d.sameGradientsOnOneThread, 'the backward kernel gave other bits on one thread');
      }
    }
  });
}

test('fast linear refuses impossible shapes with a named error', (t) => {
  t.throws(() => native().checks.fastLinear({ rows: 0, inFeatures: 4, outFeatures: 4, bias: false, seed: 1 }), { message: /rows, inFeatures and outFeatures/ });
});
