// A one-line progress bar for stderr, drawn only when stderr is a TTY and redrawn at most ~10 times a second.
// Commands feed it fractions; it knows nothing about what is being measured.

const WIDTH = 28;

/** A progress bar on a stream; every method is a no-op when the stream is not a TTY. */
export class ProgressBar {
  private lastDraw = 0;
  private drawn = false;
  private readonly enabled: boolean;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.enabled = stream.isTTY === true;
  }

  /** Draws `label` with a bar filled to `fraction` (clamped to [0, 1]) and a `detail` text after it. */
  update(label: string, fraction: number, detail = '', force = false): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const clamped = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
    const filled = Math.round(clamped * WIDTH);
    const bar = `${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}`;
    const line = `${label} [${bar}] ${(clamped * 100).toFixed(1).padStart(5)}% ${detail}`;
    const columns = this.stream.columns || 100;
    this.stream.write(`\r${line.slice(0, Math.max(10, columns - 1))}\x1b[K`);
    this.drawn = true;
  }

  /** Ends the bar's line so that later output starts on a fresh one. */
  done(): void {
    if (this.enabled && this.drawn) this.stream.write('\n');
    this.drawn = false;
  }

  /** Writes a message on its own line without breaking the bar. */
  message(text: string): void {
    if (this.enabled && this.drawn) this.stream.write('\r\x1b[K');
    this.stream.write(`${text}\n`);
    this.drawn = false;
  }
}
