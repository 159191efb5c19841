// Group fsync: writes that arrive while an fsync runs share the next one. Each completed
// fsync reports the highest position it covered; nothing is reported before its fsync ends.
export class GroupSync<P> {
  private written: P | undefined;
  private syncing = false;

  constructor(private readonly sync: () => Promise<void>, private readonly onDurable: (upTo: P) => void, private readonly onError: (err: Error) => void) {}

  /** Whether an fsync is running. */
  get busy(): boolean {
    return this.syncing;
  }

  /** Records that everything up to `position` has been written and must be made durable. */
  wrote(position: P): void {
    this.written = position;
    if (!this.syncing) void this.run();
  }

  private async run(): Promise<void> {
    this.syncing = true;
    try {
      while (this.written !== undefined) {
        const covered = this.written;
        this.written = undefined;
        await this.sync();
        this.onDurable(covered);
      }
    } catch (err) {
      this.onError(err as Error);
    } finally {
      this.syncing = false;
    }
  }
}
