/** Builders of the engine's stream events, so every call site emits the same shapes. */
import type { Order, OrderSide } from "../../core/ops/types";
import type { PriceLevel } from "./level";
import type { OrderRecord } from "./order-record";
import type { LevelEvent, OrderEvent, RejectCode } from "./types";

export function orderEvent(rec: OrderRecord): OrderEvent {
  const e = {
    type: "order" as const,
    hash: rec.hash,
    market: rec.book.id,
    account: rec.order.account,
    side: rec.order.side,
    status: rec.status,
    filled: rec.filled,
    remaining: rec.remaining,
  };
  return rec.reason === undefined ? e : { ...e, reason: rec.reason };
}

export function rejectedEvent(order: Order, hash: string, market: string | null, code: RejectCode): OrderEvent {
  return {
    type: "order",
    hash,
    market,
    account: order.account,
    side: order.side,
    status: "rejected",
    filled: 0n,
    remaining: order.amount,
    reason: code,
  };
}

/** The level's new total; a level that has just emptied reports 0. */
export function levelEvent(market: string, side: OrderSide, level: PriceLevel): LevelEvent {
  return {
    type: "level",
    market,
    side,
    price: level.display,
    priceNum: level.price.num,
    priceDen: level.price.den,
    amount: level.total,
  };
}
