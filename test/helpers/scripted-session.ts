// A scripted GenerationSession for rollout tests: each generate() asks a script what each row "writes" next,
// then emits those tokens one at a time under the contract's rules (stop strings matched in the call's new bytes,
// EOS included in the tokens, maxNewTokens). When the script's text runs out, it pads with a filler token.
// It records every call so tests can count them.
import type { GeneratedRow, GenerationSession, SamplingOptions } from '../../lib/model/generation-types.js';
import type { CharTokenizer } from './char-tokenizer.js';

export interface ScriptInput {
  rowId: number;
  /** decode(all tokens of the row), prompt included. */
  text: string;
  tokens: readonly number[];
  /** How many generate calls this row took part in before this one. */
  rowCall: number;
}

export type Script = (input: ScriptInput) => string;

/** The fake sampled and model log-probs of the token at row position `position`. */
export function fakeLogprobs(token: number, position: number): { logprob: number; modelLogprob: number } {
  const logprob = -((token % 7) + 1) / 10 - position / 10000;
  return { logprob, modelLogprob: logprob - 0.05 };
}

export class ScriptedSession implements GenerationSession {
  private readonly rows = new Map<number, number[]>();
  private readonly rowCalls = new Map<number, number>();
  private nextId = 0;
  readonly released = new Set<number>();
  readonly generateCalls: { rowIds: number[]; options: SamplingOptions }[] = [];
  readonly appendCalls: { rowId: number; tokens: number[] }[] = [];
  readonly cloneCalls: { rowId: number; keepTokens: number | undefined; newRowId: number }[] = [];
  disposed = false;

  constructor(
    private readonly tokenizer: CharTokenizer,
    private readonly script: Script,
    private readonly filler = '.',
  ) {}

  addRow(promptTokens: number[]): number {
    if (promptTokens.length === 0) throw new RangeError('promptTokens must not be empty');
    const id = this.nextId++;
    this.rows.set(id, [...promptTokens]);
    return id;
  }

  append(rowId: number, tokens: number[]): void {
    this.row(rowId).push(...tokens);
    this.appendCalls.push({ rowId, tokens: [...tokens] });
  }

  clone(rowId: number, keepTokens?: number): number {
    const source = this.row(rowId);
    const keep = keepTokens ?? source.length;
    if (keep < 1 || keep > source.length) throw new RangeError(`keepTokens ${keep} out of range for row ${rowId}`);
    const id = this.nextId++;
    this.rows.set(id, source.slice(0, keep));
    this.cloneCalls.push({ rowId, keepTokens, newRowId: id });
    return id;
  }

  tokens(rowId: number): number[] {
    return [...this.row(rowId)];
  }

  async generate(rowIds: number[], options: SamplingOptions): Promise<GeneratedRow[]> {
    this.generateCalls.push({ rowIds: [...rowIds], options: { ...options, stopStrings: [...options.stopStrings] } });
    const fillerId = this.tokenizer.encode(this.filler)[0]!;
    const bytes = this.tokenizer.tokenBytes();
    return rowIds.map((rowId) => {
      const row = this.row(rowId);
      const rowCall = this.rowCalls.get(rowId) ?? 0;
      this.rowCalls.set(rowId, rowCall + 1);
      const planned = this.tokenizer.encode(this.script({ rowId, text: this.tokenizer.decode(row), tokens: [...row], rowCall }));
      const result: GeneratedRow = { rowId, tokens: [], logprobs: [], modelLogprobs: [], stopReason: 'length' };
      let newBytes = '';
      for (let k = 0; k < options.maxNewTokens; k++) {
        const token = planned[k] ?? fillerId;
        const { logprob, modelLogprob } = fakeLogprobs(token, row.length);
        row.push(token);
        result.tokens.push(token);
        result.logprobs.push(logprob);
        result.modelLogprobs.push(modelLogprob);
        if (options.eosTokenIds.includes(token)) {
          result.stopReason = 'eos';
          break;
        }
        const tokenText = Buffer.from(bytes[token]!).toString('latin1');
        newBytes += tokenText;
        // A stop string counts when this token's bytes complete it.
        const stop = options.stopStrings.find((s) => {
          const from = Math.max(0, newBytes.length - tokenText.length - s.length + 1);
          return newBytes.indexOf(s, from) >= 0;
        });
        if (stop !== undefined) {
          result.stopReason = 'stop';
          result.stopString = stop;
          break;
        }
      }
      return result;
    });
  }

  release(rowIds: number[]): void {
    for (const id of rowIds) {
      this.row(id);
      this.rows.delete(id);
      this.released.add(id);
    }
  }

  dispose(): void {
    this.disposed = true;
    this.rows.clear();
  }

  /** Rows currently held. */
  liveRows(): number[] {
    return [...this.rows.keys()];
  }

  private row(rowId: number): number[] {
    const row = this.rows.get(rowId);
    if (row === undefined) throw new Error(`row ${rowId} does not exist (released: ${this.released.has(rowId)})`);
    return row;
  }
}
