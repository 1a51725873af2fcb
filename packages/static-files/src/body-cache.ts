interface Slot {
  body: Buffer;
  used: boolean;
}

/**
 * File bodies kept in memory up to a byte budget. Eviction is CLOCK (second chance): a body
 * read since the last sweep survives it, so hot pages stay without reordering on every hit.
 */
export class BodyCache {
  private readonly slots = new Map<string, Slot>();
  private bytes = 0;

  private readonly limitBytes: number;
  readonly maxBodyBytes: number;

  constructor(limitBytes: number, maxBodyBytes: number) {
    this.limitBytes = limitBytes;
    this.maxBodyBytes = maxBodyBytes;
  }

  get(key: string): Buffer | undefined {
    const slot = this.slots.get(key);
    if (!slot) return undefined;
    slot.used = true;
    return slot.body;
  }

  set(key: string, body: Buffer): void {
    if (body.length > this.maxBodyBytes || body.length > this.limitBytes || this.slots.has(key)) return;
    let sweeps = this.slots.size * 2;
    while (this.bytes + body.length > this.limitBytes && sweeps-- > 0) {
      const [oldestKey, oldest] = this.slots.entries().next().value as [string, Slot];
      this.slots.delete(oldestKey);
      if (oldest.used) {
        oldest.used = false;
        this.slots.set(oldestKey, oldest);
      } else {
        this.bytes -= oldest.body.length;
      }
    }
    if (this.bytes + body.length > this.limitBytes) return;
    this.slots.set(key, { body, used: false });
    this.bytes += body.length;
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.slots.size, bytes: this.bytes };
  }
}
