/**
 * Splits a byte stream into text lines ("\n" or "\r\n"), with a cap on one line's size so a
 * program that writes without newlines cannot grow our memory without bound. Used for stderr
 * (each line goes to the task's log) and for the line protocol's stdout.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private overflowed = false;

  /**
   * @param onLine called with each complete line (without its newline)
   * @param maxLineBytes longest line kept; beyond it `onOverflow` is called once per line and the rest of that line is dropped
   */
  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLineBytes: number,
    private readonly onOverflow: (bytes: number) => void = () => {},
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) {
        this.add(chunk.subarray(start));
        return;
      }
      this.add(chunk.subarray(start, nl));
      this.emit();
      start = nl + 1;
    }
  }

  /** The stream ended: a last line without a newline still counts. */
  end(): void {
    if (this.size > 0 || this.parts.length > 0) this.emit();
  }

  private add(part: Buffer): void {
    if (part.length === 0) return;
    if (this.overflowed) return;
    if (this.size + part.length > this.maxLineBytes) {
      this.overflowed = true;
      this.onOverflow(this.size + part.length);
      return;
    }
    this.parts.push(part);
    this.size += part.length;
  }

  private emit(): void {
    const overflowed = this.overflowed;
    let line = Buffer.concat(this.parts, this.size).toString("utf8");
    this.parts = [];
    this.size = 0;
    this.overflowed = false;
    if (overflowed) return;
    if (line.endsWith("\r")) line = line.slice(0, -1);
    this.onLine(line);
  }
}

/** The last `n` items pushed (stderr and stdout tails for failure reasons). */
export class Tail {
  private readonly items: string[] = [];
  constructor(private readonly n: number) {}
  push(item: string): void {
    this.items.push(item);
    if (this.items.length > this.n) this.items.shift();
  }
  get lines(): string[] {
    return [...this.items];
  }
}
