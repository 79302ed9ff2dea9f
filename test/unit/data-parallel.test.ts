// The data-parallel bookkeeping without a process group: the launcher's environment, the rollout split by whole
// cohorts (the ranks together produce exactly one process's trajectories), joining the ranks' rollouts in
// single-process order, a rank's share of a batch, and the argv each --nproc rank receives.
import test from 'ava';

import { readDistributedEnv } from '../../lib/distributed/env.js';
import { rankEnv } from '../../lib/distributed/launch.js';
import { resolveBackend } from '../../lib/distributed/process-group.js';
import { isRexragError } from '../../lib/errors.js';
import type { GenerationSession } from '../../lib/model/generation-types.js';
import { runRolloutsInCohorts } from '../../lib/rollout/cohorts.js';
import { argvFromValues } from '../../lib/cli/train.js';
import { joinRankRollouts, localShare, type RankRollouts } from '../../lib/train/data-parallel.js';
import { CharTokenizer } from '../helpers/char-tokenizer.js';
import { FakeRetriever, fakeHits } from '../helpers/fake-retriever.js';
import { ScriptedSession } from '../helpers/scripted-session.js';

const env = { MASTER_ADDR: 'node0', MASTER_PORT: '29500', RANK: '1', WORLD_SIZE: '2', LOCAL_RANK: '1' };

test('the rank environment is read with torchrun names, and a missing or inconsistent variable is named', (t) => {
  t.deepEqual(readDistributedEnv(env), { masterAddr: 'node0', masterPort: 29500, rank: 1, worldSize: 2, localRank: 1 });
  t.is(readDistributedEnv({}), undefined, 'no WORLD_SIZE: a single-process run');
  const cases: [NodeJS.ProcessEnv, RegExp][] = [
    [{ ...env, MASTER_ADDR: undefined }, /MASTER_ADDR is not set/],
    [{ ...env, MASTER_PORT: undefined }, /MASTER_PORT is not set/],
    [{ ...env, MASTER_PORT: '70000' }, /MASTER_PORT must be an integer in \[1, 65535\]/],
    [{ ...env, RANK: 'one' }, /RANK must be an integer/],
    [{ ...env, RANK: '2' }, /RANK \(2\) must be below WORLD_SIZE \(2\)/],
    [{ ...env, WORLD_SIZE: '0' }, /WORLD_SIZE must be an integer in \[1,/],
    [{ ...env, LOCAL_RANK: undefined }, /LOCAL_RANK is not set/],
    [{ ...env, LOCAL_RANK: '3' }, /LOCAL_RANK \(3\) cannot exceed RANK \(1\)/],
    [{ RANK: '0' }, /RANK is set but WORLD_SIZE is not/],
  ];
  for (const [bad, message] of cases) {
    const error = t.throws(() => readDistributedEnv(bad));
    t.true(isRexragError(error, 'ERR_INVALID_ARG'));
    t.regex(error!.message, message);
  }
});

test('the backend follows the device unless named, and local ranks split the cores', (t) => {
  t.is(resolveBackend('auto', 'cpu', true), 'gloo');
  t.is(resolveBackend('auto', 'cuda:0', true), 'nccl');
  t.is(resolveBackend('auto', 'cuda', false), 'gloo');
  t.is(resolveBackend('gloo', 'cuda', true), 'gloo');
  const rank = rankEnv({ PATH: '/bin' }, 1, 2, 1234);
  t.like(rank, { MASTER_ADDR: '127.0.0.1', MASTER_PORT: '1234', RANK: '1', LOCAL_RANK: '1', WORLD_SIZE: '2', PATH: '/bin' });
  t.true(Number(rank.REXRAG_NUM_THREADS) >= 1);
  t.is(rankEnv({ REXRAG_NUM_THREADS: '3' }, 0, 2, 1).REXRAG_NUM_THREADS, '3', 'a thread count set by the user is kept');
});

/** A scripted session whose answers depend on each call's sampling seed (so a wrong stream shows). */
function seededSession(tokenizer: CharTokenizer): GenerationSession {
  const state = { seed: 0 };
  const session = new ScriptedSession(tokenizer, ({ rowId, rowCall }) => (rowCall < 2 ? `<answer>${(state.seed + rowId) % 97}</answer>` : ''));
  const generate = session.generate.bind(session);
  session.generate = (rows, options) => {
    state.seed = options.seed ?? 0;
    return generate(rows, options);
  };
  return session;
}

test('ranks rolling out their cohorts, joined, give exactly one process\'s trajectories with cohorts × ranks', async (t) => {
  const tokenizer = new CharTokenizer();
  const questions = [1, 2, 3, 4, 5].map((id) => ({ id, question: `question ${id}`, golds: ['a'] }));
  const common = {
    tokenizer, retriever: new FakeRetriever(fakeHits), questions, groupSize: 2, seed: 7,
    createSession: () => seededSession(tokenizer),
    onAnswer: (context: { rowId: number }) => (context.rowId % 3 === 0 ? { promptTokens: tokenizer.encode('<think>') } : null),
  };
  const single = await runRolloutsInCohorts({ ...common, rollout: { cohorts: 4, maxTurns: 2 } });
  const parts: RankRollouts[] = [];
  for (const rank of [0, 1]) {
    const trajectories = await runRolloutsInCohorts({ ...common, rollout: { cohorts: 2, maxTurns: 2 }, shard: { rank, worldSize: 2 } });
    parts.push({ trajectories, rewards: trajectories.map((t) => t.rowId), oldLogps: trajectories.map(() => [0]), probesSkipped: rank });
  }
  t.true(parts.every((p) => p.trajectories.length > 0));
  const joined = joinRankRollouts(parts, 1);
  t.true(single.some((x) => x.isProbe), 'the runs have probes');
  t.deepEqual(joined.trajectories, single);
  t.is(joined.probesSkipped, 1);
  t.deepEqual(joined.local, joined.trajectories.map((x) => parts[1]!.trajectories.some((y) => y.questionId === x.questionId)));
  const sharded = await t.throwsAsync(runRolloutsInCohorts({ ...common, questions: questions.slice(0, 1), shard: { rank: 0, worldSize: 2 } }));
  t.regex(sharded!.message, /fewer than the 2 ranks/);
});

test('a rank\'s share of a batch keeps its rows with their global indices', (t) => {
  const batch = {
    ids: [[1, 2], [3, 4, 5], [6, 7]],
    lossMask: [[0, 1], [0, 1, 1], [0, 1]],
    behaviourLogps: [[0, -1], [0, -2, -3], [0, -4]],
    advantages: [1, -1, 0.5],
    sequenceRatio: [false, true, false],
  };
  t.deepEqual(localShare(batch, [false, true, true]), {
    ids: [[3, 4, 5], [6, 7]], lossMask: [[0, 1, 1], [0, 1]], advantages: [-1, 0.5], behaviourLogps: [[0, -2, -3], [0, -4]],
    sequenceRatio: [true, false], globalIndex: [1, 2], globalRows: 3,
  });
  t.throws(() => localShare(batch, [true]), { message: /1 flags but the batch has 3 rows/ });
});

test('each --nproc rank gets the command line without --nproc', (t) => {
  t.deepEqual(
    argvFromValues({ model: 'm', nproc: '2', set: ['steps=3', 'seed=1'], resume: true, reshard: false }, ['nproc']),
    ['--model', 'm', '--set', 'steps=3', '--set', 'seed=1', '--resume'],
  );
});
