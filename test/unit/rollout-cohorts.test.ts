// Cohorts overlap one cohort's retrieval with another's generation and return what one loop would return.
import test from 'ava';

import type { GeneratedRow, SamplingOptions } from '../../lib/model/generation-types.js';
import { runRolloutsInCohorts } from '../../lib/rollout/cohorts.js';
import { runRollouts } from '../../lib/rollout/rollout-loop.js';
import type { SearchHit } from '../../lib/retrieval/types.js';
import { CharTokenizer } from '../helpers/char-tokenizer.js';
import { FakeRetriever, fakeHits } from '../helpers/fake-retriever.js';
import { ScriptedSession, type Script } from '../helpers/scripted-session.js';

const script: Script = ({ rowCall }) => (rowCall === 0 ? '<think>x</think><search>q</search>' : '<answer>a</answer>');
const questions = [1, 2, 3, 4].map((id) => ({ id, question: `question ${id}`, golds: ['a'] }));

/** A scripted session whose generate takes `ms`, one call at a time across sessions (like the torch queue). */
class SlowSession extends ScriptedSession {
  static tail: Promise<unknown> = Promise.resolve();
  constructor(tokenizer: CharTokenizer, private readonly log: { kind: string; start: number; end: number }[]) {
    super(tokenizer, script);
  }
  override generate(rowIds: number[], options: SamplingOptions): Promise<GeneratedRow[]> {
    const run = SlowSession.tail.then(async () => {
      const start = performance.now();
      await new Promise((resolve) => setTimeout(resolve, 40));
      const out = await super.generate(rowIds, options);
      this.log.push({ kind: 'generate', start, end: performance.now() });
      return out;
    });
    SlowSession.tail = run.catch(() => undefined);
    return run;
  }
}

test('a cohort searches while another cohort generates, and the trajectories match one plain loop', async (t) => {
  const tokenizer = new CharTokenizer();
  const log: { kind: string; start: number; end: number }[] = [];
  const retriever = new FakeRetriever();
  const slowRetriever = {
    async search(queries: string[], topk: number): Promise<SearchHit[][]> {
      const start = performance.now();
      await new Promise((resolve) => setTimeout(resolve, 60));
      const out = await retriever.search(queries, topk);
      log.push({ kind: 'search', start, end: performance.now() });
      return out;
    },
  };
  const sessions: ScriptedSession[] = [];
  const cohortOut = await runRolloutsInCohorts({
    createSession: () => {
      const session = new SlowSession(tokenizer, log);
      sessions.push(session);
      return session;
    },
    tokenizer, retriever: slowRetriever, questions, groupSize: 2, seed: 1, rollout: { cohorts: 2, maxTurns: 2 },
  });
  const overlaps = log.filter((a) => a.kind === 'search').some((s) =>
    log.some((g) => g.kind === 'generate' && g.start < s.end && s.start < g.end));
  t.true(overlaps, 'some search ran while a generate call was running');
  t.is(sessions.length, 2);
  t.true(sessions.every((s) => s.disposed));

  const plain = await runRollouts({ session: new ScriptedSession(tokenizer, script), tokenizer, retriever: new FakeRetriever(fakeHits), questions, groupSize: 2, seed: 1, rollout: { maxTurns: 2 } });
  const strip = (x: typeof plain) => x.map(({ rowId, questionId, responseTokens, components, answer, finishReason }) => ({ rowId, questionId, responseTokens, components, answer, finishReason }));
  t.deepEqual(strip(cohortOut), strip(plain));
});
