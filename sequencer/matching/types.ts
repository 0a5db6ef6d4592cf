/**
 * Public types of the limit order matching engine: configuration, the ledger it reads and settles
 * through, the events it emits, its views and its snapshot. Amounts are exact bigints throughout.
 */
import type { FillOp, Order, OrderSide } from "../../core/ops/types";

export type { FillOp, Order, OrderSide };

/** One market (order book). Orders name it implicitly by their (base, quote) pair. */
export interface MarketConfig {
  /** e.g. "ETH-USDC". */
  readonly id: string;
  readonly base: number;
  readonly quote: number;
  /** Fee rate for the resting side of a fill, in basis points (0..10 000). */
  readonly makerFeeBips: number;
  /** Fee rate for the incoming side of a fill, in basis points (0..10 000). */
  readonly takerFeeBips: number;
}

export interface EngineOptions {
  readonly markets: readonly MarketConfig[];
  /** Order-fill slots per account: 4^orderLevels. */
  readonly orderSlots: number;
  /** An order is accepted and matchable only while now + expiryMarginS ≤ validUntil. */
  readonly expiryMarginS: number;
  /** Recent trades kept per market for `trades()` (default 1 000). */
  readonly tradeHistory?: number;
  /**
   * Seconds a closed order stays queryable (and its hash refused) after it became unmatchable
   * (default 3 600). Hashes are always refused while the order could still be accepted.
   */
  readonly historyRetentionS?: number;
  /** Fraction digits of the decimal price strings in views and events (default 18). */
  readonly priceDecimals?: number;
}

/** An order-fill slot as the ledger holds it; the empty slot is (0, 0). */
export interface OrderSlotState {
  readonly orderId: bigint;
  readonly filled: bigint;
}

/**
 * What the engine reads and writes. `balance` is the spendable balance including everything the
 * caller has accepted so far; `settle` applies a fill synchronously (balances and slots read after it
 * include the fill) and must not throw: the engine has already decided the fill is valid.
 */
export interface Ledger {
  balance(account: number, token: number): bigint;
  orderSlot(account: number, slot: number): OrderSlotState;
  settle(fill: FillOp): void;
}

export type TimeInForce = "gtc" | "ioc" | "post_only";

export interface PlaceOptions {
  /** The order's hash, computed by the caller from the signed message. */
  readonly hash: string;
  readonly timeInForce: TimeInForce;
}

export type OrderStatus = "open" | "partially_filled" | "filled" | "cancelled" | "expired" | "rejected";

/** Why `place` refused an order; nothing changed. */
export type RejectCode =
  | "unknown_market"
  | "invalid_order"
  | "invalid_amount"
  | "duplicate_order"
  | "expired"
  | "order_id_used"
  | "order_filled"
  | "slot_in_use"
  | "would_take"
  | "insufficient_balance";

/** Why `cancel` failed; nothing changed. */
export type CancelErrorCode = "unknown_order" | "order_closed";

/** Why an accepted order stopped being open before it was filled. */
export type CloseReason =
  | "user_cancel"
  | "ioc_remainder"
  | "self_trade"
  | "insufficient_balance"
  | "expired"
  /**
   * The remainder is worth less than one quote unit where it would trade, and a fill pays at least
   * one (PROTOCOL.md §4.6): a buy whose remainder would pay 0 at its own price as a resting maker, or
   * a sell taker whose remainder would get 0 at the best bid (every other crossing bid is lower).
   */
  | "dust"
  /** restore() could not re-insert the order: the check it failed. */
  | "order_id_used"
  | "order_filled"
  | "slot_in_use"
  | "would_take"
  | "unknown_market";

/** A price as a reduced fraction of quote units per base unit, plus its decimal rendering. */
export interface PriceView {
  readonly price: string;
  readonly priceNum: bigint;
  readonly priceDen: bigint;
}

export interface Trade extends PriceView {
  /** Engine-wide, strictly increasing from 1. */
  readonly seq: number;
  readonly market: string;
  readonly makerHash: string;
  readonly takerHash: string;
  readonly makerAccount: number;
  readonly takerAccount: number;
  readonly takerSide: OrderSide;
  readonly baseAmount: bigint;
  readonly quoteAmount: bigint;
  /** Charged to the seller, in quote. */
  readonly sellFee: bigint;
  /** Charged to the buyer, in base. */
  readonly buyFee: bigint;
}

export interface TradeEvent extends Trade {
  readonly type: "trade";
}

export interface OrderEvent {
  readonly type: "order";
  readonly hash: string;
  /** null when the order was rejected for naming no configured market. */
  readonly market: string | null;
  readonly account: number;
  readonly side: OrderSide;
  readonly status: OrderStatus;
  /** Cumulative filled base amount, including fills from before this engine saw the order. */
  readonly filled: bigint;
  readonly remaining: bigint;
  readonly reason?: CloseReason | RejectCode;
}

export interface LevelEvent extends PriceView {
  readonly type: "level";
  readonly market: string;
  readonly side: OrderSide;
  /** Total remaining base at this price; 0 when the level is gone. */
  readonly amount: bigint;
}

export type EngineEvent = TradeEvent | OrderEvent | LevelEvent;

export interface OrderView extends PriceView {
  readonly hash: string;
  readonly market: string;
  readonly account: number;
  readonly orderId: bigint;
  readonly side: OrderSide;
  readonly timeInForce: TimeInForce;
  readonly amount: bigint;
  readonly quoteAmount: bigint;
  readonly validUntil: number;
  /** Acceptance sequence number (time priority). */
  readonly seq: number;
  readonly status: OrderStatus;
  readonly reason?: CloseReason;
  readonly filled: bigint;
  readonly remaining: bigint;
  /** Fills this engine made for the order, oldest first. */
  readonly fills: readonly Trade[];
}

export interface LevelView extends PriceView {
  readonly amount: bigint;
  readonly orders: number;
}

export interface BookView {
  readonly market: string;
  /** Best (highest) first. */
  readonly bids: readonly LevelView[];
  /** Best (lowest) first. */
  readonly asks: readonly LevelView[];
}

export type PlaceResult =
  | { readonly accepted: true; readonly order: OrderView; readonly events: readonly EngineEvent[] }
  | { readonly accepted: false; readonly code: RejectCode; readonly message: string; readonly events: readonly EngineEvent[] };

export type CancelResult =
  | { readonly ok: true; readonly events: readonly EngineEvent[] }
  | { readonly ok: false; readonly code: CancelErrorCode; readonly message: string; readonly events: readonly EngineEvent[] };

export interface EventsResult {
  readonly events: readonly EngineEvent[];
}

/** A resting order as persisted for a restart. */
export interface SnapshotOrder {
  readonly hash: string;
  readonly order: Order;
  readonly timeInForce: Exclude<TimeInForce, "ioc">;
  readonly seq: number;
  readonly filled: bigint;
}

export interface EngineSnapshot {
  readonly version: 1;
  /** The engine's clock (the latest `now` it saw). */
  readonly clock: number;
  readonly nextOrderSeq: number;
  readonly nextTradeSeq: number;
  /** Open orders, in acceptance order. */
  readonly orders: readonly SnapshotOrder[];
  /** Closed orders whose hash must still be refused (a cancelled signed order stays valid on-chain). */
  readonly retired: readonly { readonly hash: string; readonly validUntil: number }[];
}
