// A tiny TextTokenizer for tests: one token per UTF-8 byte (ids 0..255), three ChatML special tokens, and
// optional multi-character tokens (greedy longest match) to exercise tags that start or end inside a token.
import type { ChatMessage, TextTokenizer } from '../../lib/tokenizer/types.js';

export const IM_START = 256;
export const IM_END = 257;
export const END_OF_TEXT = 258;
const SPECIALS = ['<|im_start|>', '<|im_end|>', '<|endoftext|>'];

export class CharTokenizer implements TextTokenizer {
  readonly eosTokenIds = [IM_END, END_OF_TEXT];
  readonly padTokenId = END_OF_TEXT;
  readonly vocabSize: number;
  /** Multi-byte entries (specials and extras) by id, longest first for matching. */
  private readonly pieces: { id: number; text: string; special: boolean }[];
  private readonly bytes: Uint8Array[];

  /** `extraTokens` get ids 259, 260, ... in order. */
  constructor(readonly extraTokens: string[] = []) {
    const entries = [
      ...SPECIALS.map((text, i) => ({ id: 256 + i, text, special: true })),
      ...extraTokens.map((text, i) => ({ id: 259 + i, text, special: false })),
    ];
    this.vocabSize = 259 + extraTokens.length;
    this.pieces = [...entries].sort((a, b) => b.text.length - a.text.length);
    this.bytes = [];
    for (let b = 0; b < 256; b++) this.bytes.push(Uint8Array.of(b));
    for (const entry of entries) this.bytes.push(new Uint8Array(Buffer.from(entry.text, 'utf8')));
  }

  /** The id of an extra token. */
  idOf(text: string): number {
    const index = this.extraTokens.indexOf(text);
    if (index < 0) throw new Error(`no extra token ${JSON.stringify(text)}`);
    return 259 + index;
  }

  encode(text: string): number[] {
    const ids: number[] = [];
    let i = 0;
    while (i < text.length) {
      const piece = this.pieces.find((p) => text.startsWith(p.text, i));
      if (piece) {
        ids.push(piece.id);
        i += piece.text.length;
        continue;
      }
      const codePoint = text.codePointAt(i)!;
      const char = String.fromCodePoint(codePoint);
      for (const byte of Buffer.from(char, 'utf8')) ids.push(byte);
      i += char.length;
    }
    return ids;
  }

  decode(ids: number[], options: { skipSpecialTokens?: boolean } = {}): string {
    const parts: Buffer[] = [];
    for (const id of ids) {
      if (options.skipSpecialTokens && id >= 256 && id < 259) continue;
      parts.push(Buffer.from(this.bytes[id]!));
    }
    return Buffer.concat(parts).toString('utf8');
  }

  tokenBytes(): Uint8Array[] {
    return this.bytes.slice();
  }

  applyChatTemplate(messages: ChatMessage[], options: { addGenerationPrompt?: boolean } = {}): string {
    let text = '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n';
    for (const message of messages) text += `<|im_start|>${message.role}\n${message.content}<|im_end|>\n`;
    if (options.addGenerationPrompt) text += '<|im_start|>assistant\n';
    return text;
  }
}
