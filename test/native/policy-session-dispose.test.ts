// dispose() while a generate() call runs: the call finishes, then the session is freed. Cleanup code that
// disposes every session after one of them failed (rollout cohorts do) must not fail with ERR_BUSY, which
// used to replace the error that caused the cleanup.
import test from 'ava';

import { isRexragError } from '../../lib/errors.js';
import { liveNativeSessions } from '../../lib/model/native-memory.js';
import { Policy } from '../../lib/model/policy.js';
import type { NativeQwen2Config } from '../../lib/native-types.js';

const config: NativeQwen2Config = {
  vocab_size: 96, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
  max_position_embeddings: 64, rope_theta: 10000, rms_norm_eps: 1e-6, tie_word_embeddings: false,
};
const sampling = { temperature: 0, topP: 1, topK: 0, maxNewTokens: 8, seed: 0, stopStrings: [] as string[], eosTokenIds: [] as number[] };

test('dispose() during generate() lets the call finish, then frees the session', async (t) => {
  const policy = await Policy.random(config, { seed: 3 });
  const before = liveNativeSessions();
  const session = policy.createSession();
  const row = session.addRow([1, 2, 3]);
  const running = session.generate([row], sampling);
  t.notThrows(() => session.dispose());
  const [result] = await running;
  t.is(result!.tokens.length, 8, 'the running call completed');
  t.is(liveNativeSessions(), before, 'freed once the call settled');
  const error = t.throws(() => session.rowCount());
  t.true(isRexragError(error, 'ERR_DISPOSED'), String(error));
  policy.dispose();
});
