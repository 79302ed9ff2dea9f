// The bfloat16 product of the generation copy (native/core/gemm_bf16.cc, through fast_linear without gradients)
// against float64 on the same bfloat16 values, next to at::linear's own bfloat16 error: rows not a multiple of the
// 4-row block, outputs not a multiple of 6 or of the 240-output tile, K not a multiple of the 32 pairs of one
// step; products small enough for one thread and large enough for all; the same bits on one thread as on several.
import test from 'ava';

import { native } from '../../lib/native.js';

const shapes = [[1, 896, 300], [3, 7, 5], [8, 129, 257], [13, 1030, 9], [8, 896, 4864], [70, 64, 500]] as const;

for (const [rows, inFeatures, outFeatures] of shapes) {
  test(`bfloat16 linear equals float64 to bfloat16 rounding at ${rows} x ${inFeatures} -> ${outFeatures}`, (t) => {
    for (const bias of [true, false]) {
      const d = native().checks.bf16Linear({ rows, inFeatures, outFeatures, bias, seed: rows * 7 + outFeatures });
      t.log(`bias ${bias}: ${d.kernel ? 'kernel' : 'at::linear (no AVX512-BF16)'}, relative error ${d.output.toExponential(1)} (aten ${d.atenOutput.toExponential(1)})`);
      // One rounding to bfloat16 (8 significant bits) of float32 sums: at most 2^-8 of the largest |output|.
      t.true(d.output <= Math.max(2 * d.atenOutput, 2 ** -8), `output off by ${d.output} of its scale`);
      t.true(d.sameOnOneThread, 'the bfloat16 product gave other bits on one thread');
    }
  });
}

test('the bfloat16 linear check refuses impossible shapes with a named error', (t) => {
  t.throws(() => native().checks.bf16Linear({ rows: 1, inFeatures: 0, outFeatures: 4, bias: false, seed: 1 }), {
    message: /rows, inFeatures and outFeatures/,
  });
});
