// The multi-turn Search-R1 rollout loop (REX-RAG's run_llm_loop) over a GenerationSession: per turn, one batched
// generate call for every active row (stopping on </search>, </answer> or EOS), one batched retrieval for every
// search, observations appended as masked tokens, a final turn without search, and a hook where REX-RAG probes
// are cloned. Rewards, advantages and the choice of probe prompts are left to the caller.
import { parseConfig } from '../config/resolve-config.js';
import { mixSeed } from '../util/random.js';
import { rolloutConfigSchema, type RolloutConfig } from '../config/rollout-config.js';
import { RexragError } from '../errors.js';
import type { GeneratedRow, SamplingOptions } from '../model/generation-types.js';
import type { SearchHit } from '../retrieval/types.js';
import { describe, expectArray, expectInteger, expectObject, expectString, expectTokenIds } from '../validate.js';
import { ACTION_STOP_STRINGS, findFirstActionBlock, type ActionKind } from './actions.js';
import { COMPONENT, lossMaskFromComponents } from '../algo/components.js';
import { informationObservation, invalidActionNotice } from './observation.js';
import type {
  FinishReason,
  ProbeContext,
  RolloutEvent,
  RolloutOptions,
  RolloutQuestion,
  Trajectory,
} from './rollout-types.js';
import { buildPromptMessages } from './search-r1-prompt.js';
import { TokenByteText, tokenAtByte, utf8Of, type BinaryText } from './token-text.js';

type TurnOutcome =
  | {
      kind: 'action';
      action: ActionKind;
      content: string;
      /** Response indices: the token holding the block's '<', and one past the token holding its last '>'. */
      startToken: number;
      endToken: number;
      textLostBeforeAnswer: string;
    }
  | { kind: 'eos' | 'length' | 'context' };

/** A trajectory while it is being generated. */
interface Row {
  id: number;
  sessionRowId: number;
  /** Tokens the session holds for the row; more than promptTokens + response after tokens were dropped. */
  sessionLength: number;
  released: boolean;
  question: RolloutQuestion;
  promptTokens: number[];
  response: number[];
  components: number[];
  sampledLogprobs: number[];
  modelLogprobs: number[];
  turns: number;
  searches: string[];
  answer: string | null;
  finish: FinishReason | null;
  isProbe: boolean;
  probeOf: number | null;
  probePromptStart: number | null;
  /** Response index where the current turn's model tokens start (the turn's token budget counts from here). */
  turnStart: number;
  /**
   * Response index from which the current turn's text is read for its action: turnStart, except in a probe's
   * first turn, where it is the spliced prompt's start, so a prompt that opens an action (`<search>`) is
   * completed by the model's tokens rather than leaving an orphan closing tag.
   */
  actionStart: number;
  /** Set on a probe until its first turn: where its spliced prompt starts. */
  splicedPromptStart: number | null;
  outcome: TurnOutcome | null;
}

interface Settings extends RolloutConfig {
  options: RolloutOptions;
  sampling: Omit<SamplingOptions, 'stopStrings' | 'maxNewTokens'>;
}

/**
 * Runs Search-R1 rollouts for a batch of questions, `groupSize` rows each, and returns every trajectory
 * (originals first, then probes).
 *
 * Per turn (turns 0..maxTurns−1, then one final turn):
 * - every active row generates in ONE `session.generate` call, with stop strings `</search>` and `</answer>` and
 *   the EOS ids; the call's seed mixes (seed, cohort stream, index of the call in this loop) through splitmix64,
 *   so turns, cohorts and nearby seeds draw unrelated numbers and a rerun is identical;
 * - the turn's text is parsed for the first complete `<(search|answer)>…</\1>` block. A row that stopped on a
 *   closing tag without its opening tag (an orphan) keeps generating in follow-up calls (all such rows together)
 *   until a complete block, EOS or the per-turn budget;
 * - answer: the row is done. search: the queries of all rows go to the retriever in ONE `search` call, issued as
 *   soon as the turn's generation is over; the observation (`\n\n<information>…</information>\n\n`, tokenised,
 *   capped to maxObservationTokens) is appended with component 'information'. Budget used without a block: the
 *   invalid-action notice is appended (component 'invalid'). EOS without a block: the row ends ('eos'), or with
 *   `onEosWithoutAction: 'notice'` (the reference's behaviour) the EOS is dropped and the notice appended;
 * - in the final turn nothing is executed or appended: a search ends the row with 'max-turns', an exhausted
 *   budget with 'length'.
 *
 * Differences from the reference loop, on purpose:
 * - tokens are never re-tokenised: the trained tokens are exactly the sampled ones. Generation stops at the
 *   closing tag, so nothing follows the first complete block; if a session ever returns tokens past it (a stop
 *   string split across two calls) or past a row's limit, they are dropped from the trajectory, the session row
 *   is re-cloned without them before anything is appended, and a 'tokens-dropped' event says so;
 * - the bytes after the closing tag inside the stopping token (e.g. a token `>\n`) stay in the response;
 * - EOS is kept as the last model token and ends the row (the reference drops special tokens and continues);
 * - actions are parsed on the tokens' exact bytes (the tokenizer's tokenBytes table, the bytes native stop
 *   strings are matched on), so every tag maps to the token that holds it;
 * - neither the prompt nor the context is ever left-truncated (rows hold KV caches): a row whose prompt +
 *   response reaches maxContextTokens ends with 'context', and an observation or probe prompt that would leave no
 *   room to generate is not appended (the row ends with 'context', the probe is skipped).
 *
 * Probing (REX-RAG): when an original row answers in turns 0..maxTurns−1, `onAnswer` is awaited with the cut
 * point. If it returns `{promptTokens}`, the row is cloned up to the token holding the '<' of `<answer>`
 * (`session.clone(row, keepTokens)`), the prompt tokens are appended as 'probe-prompt' (sampled log-probs 0),
 * and the clone joins the next turn as a probe in the same group. Hooks run one at a time, in row order.
 *
 * A retriever failure rejects with the retriever's own error; every session row this call created and has not
 * released yet is then released.
 */
export async function runRollouts(options: RolloutOptions): Promise<Trajectory[]> {
  const rollout = parseConfig(rolloutConfigSchema, options.rollout ?? {}, 'options.rollout');
  return runRolloutLoop(options, rollout);
}

/**
 * runRollouts with an already parsed rollout section (callers that parsed it once, e.g. the cohort runner).
 * `stream` numbers concurrent loops sharing one seed (cohorts), so their generate calls draw different numbers.
 */
export async function runRolloutLoop(options: RolloutOptions, rollout: RolloutConfig, stream = 0): Promise<Trajectory[]> {
  return new RolloutLoop(checkOptions(options, rollout), stream).run();
}

class RolloutLoop {
  private readonly rows: Row[] = [];
  private readonly bytes: TokenByteText;
  private calls = 0;

  constructor(
    private readonly settings: Settings,
    private readonly stream: number,
  ) {
    this.bytes = new TokenByteText(settings.options.tokenizer.tokenBytes());
  }

  async run(): Promise<Trajectory[]> {
    try {
      this.addQuestions();
      for (let turn = 0; turn <= this.settings.maxTurns; turn++) {
        const active = this.rows.filter((row) => row.finish === null);
        if (active.length === 0) break;
        const final = turn === this.settings.maxTurns;
        this.emit({ type: 'turn', turn, final, activeRows: active.length });
        const generated = await this.generateTurn(turn, active);
        await this.act(turn, generated, final);
        this.releaseFinished();
      }
      return this.rows.map((row) => this.toTrajectory(row));
    } catch (error) {
      this.releaseAfterError();
      throw error;
    }
  }

  private addQuestions(): void {
    const { session, tokenizer, questions, groupSize } = this.settings.options;
    for (const question of questions) {
      const promptText = tokenizer.applyChatTemplate(buildPromptMessages(question.question, this.settings.promptTemplate), { addGenerationPrompt: true });
      const promptTokens = tokenizer.encode(promptText);
      if (promptTokens.length >= this.settings.maxContextTokens) {
        throw new RexragError(
          `question ${JSON.stringify(question.id)}: its prompt is ${promptTokens.length} tokens, which leaves no room to generate ` +
            `within rollout.maxContextTokens (${this.settings.maxContextTokens})`,
          'ERR_INVALID_ARG',
        );
      }
      for (let member = 0; member < groupSize; member++) {
        this.rows.push({
          id: this.rows.length,
          sessionRowId: session.addRow([...promptTokens]),
          sessionLength: promptTokens.length,
          released: false,
          question,
          promptTokens: [...promptTokens],
          response: [],
          components: [],
          sampledLogprobs: [],
          modelLogprobs: [],
          turns: 0,
          searches: [],
          answer: null,
          finish: null,
          isProbe: false,
          probeOf: null,
          probePromptStart: null,
          turnStart: 0,
          actionStart: 0,
          splicedPromptStart: null,
          outcome: null,
        });
      }
    }
  }

  /** Generates one turn for `rows`; returns the rows that generated (each with its outcome). */
  private async generateTurn(turn: number, rows: Row[]): Promise<Row[]> {
    const { session } = this.settings.options;
    let pending = rows.filter((row) => {
      if (this.length(row) < this.settings.maxContextTokens) return true;
      this.finish(row, 'context', turn);
      return false;
    });
    const generated = [...pending];
    for (const row of pending) {
      row.turnStart = row.response.length;
      row.actionStart = row.splicedPromptStart ?? row.turnStart;
      row.splicedPromptStart = null;
      row.turns++;
      row.outcome = null;
    }
    let followUp = false;
    while (pending.length > 0) {
      const allowances = pending.map((row) => this.allowance(row));
      const maxNewTokens = allowances.reduce((most, allowance) => Math.max(most, allowance), 1);
      const call = this.calls++;
      this.emit({ type: 'generate', turn, call, rows: pending.length, maxNewTokens, followUp });
      const results = await session.generate(
        pending.map((row) => row.sessionRowId),
        {
          ...this.settings.sampling,
          seed: mixSeed(this.settings.sampling.seed, this.stream, call),
          maxNewTokens,
          stopStrings: [...ACTION_STOP_STRINGS],
        },
      );
      const byRow = new Map<number, GeneratedRow>();
      for (const result of expectArray(results, 'generate() result') as GeneratedRow[]) byRow.set(result.rowId, result);
      const next: Row[] = [];
      pending.forEach((row, i) => {
        const result = byRow.get(row.sessionRowId);
        if (result === undefined || result.tokens.length === 0) {
          const what = result ? 'no tokens' : 'no result';
          throw new RexragError(`generate() returned ${what} for session row ${row.sessionRowId}`, 'ERR_NATIVE');
        }
        if (this.absorb(row, result, allowances[i]!, turn)) next.push(row);
      });
      pending = next;
      followUp = true;
    }
    return generated;
  }

  /** New tokens a row may still generate this turn: its turn budget and its context room, whichever is less. */
  private allowance(row: Row): number {
    const usedThisTurn = row.response.length - row.turnStart;
    return Math.min(
      this.settings.maxResponseTokensPerTurn - usedThisTurn,
      this.settings.maxContextTokens - this.length(row),
    );
  }

  /** Records one generate result; returns true when the row must keep generating in this turn. */
  private absorb(row: Row, result: GeneratedRow, allowance: number, turn: number): boolean {
    row.sessionLength += result.tokens.length;
    const kept = Math.min(result.tokens.length, allowance);
    for (let k = 0; k < kept; k++) {
      row.response.push(result.tokens[k]!);
      row.components.push(COMPONENT.model);
      row.sampledLogprobs.push(result.logprobs[k]!);
      row.modelLogprobs.push(result.modelLogprobs[k]!);
    }
    const text = this.bytes.binary(row.response.slice(row.actionStart));
    row.outcome = this.parseTurn(row, text);
    if (row.outcome !== null) {
      if (row.outcome.kind === 'action') this.truncate(row, row.outcome.endToken);
    } else if (kept === result.tokens.length && result.stopReason === 'eos') {
      row.outcome = { kind: 'eos' };
    } else if (this.length(row) >= this.settings.maxContextTokens) {
      row.outcome = { kind: 'context' };
    } else if (row.response.length - row.turnStart >= this.settings.maxResponseTokensPerTurn) {
      row.outcome = { kind: 'length' };
    }
    const dropped = row.sessionLength - this.length(row);
    if (dropped > 0) this.emit({ type: 'tokens-dropped', turn, rowId: row.id, tokens: dropped });
    // No outcome yet: the row stopped on an orphan closing tag; it goes on in a follow-up call.
    return row.outcome === null;
  }

  /** The first complete action block of the turn's text, located in tokens. */
  private parseTurn(row: Row, text: BinaryText): TurnOutcome | null {
    // The binary text has one char per byte; the tags are ASCII, so offsets are byte offsets.
    const block = findFirstActionBlock(text.text);
    if (block === null) return null;
    const startToken = tokenAtByte(text.starts, block.start);
    const inner = text.text.slice(block.start + block.action.length + 2, block.end - block.action.length - 3);
    return {
      kind: 'action',
      action: block.action,
      content: utf8Of(inner).trim(),
      startToken: row.actionStart + startToken,
      endToken: row.actionStart + tokenAtByte(text.starts, block.end - 1) + 1,
      textLostBeforeAnswer: utf8Of(text.text.slice(text.starts[startToken], block.start)),
    };
  }

  /** Executes the turn's actions: answers, one batched search, invalid notices, probes. */
  private async act(turn: number, rows: Row[], final: boolean): Promise<void> {
    const searching: Row[] = [];
    const answered: Row[] = [];
    const invalid: Row[] = [];
    for (const row of rows) {
      const outcome = row.outcome!;
      if (outcome.kind === 'action' && outcome.action === 'search') {
        row.searches.push(outcome.content);
        if (final) this.finish(row, 'max-turns', turn);
        else searching.push(row);
      } else if (outcome.kind === 'action') {
        row.answer = outcome.content;
        this.finish(row, 'answer', turn);
        if (!final && !row.isProbe) answered.push(row);
      } else if (outcome.kind === 'length' && !final) {
        invalid.push(row);
      } else if (outcome.kind === 'eos' && !final && this.settings.onEosWithoutAction === 'notice') {
        // As the reference, which decodes turns without special tokens: the EOS goes, the notice follows.
        this.truncate(row, row.response.length - 1);
        this.emit({ type: 'tokens-dropped', turn, rowId: row.id, tokens: 1 });
        invalid.push(row);
      } else {
        this.finish(row, outcome.kind, turn);
      }
    }

    // The search starts now; the bookkeeping below overlaps with it.
    const search = searching.length > 0 ? this.startSearch(turn, searching) : null;
    for (const row of answered) await this.maybeProbe(row, turn);
    const notice = this.settings.options.tokenizer.encode(invalidActionNotice(this.settings.invalidNotice));
    for (const row of invalid) this.appendObservation(row, notice, COMPONENT.invalid, turn);
    if (search === null) return;
    const outcome = await search;
    if (!outcome.ok) throw outcome.error;
    const { tokenizer } = this.settings.options;
    searching.forEach((row, i) => {
      const observation = tokenizer.encode(informationObservation(outcome.hits[i]!));
      this.appendObservation(row, observation, COMPONENT.information, turn);
    });
  }

  /** Issues one batched search; the promise never rejects (a failure is returned, so it is never unhandled). */
  private startSearch(
    turn: number,
    rows: Row[],
  ): Promise<{ ok: true; hits: SearchHit[][] } | { ok: false; error: unknown }> {
    const queries = rows.map((row) => row.searches[row.searches.length - 1]!);
    this.emit({ type: 'search', turn, queries: queries.length });
    let pending: Promise<SearchHit[][]>;
    try {
      pending = this.settings.options.retriever.search(queries, this.settings.topk);
    } catch (error) {
      pending = Promise.reject(error);
    }
    return Promise.resolve(pending).then(
      (hits) => {
        if (!Array.isArray(hits) || hits.length !== queries.length || !hits.every((list) => Array.isArray(list))) {
          return {
            ok: false as const,
            error: new RexragError(
              `the retriever returned ${describe(hits)} for ${queries.length} queries; expected one list of hits per query`,
              'ERR_RETRIEVER',
            ),
          };
        }
        return { ok: true as const, hits };
      },
      (error: unknown) => ({ ok: false as const, error }),
    );
  }

  /** Appends an observation (capped) unless it would leave no room to generate; then the row ends instead. */
  private appendObservation(row: Row, tokens: number[], component: number, turn: number): void {
    let kept = tokens;
    if (tokens.length > this.settings.maxObservationTokens) {
      kept = tokens.slice(0, this.settings.maxObservationTokens);
      this.emit({ type: 'observation-truncated', turn, rowId: row.id, tokens: tokens.length, kept: kept.length });
    }
    if (this.length(row) + kept.length >= this.settings.maxContextTokens) {
      this.finish(row, 'context', turn);
      return;
    }
    this.resync(row);
    this.settings.options.session.append(row.sessionRowId, kept);
    row.sessionLength += kept.length;
    for (const token of kept) {
      row.response.push(token);
      row.components.push(component);
      row.sampledLogprobs.push(0);
      row.modelLogprobs.push(0);
    }
  }

  /** Asks the probe hook about an original row's answer and clones the row when it says so. */
  private async maybeProbe(row: Row, turn: number): Promise<void> {
    const { onAnswer, session, tokenizer } = this.settings.options;
    if (!onAnswer || row.outcome?.kind !== 'action') return;
    const outcome = row.outcome;
    const context: ProbeContext = {
      rowId: row.id,
      questionId: row.question.id,
      groupId: row.question.id,
      question: row.question.question,
      golds: row.question.golds,
      turn,
      answer: outcome.content,
      answerStart: outcome.startToken,
      answerStartInRow: row.promptTokens.length + outcome.startToken,
      textLostBeforeAnswer: outcome.textLostBeforeAnswer,
      responseTokens: [...row.response],
    };
    const decision = await onAnswer(context);
    if (decision === null || decision === undefined) return;
    expectObject(decision, 'onAnswer() result');
    const promptTokens = expectTokenIds(decision.promptTokens, 'onAnswer() result.promptTokens', tokenizer.vocabSize);
    if (promptTokens.length === 0) throw new RangeError('onAnswer() result.promptTokens must not be empty');
    const keep = context.answerStartInRow;
    if (keep + promptTokens.length >= this.settings.maxContextTokens) {
      this.emit({ type: 'probe-skipped', turn, probeOf: row.id, reason: 'context' });
      return;
    }
    const sessionRowId = session.clone(row.sessionRowId, keep);
    const probe: Row = {
      id: this.rows.length,
      sessionRowId,
      sessionLength: keep,
      released: false,
      question: row.question,
      promptTokens: [...row.promptTokens],
      response: row.response.slice(0, outcome.startToken),
      components: row.components.slice(0, outcome.startToken),
      sampledLogprobs: row.sampledLogprobs.slice(0, outcome.startToken),
      modelLogprobs: row.modelLogprobs.slice(0, outcome.startToken),
      turns: row.turns,
      searches: [...row.searches],
      answer: null,
      finish: null,
      isProbe: true,
      probeOf: row.id,
      probePromptStart: outcome.startToken,
      turnStart: outcome.startToken,
      actionStart: outcome.startToken,
      splicedPromptStart: outcome.startToken,
      outcome: null,
    };
    this.rows.push(probe);
    session.append(sessionRowId, [...promptTokens]);
    probe.sessionLength += promptTokens.length;
    for (const token of promptTokens) {
      probe.response.push(token);
      probe.components.push(COMPONENT['probe-prompt']);
      probe.sampledLogprobs.push(0);
      probe.modelLogprobs.push(0);
    }
    this.emit({ type: 'probe', turn, rowId: probe.id, probeOf: row.id, promptTokens: promptTokens.length });
  }

  /** Drops response tokens from `length` on (the session row keeps them until resync). */
  private truncate(row: Row, length: number): void {
    row.response.length = length;
    row.components.length = length;
    row.sampledLogprobs.length = length;
    row.modelLogprobs.length = length;
  }

  /** Makes the session row hold exactly the trajectory's tokens again, by re-cloning it without the dropped ones. */
  private resync(row: Row): void {
    const length = this.length(row);
    if (row.sessionLength === length) return;
    const { session } = this.settings.options;
    const fresh = session.clone(row.sessionRowId, length);
    session.release([row.sessionRowId]);
    row.sessionRowId = fresh;
    row.sessionLength = length;
  }

  private finish(row: Row, reason: FinishReason, turn: number): void {
    row.finish = reason;
    this.emit({ type: 'row-finished', turn, rowId: row.id, reason });
  }

  private releaseFinished(): void {
    const done = this.rows.filter((row) => row.finish !== null && !row.released);
    if (done.length === 0) return;
    this.settings.options.session.release(done.map((row) => row.sessionRowId));
    for (const row of done) row.released = true;
  }

  /** Best effort after a failure: the original error is what the caller gets. */
  private releaseAfterError(): void {
    const live = this.rows.filter((row) => !row.released);
    try {
      if (live.length > 0) this.settings.options.session.release(live.map((row) => row.sessionRowId));
    } catch {
      // the session may itself be the failure (e.g. disposed); nothing more to free
    }
    for (const row of live) row.released = true;
  }

  private length(row: Row): number {
    return row.promptTokens.length + row.response.length;
  }

  private emit(event: RolloutEvent): void {
    this.settings.options.onEvent?.(event);
  }

  private toTrajectory(row: Row): Trajectory {
    return {
      rowId: row.id,
      questionId: row.question.id,
      groupId: row.question.id,
      golds: [...row.question.golds],
      ...(row.question.dataSource !== undefined ? { dataSource: row.question.dataSource } : {}),
      promptTokens: row.promptTokens,
      responseTokens: row.response,
      components: row.components,
      lossMask: lossMaskFromComponents(row.components),
      sampledLogprobs: row.sampledLogprobs,
      modelLogprobs: row.modelLogprobs,
      responseText: this.settings.options.tokenizer.decode(row.response),
      turns: row.turns,
      searches: row.searches,
      answer: row.answer,
      // Every row ends by the final turn; 'max-turns' is only a guard.
      finishReason: row.finish ?? 'max-turns',
      isProbe: row.isProbe,
      probeOf: row.probeOf,
      probePromptStart: row.probePromptStart,
    };
  }
}

function checkOptions(options: RolloutOptions, rollout: RolloutConfig): Settings {
  expectObject(options, 'options');
  for (const name of ['session', 'tokenizer', 'retriever'] as const) expectObject(options[name], `options.${name}`);
  const questions = expectArray(options.questions, 'options.questions') as RolloutQuestion[];
  const seen = new Set<string>();
  questions.forEach((question, i) => {
    expectObject(question, `options.questions[${i}]`);
    const id = question.id;
    if (typeof id !== 'string' && !(typeof id === 'number' && Number.isFinite(id))) {
      throw new TypeError(`options.questions[${i}].id must be a string or a finite number, got ${describe(id)}`);
    }
    const key = `${typeof id}:${id}`;
    if (seen.has(key)) {
      throw new RangeError(`options.questions[${i}].id ${JSON.stringify(id)} is not unique; question ids are GRPO group ids`);
    }
    seen.add(key);
    expectString(question.question, `options.questions[${i}].question`, { nonEmpty: true });
    expectArray(question.golds, `options.questions[${i}].golds`).forEach((gold, j) =>
      expectString(gold, `options.questions[${i}].golds[${j}]`),
    );
  });
  for (const hook of ['onEvent', 'onAnswer'] as const) {
    if (options[hook] !== undefined && typeof options[hook] !== 'function') {
      throw new TypeError(`options.${hook} must be a function, got ${describe(options[hook])}`);
    }
  }
  expectInteger(options.groupSize, 'options.groupSize', { min: 1 });
  const { temperature, topP, topK } = rollout;
  const seed = expectInteger(options.seed, 'options.seed', { min: 0 });
  return { ...rollout, options, sampling: { temperature, topP, topK, seed, eosTokenIds: options.tokenizer.eosTokenIds } };
}
