// Issue 16's config inputs, refused by the schemas with the key named: unknown loss keys, topK below 0, seeds
// past 2^53, a context of fewer than 2 tokens. (These held before the hardening; the tests keep them.)
import test from 'ava';

import { resolveConfig } from '../../lib/config/resolve-config.js';
import { rlConfigSchema } from '../../lib/config/rl-config.js';

const refused: [string, RegExp][] = [
  ['trainer.loss.nope=1', /trainer\.loss: Unrecognized key: "nope"/],
  ['rollout.topK=-5', /rollout\.topK: Too small/],
  ['seed=1e30', /seed: Too big: expected int to be <=9007199254740991/],
  ['rollout.maxContextTokens=1', /rollout\.maxContextTokens: Too small/],
  ['questionsPerStep=0.5', /questionsPerStep: Invalid input: expected int/],
];

for (const [override, message] of refused) {
  test(`--set ${override} is an ERR_INVALID_ARG naming the key`, async (t) => {
    await t.throwsAsync(resolveConfig(rlConfigSchema, { overrides: [override] }), { code: 'ERR_INVALID_ARG', message } as never);
  });
}
