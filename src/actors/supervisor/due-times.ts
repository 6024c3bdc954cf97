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
