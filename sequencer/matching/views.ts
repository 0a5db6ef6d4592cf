/** Read-only projections of the engine's records for callers (API, WebSocket snapshots). */
import type { PriceLevel } from "./level";
import type { OrderRecord } from "./order-record";
import { formatPrice } from "./price";
import type { LevelView, OrderView } from "./types";

export function orderView(rec: OrderRecord, priceDecimals: number): OrderView {
  const o = rec.order;
  const v = {
    hash: rec.hash,
    market: rec.book.id,
    account: o.account,
    orderId: o.orderId,
    side: o.side,
    timeInForce: rec.timeInForce,
    price: rec.level ? rec.level.display : formatPrice(rec.price, priceDecimals),
    priceNum: rec.price.num,
    priceDen: rec.price.den,
    amount: o.amount,
    quoteAmount: o.quoteAmount,
    validUntil: o.validUntil,
    seq: rec.seq,
    status: rec.status,
    filled: rec.filled,
    remaining: rec.remaining,
    fills: rec.fills ? [...rec.fills] : [],
  };
  return rec.reason === undefined ? v : { ...v, reason: rec.reason };
}

export function levelView(level: PriceLevel): LevelView {
  return {
    price: level.display,
    priceNum: level.price.num,
    priceDen: level.price.den,
    amount: level.total,
    orders: level.size,
  };
}
