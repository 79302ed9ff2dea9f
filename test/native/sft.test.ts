// The supervised warm-up lowers the negative log-likelihood of the imitated tokens and leaves the others alone.
import test from 'ava';

import { Policy } from '../../lib/model/policy.js';
import { supervisedWarmup } from '../../lib/train/sft.js';

test('supervised warm-up makes the demonstrated continuation likely', async (t) => {
  const policy = await Policy.random({ vocab_size: 40, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2 }, { seed: 2 });
  const examples = [0, 1, 2, 3].map((i) => ({ ids: [1, 2, 3 + i, 10, 11, 12, 13], lossMask: [0, 0, 0, 1, 1, 1, 1] }));
  const losses = await supervisedWarmup({ policy, examples, epochs: 15, batchSize: 2, lr: 1e-2, seed: 1 });
  t.is(losses.length, 30);
  t.true(losses[losses.length - 1]! < losses[0]! * 0.3, `NLL ${losses[0]} -> ${losses[losses.length - 1]}`);
  const { logps } = await policy.score([[1, 2, 3, 10, 11, 12, 13]]);
  t.true(Math.exp(logps[0]![4]!) > 0.5, 'token 11 after 10 is now likely');
  policy.dispose();
});
