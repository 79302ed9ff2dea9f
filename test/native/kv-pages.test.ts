// The session's paged KV cache: a clone shares its parent's full 16-token pages and copies only a partly filled
// last one; parent and clone then write past the cut without disturbing each other; released pages are reused;
// rows joining and leaving between calls give the same tokens as rows generated alone.
import test from 'ava';

import { Policy } from '../../lib/model/policy.js';
import { generationConfig, greedy } from '../helpers/generation-model.js';

const config = generationConfig;
const headDim = config.hidden_size / config.num_attention_heads;
// Keys and values of every layer for 16 positions, float32.
const pageBytes = 16 * config.num_key_value_heads * headDim * 4 * 2 * config.num_hidden_layers;

function prompt(length: number, offset: number): number[] {
  return Array.from({ length }, (_, i) => (i * 7 + offset) % config.vocab_size);
}

let policy: Policy;
test.before(async () => {
  policy = await Policy.random(config, { seed: 7 });
});
test.after.always(() => policy?.dispose());

/** Greedy continuation of `tokens` in a session of its own. */
async function alone(tokens: number[], maxNewTokens: number) {
  const session = policy.createSession();
  try {
    return (await session.generate([session.addRow(tokens)], { ...greedy, maxNewTokens }))[0]!;
  } finally {
    session.dispose();
  }
}

test('a clone shares full pages and copies only the partly filled last one', async (t) => {
  const session = policy.createSession();
  try {
    t.is(session.cacheBytes(), 0);
    const row = session.addRow(prompt(100, 1));
    await session.generate([row], { ...greedy, maxNewTokens: 1 });
    // 100 positions cached (the new token is not): 7 pages.
    t.is(session.cacheBytes(), 7 * pageBytes);
    session.clone(row, 49); // 48 cached positions: 3 full pages, shared
    t.is(session.cacheBytes(), 7 * pageBytes);
    session.clone(row, 51); // 50 cached: 3 shared pages and a copy of the fourth's 2 positions
    t.is(session.cacheBytes(), 8 * pageBytes);
    const whole = session.clone(row); // 100 cached: 6 shared, the seventh's 4 positions copied
    t.is(session.cacheBytes(), 9 * pageBytes);
    session.release([row]);
    t.is(session.cacheBytes(), 8 * pageBytes, 'only the parent’s unshared last page is freed');
    session.release([whole]);
    t.is(session.cacheBytes(), 4 * pageBytes, 'the two shorter clones hold 3 shared pages and one copy');
  } finally {
    session.dispose();
  }
});

test('parent and clone both continue past a cut inside a page without disturbing each other', async (t) => {
  for (const keep of [20, 33, 40]) {
    const session = policy.createSession();
    try {
      const row = session.addRow(prompt(37, 3));
      await session.generate([row], { ...greedy, maxNewTokens: 3 }); // 40 tokens, 39 cached
      const probe = session.clone(row, keep);
      session.append(probe, [5, 6, 7]);
      const [fromRow, fromProbe] = await session.generate([row, probe], { ...greedy, maxNewTokens: 20 });
      const expectedRow = await alone(prompt(37, 3).concat(session.tokens(row).slice(37, 40)), 20);
      const expectedProbe = await alone(session.tokens(row).slice(0, keep).concat([5, 6, 7]), 20);
      t.deepEqual(fromRow!.tokens, expectedRow.tokens, `parent after a clone at ${keep}`);
      t.deepEqual(fromProbe!.tokens, expectedProbe.tokens, `clone at ${keep}`);
    } finally {
      session.dispose();
    }
  }
});

test('rows join and leave between calls; released pages are reused', async (t) => {
  const session = policy.createSession();
  try {
    const first = [session.addRow(prompt(30, 1)), session.addRow(prompt(5, 2)), session.addRow(prompt(18, 3))];
    await session.generate(first, { ...greedy, maxNewTokens: 8 });
    const held = session.cacheBytes();
    session.release([first[0]!]);
    const joined = session.addRow(prompt(30, 4));
    // A row that has never been generated for holds no pages; the released row's pages come back first.
    const [left, newcomer] = await session.generate([first[2]!, joined], { ...greedy, maxNewTokens: 12 });
    t.true(session.cacheBytes() <= held + 2 * pageBytes, `cache grew from ${held} to ${session.cacheBytes()}`);
    t.deepEqual(newcomer!.tokens, (await alone(prompt(30, 4), 12)).tokens);
    const thirdSoFar = session.tokens(first[2]!);
    t.deepEqual(left!.tokens, (await alone(thirdSoFar.slice(0, thirdSoFar.length - 12), 12)).tokens);
    const [idle] = await session.generate([first[1]!], { ...greedy, maxNewTokens: 4 });
    const idleSoFar = session.tokens(first[1]!);
    t.deepEqual(idle!.tokens, (await alone(idleSoFar.slice(0, idleSoFar.length - 4), 4)).tokens);
  } finally {
    session.dispose();
  }
});
