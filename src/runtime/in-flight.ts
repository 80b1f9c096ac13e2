/**
 * What is under way: running executions, results being sent, undelivered results. Every task
 * adds an entry and removes it again a few milliseconds later. add() returns the entry, and
 * remove(entry) takes it out. Iteration sees what is left, in the order it was added.
 *
 * This is deliberately not a Map or Set. With entries churning like that, a Map or Set kept each
 * task's objects alive through young-generation GCs:
 *  - V8 rebuilds a Map's backing table every few dozen removals. It leaves the old table pointing
 *    at the entries it held at that moment and at the new table (for iterators still under way).
 *  - Once one table had reached the old generation, each dead table kept the next table and its
 *    entries alive through every minor GC (which takes old-to-young pointers as roots without
 *    knowing the old object is dead).
 *  - Those were then promoted in turn, so nearly every task's execution, task and result went to
 *    the old generation and waited there for a full GC.
 * docs/performance.md has the figures. Here a removed entry lets go of its value and its
 * neighbours at once, so a dead entry holds nothing.
 */
export class InFlightEntry<T> {
  /** @internal */ prev?: InFlightEntry<T>;
  /** @internal */ next?: InFlightEntry<T>;
  /** @internal */ list?: InFlight<T>;
  constructor(public value: T | undefined) {}
}

export class InFlight<T> implements Iterable<T> {
  private head?: InFlightEntry<T>;
  private tail?: InFlightEntry<T>;
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(value: T): InFlightEntry<T> {
    const e = new InFlightEntry(value);
    e.list = this;
    e.prev = this.tail;
    if (this.tail) this.tail.next = e;
    else this.head = e;
    this.tail = e;
    this.count++;
    return e;
  }

  /** Take the entry out (false when it was not in this list, or was removed already). */
  remove(e: InFlightEntry<T>): boolean {
    if (e.list !== this) return false;
    if (e.prev) e.prev.next = e.next;
    else this.head = e.next;
    if (e.next) e.next.prev = e.prev;
    else this.tail = e.prev;
    e.prev = e.next = e.list = undefined;
    e.value = undefined;
    this.count--;
    return true;
  }

  /** A copy of the values, oldest first (safe to change the list while going through it). */
  values(): T[] {
    const out: T[] = [];
    for (let e = this.head; e; e = e.next) out.push(e.value as T);
    return out;
  }

  find(predicate: (value: T) => boolean): T | undefined {
    for (let e = this.head; e; e = e.next) if (predicate(e.value as T)) return e.value;
    return undefined;
  }

  [Symbol.iterator](): Iterator<T> {
    return this.values()[Symbol.iterator]();
  }
}
