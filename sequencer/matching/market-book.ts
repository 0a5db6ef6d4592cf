/** Everything the engine keeps per market: its configuration, both sides of the book, recent trades. */
import type { OrderSide } from "../../core/ops/types";
import { BookSide } from "./book-side";
import { TradeLog } from "./trade-log";
import type { MarketConfig } from "./types";

export class MarketBook {
  readonly bids: BookSide;
  readonly asks: BookSide;
  readonly trades: TradeLog;

  constructor(
    readonly config: MarketConfig,
    priceDecimals: number,
    tradeHistory: number,
  ) {
    this.bids = new BookSide("buy", priceDecimals);
    this.asks = new BookSide("sell", priceDecimals);
    this.trades = new TradeLog(tradeHistory);
  }

  get id(): string {
    return this.config.id;
  }

  sideOf(side: OrderSide): BookSide {
    return side === "buy" ? this.bids : this.asks;
  }

  /** The side an order of `side` trades against. */
  oppositeOf(side: OrderSide): BookSide {
    return side === "buy" ? this.asks : this.bids;
  }
}

/** Key of a (base, quote) pair. */
export function pairKey(base: number, quote: number): string {
  return `${base}/${quote}`;
}
