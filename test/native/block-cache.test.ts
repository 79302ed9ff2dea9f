// The CPU block cache (native/core/block_cache.h): a repeated workload is served from freed blocks instead of
// fresh memory, the cache never holds more than its budget, and releasing it empties it.
import test from 'ava';

import { blockCacheStats, releaseBlockCache } from '../../lib/model/native-memory.js';
import { Policy } from '../../lib/model/policy.js';
import type { NativeQwen2Config } from '../../lib/native-types.js';

const config: NativeQwen2Config = {
  vocab_size: 512, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4,
  num_key_value_heads: 2, rope_theta: 10000, rms_norm_eps: 1e-6, tie_word_embeddings: false,
};

test('a repeated score call reuses cached blocks, within the budget, and release empties the cache', async (t) => {
  const policy = await Policy.random(config, { seed: 3 });
  t.teardown(() => policy.dispose());
  const rows = Array.from({ length: 8 }, (_, r) => Array.from({ length: 120 }, (_, i) => (r * 31 + i * 7) % config.vocab_size));
  await policy.score(rows);
  const before = blockCacheStats();
  t.true(before.budgetBytes > 0, 'the cache is installed by default');
  await policy.score(rows);
  const after = blockCacheStats();
  t.log(`second call: ${after.hits - before.hits} hits, ${after.misses - before.misses} misses; ${(after.cachedBytes / 2 ** 20).toFixed(1)} MiB cached`);
  t.true(after.hits - before.hits > 0, 'the second identical call took no block from the cache');
  t.true(after.misses - before.misses <= after.hits - before.hits, 'the second identical call mostly needed new memory');
  t.true(after.cachedBytes <= after.budgetBytes);
  t.true(releaseBlockCache() >= 0);
  t.is(blockCacheStats().cachedBytes, 0);
});
