// Follows a metrics.jsonl that a run is still writing: each poll reads only the bytes added since the last one
// and returns the complete new lines. A half-written last line waits for its newline; a line that is not a JSON
// object with a numeric step is skipped and counted; a file that shrank or was replaced (a resumed run rewrites
// it) is read again from the start.
import { open, stat } from 'node:fs/promises';

import type { MetricLine } from '../report/metric-series.js';

export interface FollowedLines {
  /** New lines since the last poll (all lines after a reset). */
  lines: MetricLine[];
  /** The file was replaced or cut: `lines` is its whole content, to use instead of what came before. */
  reset: boolean;
}

/**
 * One metrics line from JSON text: the finite numbers of a JSON object that has a numeric `step`; undefined for
 * anything else (torn or foreign lines).
 */
export function parseMetricLine(text: string): MetricLine | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const entries = Object.entries(value as Record<string, unknown>).filter((entry): entry is [string, number] => typeof entry[1] === 'number' && Number.isFinite(entry[1]));
  const line = Object.fromEntries(entries);
  return typeof line.step === 'number' ? line : undefined;
}

export class MetricsFollower {
  private offset = 0;
  private inode = -1;
  private partial = Buffer.alloc(0);
  /** Complete lines skipped because they were not metrics lines. */
  skipped = 0;

  constructor(readonly path: string) {}

  /** Reads what was appended since the last call (nothing when the file does not exist yet). */
  async poll(): Promise<FollowedLines> {
    let info;
    try {
      info = await stat(this.path);
    } catch {
      return { lines: [], reset: false };
    }
    let reset = false;
    if (info.ino !== this.inode || info.size < this.offset) {
      reset = this.inode !== -1;
      this.inode = info.ino;
      this.offset = 0;
      this.partial = Buffer.alloc(0);
      this.skipped = 0;
    }
    if (info.size === this.offset) return { lines: [], reset };
    const handle = await open(this.path, 'r');
    let chunk: Buffer;
    try {
      chunk = Buffer.alloc(info.size - this.offset);
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, this.offset);
      chunk = chunk.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
    this.offset += chunk.length;
    // Split on bytes, so a multi-byte character cut by a write in progress stays whole in `partial`.
    const data = Buffer.concat([this.partial, chunk]);
    const end = data.lastIndexOf(0x0a);
    this.partial = Buffer.from(end < 0 ? data : data.subarray(end + 1));
    const lines: MetricLine[] = [];
    if (end >= 0) {
      for (const text of data.subarray(0, end).toString('utf8').split('\n')) {
        if (text.trim() === '') continue;
        const line = parseMetricLine(text);
        if (line) lines.push(line);
        else this.skipped++;
      }
    }
    return { lines, reset };
  }
}
