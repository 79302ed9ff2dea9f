// The sampler draws tokens with the probabilities it reports: many rows with the same prompt give one draw each
// from the same distribution, and the empirical frequencies must match exp(logprob) (a chi-square test), at a
// low temperature that makes the distribution far from uniform and far from the untempered one.
import test from 'ava';

import { Policy } from '../../lib/model/policy.js';
import type { NativeQwen2Config } from '../../lib/native-types.js';

const config: NativeQwen2Config = {
  vocab_size: 64,
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  rope_theta: 10000,
  rms_norm_eps: 1e-6,
  tie_word_embeddings: false,
};

for (const temperature of [1, 0.04]) {
  test(`tokens drawn at temperature ${temperature} follow the reported sampling probabilities`, async (t) => {
    const policy = await Policy.random(config, { seed: 5 });
    const session = policy.createSession();
    try {
      const draws = 4000;
      const rows = Array.from({ length: draws }, () => session.addRow([3, 9, 27]));
      const generated = await session.generate(rows, {
        temperature, topP: 1, topK: 0, seed: 11, maxNewTokens: 1, stopStrings: [], eosTokenIds: [],
      });
      const counts = new Map<number, number>();
      const probability = new Map<number, number>();
      for (const row of generated) {
        const token = row.tokens[0]!;
        counts.set(token, (counts.get(token) ?? 0) + 1);
        const p = Math.exp(row.logprobs[0]!);
        const seen = probability.get(token);
        if (seen !== undefined) t.true(Math.abs(seen - p) < 1e-6, 'one token, one probability');
        probability.set(token, p);
      }
      const total = [...probability.values()].reduce((a, b) => a + b, 0);
      t.true(total <= 1 + 1e-5, `drawn tokens' probabilities sum to ${total}`);
      // Chi-square over tokens expected at least 10 times, the rest pooled.
      let chi = 0;
      let dof = 0;
      let pooledExpected = draws * (1 - total);
      let pooledCount = 0;
      for (const [token, p] of probability) {
        const expected = p * draws;
        if (expected < 10) {
          pooledExpected += expected;
          pooledCount += counts.get(token)!;
          continue;
        }
        chi += (counts.get(token)! - expected) ** 2 / expected;
        dof += 1;
      }
      if (pooledExpected >= 10) {
        chi += (pooledCount - pooledExpected) ** 2 / pooledExpected;
        dof += 1;
      }
      dof -= 1;
      t.true(dof >= 3, `${dof} degrees of freedom`);
      // About 5.5 standard deviations above the mean: a correct sampler fails this with p < 1e-6.
      t.true(chi < dof + 5.5 * Math.sqrt(2 * dof), `chi-square ${chi.toFixed(1)} with ${dof} degrees of freedom`);
      if (temperature < 1) t.true(Math.max(...probability.values()) > 0.1, 'the low temperature concentrates the draws');
    } finally {
      session.dispose();
      policy.dispose();
    }
  });
}
