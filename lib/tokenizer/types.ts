// What the rest of rexrag needs from a tokenizer; lib/tokenizer/hf-tokenizer.ts implements it over a folder's
// tokenizer.json.
import type { TemplateBudget } from './template-budget.js';

export interface TextTokenizer {
  /** Token ids of `text`, no special tokens added. Special-token strings in the text map to their ids. */
  encode(text: string): number[];
  /** Text of `ids`; special tokens are kept unless skipSpecialTokens. */
  decode(ids: number[], options?: { skipSpecialTokens?: boolean }): string;
  /** The raw bytes each token id stands for (byte-level BPE decoded), for native stop-string matching. */
  tokenBytes(): Uint8Array[];
  readonly vocabSize: number;
  readonly eosTokenIds: number[];
  readonly padTokenId: number;
  /** Renders the folder's chat template for a conversation (a Jinja template within `budget`: see template-budget.ts). */
  applyChatTemplate(messages: ChatMessage[], options?: { addGenerationPrompt?: boolean; budget?: Partial<TemplateBudget> }): string;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}
