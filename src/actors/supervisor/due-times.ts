/**
 * When each of many keys is next due, and the earliest of them, kept so that reading the earliest
 * after every command costs nothing in the usual case: it is recomputed only after the key that
 * held it moved later or went away.
 */
export class DueTimes<K> {
  private readonly at = new Map<K, number>();
  private earliest: number | undefined;
  private stale = false;

  /** Sets (or, with undefined, clears) when the key is due. */
  set(key: K, due: number | undefined): void {
    const old = this.at.get(key);
    if (old === due) return;
    if (due === undefined) this.at.delete(key);
    else this.at.set(key, due);
    if (old !== undefined && old === this.earliest) this.stale = true;
    else if (
      due !== undefined &&
      !this.stale &&
      (this.earliest === undefined || due < this.earliest)
    )
      this.earliest = due;
  }

  /** The earliest due time, or undefined when nothing is due. */
  next(): number | undefined {
    if (this.stale) {
      this.stale = false;
      this.earliest = undefined;
      for (const due of this.at.values()) {
        if (this.earliest === undefined || due < this.earliest) this.earliest = due;
      }
    }
    return this.earliest;
  }
}

/** The earlier of two due times, either of which may be undefined (nothing due). */
export function earlier(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  return b === undefined || a <= b ? a : b;
}

/** After a restart, until when restored resources wait for their peers (agents, engines). */
export class Grace {
  /** Ms since epoch; 0 when nothing waits. */
  private until = 0;

  start(now: number, ms: number): void {
    this.until = now + ms;
  }

  /** A peer came back: nothing waits any more. */
  end(): void {
    this.until = 0;
  }

  /** When the wait ends, or undefined when nothing waits. */
  get dueAt(): number | undefined {
    return this.until > 0 ? this.until : undefined;
  }

  /** True once, when the wait has run out by `now` (it is then over). */
  expired(now: number): boolean {
    if (this.until <= 0 || now < this.until) return false;
    this.until = 0;
    return true;
  }
}
