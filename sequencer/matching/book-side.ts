/**
 * One side of an order book: price levels in a sorted array, worst first and best last, so the
 * best level is O(1) (and removing it is a pop); a new level is placed by binary search.
 */
import type { OrderSide } from "../../core/ops/types";
import { comparePrices, formatPrice, priceKey, type Price } from "./price";
import { PriceLevel } from "./level";

export class BookSide {
  private readonly levels: PriceLevel[] = [];
  private readonly byKey = new Map<string, PriceLevel>();

  constructor(
    readonly side: OrderSide,
    private readonly priceDecimals: number,
  ) {}

  /** > 0 when a is a better price than b for this side (bids: higher, asks: lower). */
  private better(a: Price, b: Price): number {
    const c = comparePrices(a, b);
    return this.side === "buy" ? c : -c;
  }

  best(): PriceLevel | undefined {
    return this.levels[this.levels.length - 1];
  }

  get levelCount(): number {
    return this.levels.length;
  }

  /** The level at `price`, created in place if absent. */
  levelAt(price: Price): PriceLevel {
    const key = priceKey(price);
    const existing = this.byKey.get(key);
    if (existing) return existing;
    const level = new PriceLevel(price, key, formatPrice(price, this.priceDecimals));
    let lo = 0;
    let hi = this.levels.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.better(this.levels[mid].price, price) > 0) hi = mid;
      else lo = mid + 1;
    }
    this.levels.splice(lo, 0, level);
    this.byKey.set(key, level);
    return level;
  }

  /** Drops `level` once its last order has left. */
  removeIfEmpty(level: PriceLevel): void {
    if (!level.isEmpty) return;
    this.byKey.delete(level.key);
    const last = this.levels.length - 1;
    if (this.levels[last] === level) {
      this.levels.pop();
      return;
    }
    let lo = 0;
    let hi = last;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.better(this.levels[mid].price, level.price) >= 0) hi = mid;
      else lo = mid + 1;
    }
    if (this.levels[lo] !== level) throw new Error("book side: level not found");
    this.levels.splice(lo, 1);
  }

  /** The level of rank `i` (0 = best), if there are that many. */
  nthBest(i: number): PriceLevel | undefined {
    return this.levels[this.levels.length - 1 - i];
  }

  /** Levels best first, at most `depth`. */
  bestFirst(depth: number): PriceLevel[] {
    const out: PriceLevel[] = [];
    for (let i = this.levels.length - 1; i >= 0 && out.length < depth; i--) out.push(this.levels[i]);
    return out;
  }
}
