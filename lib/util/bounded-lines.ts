// Splits a byte stream into lines without ever holding more than `maxLineBytes` of one line: a longer line is
// reported (number and size) and its bytes are dropped as they arrive, so one huge line cannot exhaust memory
// (node:readline buffers a whole line however long). What to do with a long line is the caller's decision.

/** One line of the stream; `text` is undefined when the line was longer than the limit (its bytes were dropped). */
export interface BoundedLine {
  /** 1-based line number. */
  number: number;
  /** The line decoded as UTF-8, without its line break ("\n" or "\r\n"); undefined when it was too long. */
  text: string | undefined;
  /** Bytes the line occupied in the stream, its line break included. */
  bytes: number;
}

/**
 * Yields the lines of `chunks` (e.g. a fs.ReadStream without encoding), splitting on "\n" and dropping a "\r"
 * before it. A line over `maxLineBytes` bytes (line break excluded) is yielded with `text: undefined`; at most
 * `maxLineBytes` bytes of a line are ever buffered. A last line without a final line break is yielded too.
 */
export async function* readBoundedLines(chunks: AsyncIterable<Buffer | string>, maxLineBytes: number): AsyncGenerator<BoundedLine> {
  let pieces: Buffer[] = [];
  let length = 0; // bytes of the current line so far, kept or dropped
  let tooLong = false;
  let number = 0;
  const finish = (lineBreakBytes: number): BoundedLine => {
    number++;
    let text: string | undefined;
    if (!tooLong) {
      const line = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
      const end = line.length > 0 && line[line.length - 1] === 0x0d ? line.length - 1 : line.length;
      text = line.toString('utf8', 0, end);
    }
    const result = { number, text, bytes: length + lineBreakBytes };
    pieces = [];
    length = 0;
    tooLong = false;
    return result;
  };
  const take = (part: Buffer) => {
    if (part.length === 0) return;
    length += part.length;
    if (tooLong) return;
    // The limit excludes the "\r" of a "\r\n" break, which is still in the piece at this point.
    if (length > maxLineBytes + 1 || (length === maxLineBytes + 1 && part[part.length - 1] !== 0x0d)) {
      tooLong = true;
      pieces = [];
      return;
    }
    pieces.push(part);
  };
  for await (const raw of chunks) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
    let start = 0;
    for (let newline = chunk.indexOf(0x0a, start); newline >= 0; newline = chunk.indexOf(0x0a, start)) {
      take(chunk.subarray(start, newline));
      yield finish(1);
      start = newline + 1;
    }
    if (start < chunk.length) take(chunk.subarray(start));
  }
  if (length > 0) yield finish(0);
}
