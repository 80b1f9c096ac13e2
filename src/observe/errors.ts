/** A metrics or health option that cannot work, said so a person can fix it (exit 2). */
export class ObserveOptionError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = "ObserveOptionError";
  }
}
