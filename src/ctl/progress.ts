// A progress bar for long commands, drawn only when standard output is a terminal (as
// etcdctl's, "Bom !"-styled: count, bar, percentage, elapsed time); nothing otherwise, so
// piped output stays exactly etcdctl's lines.
const REDRAW_MS = 100;

export class ProgressBar {
  private current = 0;
  private drawnAt = 0;
  private readonly started = Date.now();

  private constructor(private readonly total: number, private readonly label: (n: number) => string) {}

  /** A bar when stdout is a terminal, else undefined. */
  static start(total: number, label: (n: number) => string = String): ProgressBar | undefined {
    if (!process.stdout.isTTY) return undefined;
    const bar = new ProgressBar(total, label);
    bar.draw();
    return bar;
  }

  add(n = 1): void {
    this.set(this.current + n);
  }

  set(n: number): void {
    this.current = Math.min(n, this.total);
    if (Date.now() - this.drawnAt >= REDRAW_MS) this.draw();
  }

  /** Draws the bar full and ends its line (`keep` false: erases it instead). */
  finish(keep = true): void {
    this.current = this.total;
    this.draw();
    process.stdout.write(keep ? '\n' : '\r\x1b[2K');
  }

  private draw(): void {
    this.drawnAt = Date.now();
    const counts = `${this.label(this.current)} / ${this.label(this.total)}`;
    const fraction = this.total ? this.current / this.total : 1;
    const tail = `${(fraction * 100).toFixed(2)}% ${Math.round((Date.now() - this.started) / 1000)}s`;
    const room = Math.max(10, (process.stdout.columns ?? 80) - counts.length - tail.length - 4);
    const filled = Math.round(fraction * room);
    const bar = 'B' + 'o'.repeat(Math.max(0, filled - 1)) + (filled ? 'm' : '') + ' '.repeat(room - filled) + '!';
    process.stdout.write(`\r${counts} ${bar} ${tail}`);
  }
}
