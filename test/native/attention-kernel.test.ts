// The fused attention of the training forward pass (native/core/fused_attention.cc): output and the gradients of
// q, k and v against HF's expression in float64, next to ATen's own float32 error, under causal masks with left
// and right padding; grouped kv heads; sequences shorter than, equal to and longer than one query block (64),
// head sizes that are and are not multiples of the vector length; and the same bits on one thread. Under
// REXRAG_KERNELS=aten the kernel is off and the check says so.
import test from 'ava';

import { native } from '../../lib/native.js';

const kernelOn = process.env.REXRAG_KERNELS !== 'aten';

const shapes = [
  { batch: 3, steps: 5, heads: 2, kvHeads: 2, headDim: 8 },
  { batch: 3, steps: 64, heads: 4, kvHeads: 4, headDim: 32 },
  { batch: 4, steps: 70, heads: 4, kvHeads: 2, headDim: 32 },
  { batch: 3, steps: 150, heads: 14, kvHeads: 2, headDim: 64 },
  { batch: 2, steps: 33, heads: 6, kvHeads: 3, headDim: 18 },
] as const;

for (const shape of shapes) {
  const name = `B${shape.batch} T${shape.steps} heads ${shape.heads}/${shape.kvHeads} D${shape.headDim}`;
  test(`fused attention equals float64 at ${name}`, (t) => {
    if (!kernelOn) {
      t.throws(() => native().checks.attention({ ...shape, seed: 1 }), { message: /does not run here/ });
      return;
    }
    const d = native().checks.attention({ ...shape, seed: shape.steps * 7 + shape.headDim });
    t.log(`output ${d.output.toExponential(1)} (aten ${d.atenOutput.toExponential(1)}), grad q ${d.gradQ.toExponential(1)} (aten ${d.atenGradQ.toExponential(1)}), grad k ${d.gradK.toExponential(1)} (aten ${d.atenGradK.toExponential(1)}), grad v ${d.gradV.toExponential(1)} (aten ${d.atenGradV.toExponential(1)})`);
    // Within a few times ATen's own float32 error, plus a floor for where ATen's happens to be ~0.
    const close = (ours: number, aten: number) => ours <= 4 * aten + 1e-5;
    t.true(close(d.output, d.atenOutput), `output off by ${d.output}`);
    t.true(close(d.gradQ, d.atenGradQ), `q gradient off by ${d.gradQ}`);
    t.true(close(d.gradK, d.atenGradK), `k gradient off by ${d.gradK}`);
    t.true(close(d.gradV, d.atenGradV), `v gradient off by ${d.gradV}`);
    t.true(d.sameOnOneThread, 'the fused attention gave other bits on one thread');
  });
}

test('the attention check refuses impossible shapes with a named error', (t) => {
  t.throws(() => native().checks.attention({ batch: 1, steps: 4, heads: 3, kvHeads: 2, headDim: 8, seed: 1 }), {
    message: /multiple of kv_heads/,
  });
});
