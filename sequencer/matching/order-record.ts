/**
 * The engine's record of one accepted order. While it rests it is also a node of its price level's
 * FIFO (intrusive links, so cancelling is O(1) and resting allocates nothing beyond this record).
 */
import type { Order } from "../../core/ops/types";
import type { Price } from "./price";
import type { CloseReason, OrderStatus, TimeInForce, Trade } from "./types";
import type { PriceLevel } from "./level";
import type { MarketBook } from "./market-book";

export class OrderRecord {
  status: OrderStatus;
  reason: CloseReason | undefined = undefined;
  /** What this order currently holds back, in the token it pays with (see `payToken`). */
  reserved = 0n;
  level: PriceLevel | null = null;
  prev: OrderRecord | null = null;
  next: OrderRecord | null = null;
  /** Allocated on the first fill only. */
  fills: Trade[] | null = null;

  constructor(
    readonly hash: string,
    readonly order: Order,
    readonly book: MarketBook,
    readonly timeInForce: TimeInForce,
    readonly seq: number,
    readonly price: Price,
    readonly slot: number,
    /** Cumulative filled base, starting from the slot's counter. */
    public filled: bigint,
  ) {
    this.status = filled > 0n ? "partially_filled" : "open";
  }

  get remaining(): bigint {
    return this.order.amount - this.filled;
  }

  get isOpen(): boolean {
    return this.status === "open" || this.status === "partially_filled";
  }

  /** A seller pays base, a buyer pays quote; reservations are held in that token. */
  get payToken(): number {
    return this.order.side === "sell" ? this.order.base : this.order.quote;
  }
}
