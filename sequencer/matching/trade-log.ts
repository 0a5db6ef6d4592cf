/** A bounded ring of a market's most recent trades. */
import type { Trade } from "./types";

export class TradeLog {
  private readonly ring: (Trade | undefined)[];
  private next = 0;
  private count = 0;

  constructor(private readonly capacity: number) {
    this.ring = new Array<Trade | undefined>(capacity);
  }

  push(t: Trade): void {
    if (this.capacity === 0) return;
    this.ring[this.next] = t;
    this.next = (this.next + 1) % this.capacity;
    if (this.count < this.capacity) this.count += 1;
  }

  /** Newest first, at most `limit`. */
  recent(limit: number): Trade[] {
    const n = Math.min(limit, this.count);
    const out: Trade[] = [];
    for (let i = 1; i <= n; i++) out.push(this.ring[(this.next - i + this.capacity) % this.capacity] as Trade);
    return out;
  }
}
