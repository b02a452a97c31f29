/** Terminal helpers: colour only on a TTY, and a progress bar for long work. */

/** ANSI styling, only when the stream is a terminal and NO_COLOR is unset. */
export function styler(stream: { isTTY?: boolean }): {
  bold(s: string): string;
  red(s: string): string;
  green(s: string): string;
  dim(s: string): string;
} {
  const on = stream.isTTY === true && process.env.NO_COLOR === undefined;
  const wrap = (code: number, close: number) => (s: string) =>
    on ? `\u001b[${code}m${s}\u001b[${close}m` : s;
  return { bold: wrap(1, 22), red: wrap(31, 39), green: wrap(32, 39), dim: wrap(2, 22) };
}

/** A progress bar on stderr for work that runs longer than a second; silent when stderr is not a TTY. */
export class Progress {
  private readonly started = Date.now();
  private shown = false;
  private drawn = 0;
  /** Whether anything is drawn (stderr is a terminal). */
  readonly enabled: boolean;

  constructor(
    private readonly label: string,
    private total: number,
  ) {
    this.enabled = process.stderr.isTTY === true;
  }

  /** Show `done` of `total` (the total may be learnt on the way), and a note such as an event count. */
  update(done: number, total = this.total, note = ''): void {
    this.total = total;
    if (!this.enabled) return;
    // drawn after the first second, then at most ten times a second (a redraw per step would cost more
    // than a trivial step)
    const now = Date.now();
    if (now - this.started < 1000 || now - this.drawn < 100) return;
    this.drawn = now;
    this.shown = true;
    const width = 30;
    const filled = Math.round((done / Math.max(this.total, 1)) * width);
    process.stderr.write(
      `\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${this.total}${note}\u001b[K`,
    );
  }

  done(): void {
    if (this.shown) process.stderr.write(`\r${' '.repeat(this.label.length + 50)}\r`);
  }
}
