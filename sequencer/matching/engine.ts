/**
 * The limit order matching engine: one price-time priority book per market, GTC / IOC / post-only,
 * fills at the maker's price, self-trade prevention, balance reservation and the protocol's
 * order-fill slot rules.
 *
 * Rounding (PROTOCOL.md §4.6): a fill's quote is the maker's price times its base, rounded in the
 * maker's favour (a selling maker receives the ceiling, a buying maker pays the floor), so the taker
 * bears the rounding, less than one quote unit per fill. One match step between a taker and a maker
 * is exactly one fill of min(both remainders): the engine never splits it, so no trader pays the
 * rounding more often than it has makers. A fill pays at least one quote unit; an order whose
 * remainder could only trade for 0 quote is closed as `dust` instead of resting or trading (see
 * `isDust` and `fill`). Pure: no I/O, no clock (time is the caller's `now`), no randomness, so the
 * same calls with the same ledger answers give the same fills, events and book.
 */
import type { FillOp, Order } from "../../core/ops/types";
import { DueQueue } from "./due-queue";
import { levelEvent, orderEvent, rejectedEvent } from "./events";
import { feeOn, feeRate } from "./fees";
import { MarketBook, pairKey } from "./market-book";
import { OrderRecord } from "./order-record";
import { buyReservation, crosses, fillWithinLimits, limitPrice, makerQuote, type Price } from "./price";
import { Reservations } from "./reservations";
import type {
  BookView,
  CancelResult,
  CloseReason,
  EngineEvent,
  EngineOptions,
  EngineSnapshot,
  EventsResult,
  Ledger,
  MarketConfig,
  OrderStatus,
  OrderView,
  PlaceOptions,
  PlaceResult,
  RejectCode,
  SnapshotOrder,
  TimeInForce,
  Trade,
} from "./types";
import { levelView, orderView } from "./views";

const DEFAULT_TRADE_HISTORY = 1_000;
const DEFAULT_HISTORY_RETENTION_S = 3_600;
const DEFAULT_PRICE_DECIMALS = 18;
/** Protocol bounds (core/ops/order.ts): uint32 order ids, amounts below 2^120, fees ≤ 10 000 bips. */
const MAX_ORDER_ID = (1n << 32n) - 1n;
const MAX_AMOUNT = (1n << 120n) - 1n;
const MAX_FEE_BIPS = 10_000;
const TIME_IN_FORCE: ReadonlySet<string> = new Set<TimeInForce>(["gtc", "ioc", "post_only"]);

/** A fill that could not be batched, as `voidFill` needs it. */
export interface VoidedFill {
  /** The trade's engine sequence number. */
  readonly seq: number;
  readonly makerHash: string;
  readonly takerHash: string;
  readonly baseAmount: bigint;
}

type Admission =
  | { readonly ok: true; readonly book: MarketBook; readonly price: Price; readonly slot: number; readonly filled: bigint }
  | { readonly ok: false; readonly code: RejectCode; readonly message: string; readonly market: string | null };

/** Due work: at validUntil an open order expires; `historyRetentionS` later its record is forgotten. */
interface DueItem {
  readonly kind: "expire" | "forget";
  readonly hash: string;
}

export class MatchingEngine {
  private readonly marketsById = new Map<string, MarketBook>();
  private readonly marketsByPair = new Map<string, MarketBook>();
  /** Every order accepted and not yet forgotten, open or closed, in acceptance order. */
  private readonly orders = new Map<string, OrderRecord>();
  /** Hashes of closed orders known only from a snapshot: refused until forgotten. */
  private readonly retired = new Map<string, number>();
  /** Open orders by account and order-fill slot (at most one per slot). */
  private readonly openBySlot = new Map<number, Map<number, OrderRecord>>();
  private readonly reservations = new Reservations();
  private readonly due = new DueQueue<DueItem>();
  private readonly orderSlots: bigint;
  private readonly expiryMarginS: number;
  private readonly historyRetentionS: number;
  private readonly priceDecimals: number;
  /** The latest `now` seen: engine time never runs backwards, so a forgotten hash stays expired. */
  private clock = 0;
  private nextOrderSeq = 1;
  private nextTradeSeq = 1;

  constructor(
    private readonly ledger: Ledger,
    options: EngineOptions,
  ) {
    validateOptions(options);
    this.orderSlots = BigInt(options.orderSlots);
    this.expiryMarginS = options.expiryMarginS;
    this.historyRetentionS = options.historyRetentionS ?? DEFAULT_HISTORY_RETENTION_S;
    this.priceDecimals = options.priceDecimals ?? DEFAULT_PRICE_DECIMALS;
    const tradeHistory = options.tradeHistory ?? DEFAULT_TRADE_HISTORY;
    for (const m of options.markets) {
      const book = new MarketBook({ ...m }, this.priceDecimals, tradeHistory);
      this.marketsById.set(m.id, book);
      this.marketsByPair.set(pairKey(m.base, m.quote), book);
    }
  }

  // ---------------------------------------------------------------- commands

  /** Accepts an order (its signature already checked by the caller), matches it, rests what is left. */
  place(order: Order, opts: PlaceOptions, now: number): PlaceResult {
    const t = this.tick(now);
    const a = this.admit(order, opts.hash, opts.timeInForce, t, null);
    if (!a.ok) return { accepted: false, code: a.code, message: a.message, events: [rejectedEvent(order, opts.hash, a.market, a.code)] };

    const rec = new OrderRecord(opts.hash, order, a.book, opts.timeInForce, this.nextOrderSeq++, a.price, a.slot, a.filled);
    this.track(rec);
    const events: EngineEvent[] = [orderEvent(rec)];
    if (opts.timeInForce !== "post_only") this.match(rec, t, events);
    if (rec.isOpen) {
      if (opts.timeInForce === "ioc") this.close(rec, "cancelled", "ioc_remainder", events);
      else if (isDust(rec)) this.close(rec, "cancelled", "dust", events);
      else this.rest(rec, events);
    }
    return { accepted: true, order: orderView(rec, this.priceDecimals), events };
  }

  /** Cancels an open order at once and releases its reservation. */
  cancel(hash: string): CancelResult {
    const rec = this.orders.get(hash);
    if (!rec && !this.retired.has(hash)) return { ok: false, code: "unknown_order", message: `no order ${hash}`, events: [] };
    if (!rec || !rec.isOpen) return { ok: false, code: "order_closed", message: `order ${hash} is no longer open`, events: [] };
    const events: EngineEvent[] = [];
    this.close(rec, "cancelled", "user_cancel", events);
    return { ok: true, events };
  }

  /**
   * Gives back a fill that could not be batched (PROTOCOL.md §4.7, voided fills): both orders' filled
   * amounts go down by its base, and each order takes up the amount again if it still can trade.
   * - Resting: its remainder grows in place, keeping its priority (its reservation grows with it).
   * - Completed by the fill (`filled`): it opens again, unless it is IOC (the remainder of an IOC is
   *   cancelled, as on arrival), expired, its slot has moved on, or its owner's free funds no longer
   *   cover it. A GTC order first takes what it now crosses, as a new order would, then rests; a
   *   post-only order that would cross is cancelled. It rests behind the orders already at its price.
   * - Closed otherwise (cancelled, expired, dust): it stays closed; only its filled amount changes.
   * An order this engine no longer knows (forgotten after `historyRetentionS`) is skipped: the
   * caller corrects its record. Fills the re-opened orders make go through the ledger as any fill.
   */
  voidFill(voided: VoidedFill, now: number): EventsResult {
    const t = this.tick(now);
    const events: EngineEvent[] = [];
    for (const hash of [voided.makerHash, voided.takerHash]) {
      const rec = this.orders.get(hash);
      if (!rec) continue;
      if (rec.filled < voided.baseAmount) throw new Error(`matching engine bug: voiding ${voided.baseAmount} of order ${hash}, which has filled ${rec.filled}`);
      if (rec.fills) rec.fills = rec.fills.filter((f) => f.seq !== voided.seq);
      if (rec.isOpen) this.growAfterVoid(rec, voided.baseAmount, t, events);
      else {
        rec.filled -= voided.baseAmount;
        if (rec.status === "filled") this.reopen(rec, t, events);
        else events.push(orderEvent(rec));
      }
    }
    return { events };
  }

  /** Removes resting orders that can no longer go into a batch (now + margin > validUntil). */
  expire(now: number): EventsResult {
    const t = this.tick(now);
    const events: EngineEvent[] = [];
    const limit = t + this.expiryMarginS;
    for (let item = this.due.popBefore(limit); item; item = this.due.popBefore(limit)) {
      if (item.kind === "expire") {
        const rec = this.orders.get(item.hash);
        if (rec?.isOpen) this.close(rec, "expired", "expired", events);
        if (rec) this.due.push(rec.order.validUntil + this.historyRetentionS, { kind: "forget", hash: item.hash });
      } else {
        this.orders.delete(item.hash);
        this.retired.delete(item.hash);
      }
    }
    return { events };
  }

  // ---------------------------------------------------------------- views

  /** Funds of `account` in `token` held back by its open orders. */
  reserved(account: number, token: number): bigint {
    return this.reservations.get(account, token);
  }

  markets(): MarketConfig[] {
    return [...this.marketsById.values()].map((b) => ({ ...b.config }));
  }

  /** Aggregated levels, best first on both sides; undefined for an unknown market. */
  book(marketId: string, depth: number): BookView | undefined {
    const book = this.marketsById.get(marketId);
    if (!book) return undefined;
    return { market: marketId, bids: book.bids.bestFirst(depth).map(levelView), asks: book.asks.bestFirst(depth).map(levelView) };
  }

  /** An open order, or a closed one until `historyRetentionS` after its validUntil. */
  order(hash: string): OrderView | undefined {
    const rec = this.orders.get(hash);
    return rec && orderView(rec, this.priceDecimals);
  }

  /** The account's open orders in acceptance order. */
  openOrders(account: number): OrderView[] {
    const slots = this.openBySlot.get(account);
    if (!slots) return [];
    return [...slots.values()].sort((x, y) => x.seq - y.seq).map((r) => orderView(r, this.priceDecimals));
  }

  /** Recent trades of a market, newest first; undefined for an unknown market. */
  trades(marketId: string, limit: number): Trade[] | undefined {
    return this.marketsById.get(marketId)?.trades.recent(limit);
  }

  // ---------------------------------------------------------------- restart

  /** Open orders and counters, enough for `restore` to rebuild the same book after a restart. */
  snapshot(): EngineSnapshot {
    const orders: SnapshotOrder[] = [];
    const retired: { hash: string; validUntil: number }[] = [];
    for (const rec of this.orders.values()) {
      if (rec.isOpen) {
        const timeInForce = rec.timeInForce === "post_only" ? "post_only" : "gtc";
        orders.push({ hash: rec.hash, order: rec.order, timeInForce, seq: rec.seq, filled: rec.filled });
      } else retired.push({ hash: rec.hash, validUntil: rec.order.validUntil });
    }
    for (const [hash, validUntil] of this.retired) retired.push({ hash, validUntil });
    return { version: 1, clock: this.clock, nextOrderSeq: this.nextOrderSeq, nextTradeSeq: this.nextTradeSeq, orders, retired };
  }

  /**
   * Re-inserts a snapshot's resting orders into this fresh engine without matching, re-reserving
   * their funds. An order that no longer passes the checks (expired, slot moved on, funds gone,
   * crossing the book) is dropped with an event instead.
   */
  restore(snapshot: EngineSnapshot, now: number): EventsResult {
    if (snapshot.version !== 1) throw new Error(`unsupported engine snapshot version ${String(snapshot.version)}`);
    if (this.orders.size > 0 || this.retired.size > 0 || this.nextOrderSeq !== 1) throw new Error("restore needs a fresh engine");
    this.clock = Math.max(this.clock, snapshot.clock);
    const t = this.tick(now);
    for (const r of snapshot.retired) this.retire(r.hash, r.validUntil);
    let maxSeq = 0;
    const events: EngineEvent[] = [];
    for (const s of [...snapshot.orders].sort((x, y) => x.seq - y.seq)) {
      maxSeq = Math.max(maxSeq, s.seq);
      const a = this.admit(s.order, s.hash, s.timeInForce, t, s.filled);
      if (!a.ok) {
        if (a.code === "invalid_order" || a.code === "invalid_amount" || a.code === "duplicate_order") {
          throw new Error(`corrupt engine snapshot: order ${s.hash}: ${a.message}`);
        }
        const status: OrderStatus = a.code === "expired" ? "expired" : a.code === "order_filled" ? "filled" : "cancelled";
        events.push({ ...rejectedEvent(s.order, s.hash, a.market, a.code), status, filled: s.filled, remaining: s.order.amount - s.filled });
        this.retire(s.hash, s.order.validUntil);
        continue;
      }
      const rec = new OrderRecord(s.hash, s.order, a.book, s.timeInForce, s.seq, a.price, a.slot, a.filled);
      this.track(rec);
      // A buy remainder that can only pay 0 (rested by an engine before the dust rule) cannot rest.
      if (isDust(rec)) this.close(rec, "cancelled", "dust", events);
      else this.rest(rec, events);
    }
    this.nextOrderSeq = Math.max(snapshot.nextOrderSeq, maxSeq + 1);
    this.nextTradeSeq = snapshot.nextTradeSeq;
    return { events };
  }

  // ---------------------------------------------------------------- admission

  /**
   * Every check an order must pass before it changes anything. `restoredFilled` is set when
   * restoring: then no order may cross the book (restore never matches).
   */
  private admit(order: Order, hash: string, tif: TimeInForce, t: number, restoredFilled: bigint | null): Admission {
    const no = (code: RejectCode, message: string, market: string | null = null): Admission => ({ ok: false, code, message, market });
    if (typeof hash !== "string" || hash.length === 0) return no("invalid_order", "order hash must be a non-empty string");
    if (!TIME_IN_FORCE.has(tif)) return no("invalid_order", `unknown time in force ${String(tif)}`);
    if (order.side !== "buy" && order.side !== "sell") return no("invalid_order", `order side must be "buy" or "sell"`);
    const book = this.marketsByPair.get(pairKey(order.base, order.quote));
    if (!book) return no("unknown_market", `no market trades base ${order.base} against quote ${order.quote}`);
    const m = book.id;
    if (!Number.isInteger(order.account) || order.account < 0) return no("invalid_order", "account must be a non-negative integer", m);
    if (typeof order.orderId !== "bigint" || order.orderId < 0n || order.orderId > MAX_ORDER_ID) return no("invalid_order", "orderId must be a uint32", m);
    if (!Number.isInteger(order.maxFeeBips) || order.maxFeeBips < 0 || order.maxFeeBips > MAX_FEE_BIPS) return no("invalid_order", "maxFeeBips must be an integer in 0..10000", m);
    if (!Number.isInteger(order.validUntil)) return no("invalid_order", "validUntil must be an integer (unix seconds)", m);
    if (typeof order.amount !== "bigint" || order.amount <= 0n || order.amount > MAX_AMOUNT) return no("invalid_amount", "amount must be in 1..2^120-1", m);
    if (typeof order.quoteAmount !== "bigint" || order.quoteAmount <= 0n || order.quoteAmount > MAX_AMOUNT) return no("invalid_amount", "quoteAmount must be in 1..2^120-1", m);
    if (this.orders.has(hash) || this.retired.has(hash)) return no("duplicate_order", `order ${hash} was already received`, m);
    if (this.isExpired(order, t)) return no("expired", `order valid until ${order.validUntil}, needs ≥ ${t + this.expiryMarginS}`, m);

    const slot = Number(order.orderId % this.orderSlots);
    const stored = this.ledger.orderSlot(order.account, slot);
    if (stored.orderId > order.orderId) return no("order_id_used", `slot ${slot} holds order id ${stored.orderId} > ${order.orderId}`, m);
    let filled = stored.orderId === order.orderId ? stored.filled : 0n;
    // A snapshot may be ahead of a ledger that lost its last unbatched fills; never re-fill those.
    if (restoredFilled !== null && restoredFilled > filled) filled = restoredFilled;
    if (filled >= order.amount) return no("order_filled", `order ${order.orderId} is already filled`, m);
    const occupant = this.openBySlot.get(order.account)?.get(slot);
    if (occupant) return no("slot_in_use", `slot ${slot} is taken by open order ${occupant.hash}`, m);

    const price = limitPrice(order.quoteAmount, order.amount);
    if ((tif === "post_only" || restoredFilled !== null) && this.wouldTake(book, order.side, price, t)) {
      return no("would_take", "the order would cross the book", m);
    }
    const token = order.side === "sell" ? order.base : order.quote;
    const need = reservationFor(order.side, order.amount - filled, price);
    const free = this.ledger.balance(order.account, token) - this.reservations.get(order.account, token);
    if (free < need) return no("insufficient_balance", `needs ${need} of token ${token}, ${free < 0n ? 0n : free} available`, m);
    return { ok: true, book, price, slot, filled };
  }

  /** Whether a new order would trade on arrival against a still-matchable resting order. */
  private wouldTake(book: MarketBook, side: Order["side"], price: Price, t: number): boolean {
    const opposite = book.oppositeOf(side);
    for (let i = 0; ; i++) {
      const level = opposite.nthBest(i);
      if (!level || !(side === "buy" ? crosses(price, level.price) : crosses(level.price, price))) return false;
      for (let o = level.head; o; o = o.next) if (!this.isExpired(o.order, t)) return true;
    }
  }

  // ---------------------------------------------------------------- matching

  private match(taker: OrderRecord, t: number, events: EngineEvent[]): void {
    const opposite = taker.book.oppositeOf(taker.order.side);
    const takerBuys = taker.order.side === "buy";
    while (taker.remaining > 0n) {
      const level = opposite.best();
      if (!level || !(takerBuys ? crosses(taker.price, level.price) : crosses(level.price, taker.price))) return;
      const maker = level.head as OrderRecord;
      if (this.isExpired(maker.order, t)) {
        this.close(maker, "expired", "expired", events);
      } else if (maker.order.account === taker.order.account) {
        this.close(maker, "cancelled", "self_trade", events);
      } else {
        const stop = this.fill(maker, taker, events);
        if (stop) {
          this.close(stop.order, "cancelled", stop.reason, events);
          if (stop.order === taker) return;
        }
      }
    }
  }

  /**
   * Fills maker against taker for min(remaining) at the maker's price and settles it: one match step
   * is exactly one fill, and afterwards the maker or the taker has nothing left. Returns the order to
   * close and why when nothing can be filled (nothing changed then), or null once filled.
   *
   * Quote 0 (a fill must pay at least one unit, PROTOCOL.md §4.6) happens only for a selling taker
   * whose remainder b has b·price < 1 at the bid it meets: a selling maker receives the ceiling
   * (≥ 1), and a buying maker never rests with a remainder that would pay 0 (`isDust`). Every other
   * bid that crosses is at most this one, so the remainder cannot trade anywhere in the book, and
   * resting it would cross the book: it is closed as `dust`.
   */
  private fill(maker: OrderRecord, taker: OrderRecord, events: EngineEvent[]): { order: OrderRecord; reason: "insufficient_balance" | "dust" } | null {
    const base = maker.remaining < taker.remaining ? maker.remaining : taker.remaining;
    const quote = makerQuote(maker.order.side, base, maker.price);
    if (quote === 0n) {
      if (base !== taker.remaining || taker.order.side !== "sell") {
        throw new Error(`matching engine bug: resting order ${maker.hash} would fill ${base} for 0 quote`);
      }
      return { order: taker, reason: "dust" };
    }
    const makerSells = maker.order.side === "sell";
    const seller = makerSells ? maker : taker;
    const buyer = makerSells ? taker : maker;
    const sellerReservedAfter = seller.remaining - base;
    const buyerReservedAfter = buyReservation(buyer.remaining - base, buyer.price);

    // Rounding can make a taker's buy cost one unit more than it releases; its other orders' funds stay untouched.
    const takerPays = makerSells ? quote : base;
    const makerPays = makerSells ? base : quote;
    if (!this.canPay(taker, takerPays, makerSells ? buyerReservedAfter : sellerReservedAfter)) return { order: taker, reason: "insufficient_balance" };
    if (!this.canPay(maker, makerPays, makerSells ? sellerReservedAfter : buyerReservedAfter)) return { order: maker, reason: "insufficient_balance" };
    if (!fillWithinLimits(seller.order, buyer.order, base, quote)) {
      throw new Error(`matching engine bug: fill of ${base} for ${quote} breaks a limit (${seller.hash} / ${buyer.hash})`);
    }

    const market = maker.book.config;
    const sellFee = feeOn(quote, feeRate(makerSells ? market.makerFeeBips : market.takerFeeBips, seller.order.maxFeeBips));
    const buyFee = feeOn(base, feeRate(makerSells ? market.takerFeeBips : market.makerFeeBips, buyer.order.maxFeeBips));
    const fill: FillOp = { type: "fill", sell: seller.order, buy: buyer.order, baseAmount: base, quoteAmount: quote, sellFee, buyFee };
    this.ledger.settle(fill);

    seller.filled += base;
    buyer.filled += base;
    this.setReservation(seller, sellerReservedAfter);
    this.setReservation(buyer, buyerReservedAfter);
    const level = maker.level;
    if (!level) throw new Error("matching engine bug: maker is not resting");
    level.total -= base;

    const trade: Trade = {
      seq: this.nextTradeSeq++,
      market: market.id,
      makerHash: maker.hash,
      takerHash: taker.hash,
      makerAccount: maker.order.account,
      takerAccount: taker.order.account,
      takerSide: taker.order.side,
      price: level.display,
      priceNum: maker.price.num,
      priceDen: maker.price.den,
      baseAmount: base,
      quoteAmount: quote,
      sellFee,
      buyFee,
    };
    maker.book.trades.push(trade);
    (maker.fills ??= []).push(trade);
    (taker.fills ??= []).push(trade);
    events.push({ type: "trade", ...trade });

    // A buying maker left with a remainder that would pay 0 leaves the book with the fill (isDust).
    const makerDust = maker.remaining > 0n && isDust(maker);
    if (maker.remaining === 0n || makerDust) {
      level.remove(maker);
      maker.book.sideOf(maker.order.side).removeIfEmpty(level);
      if (makerDust) {
        this.release(maker);
        maker.status = "cancelled";
        maker.reason = "dust";
      } else this.finish(maker);
    } else maker.status = "partially_filled";
    events.push(levelEvent(market.id, maker.order.side, level), orderEvent(maker));
    if (taker.remaining === 0n) this.finish(taker);
    else taker.status = "partially_filled";
    events.push(orderEvent(taker));
    return null;
  }

  /** After paying, the order's owner must still cover its other reservations in that token. */
  private canPay(rec: OrderRecord, pay: bigint, reservedAfter: bigint): boolean {
    const { account } = rec.order;
    const token = rec.payToken;
    const othersReserved = this.reservations.get(account, token) - rec.reserved;
    return this.ledger.balance(account, token) - pay >= othersReserved + reservedAfter;
  }

  // ---------------------------------------------------------------- voided fills

  /** A resting order takes back `base`: same place in its level, a larger remainder and reservation. */
  private growAfterVoid(rec: OrderRecord, base: bigint, t: number, events: EngineEvent[]): void {
    if (this.isExpired(rec.order, t)) {
      rec.filled -= base;
      this.close(rec, "expired", "expired", events);
      return;
    }
    const need = reservationFor(rec.order.side, rec.remaining + base, rec.price);
    if (!this.canReserve(rec, need)) {
      rec.filled -= base;
      this.close(rec, "cancelled", "insufficient_balance", events);
      return;
    }
    rec.filled -= base;
    this.setReservation(rec, need);
    rec.status = rec.filled > 0n ? "partially_filled" : "open";
    const level = rec.level;
    if (level) {
      level.total += base;
      events.push(levelEvent(rec.book.id, rec.order.side, level));
    }
    events.push(orderEvent(rec));
  }

  /** An order that a voided fill had completed, with its filled amount already lowered. */
  private reopen(rec: OrderRecord, t: number, events: EngineEvent[]): void {
    const closed = (status: OrderStatus, reason?: CloseReason): void => {
      rec.status = status;
      rec.reason = reason;
      events.push(orderEvent(rec));
    };
    if (this.isExpired(rec.order, t)) return closed("expired", "expired");
    if (rec.timeInForce === "ioc") return closed("cancelled", "ioc_remainder");
    const stored = this.ledger.orderSlot(rec.order.account, rec.slot);
    if (this.openBySlot.get(rec.order.account)?.has(rec.slot) || stored.orderId > rec.order.orderId) return closed("cancelled", "slot_in_use");
    // The ledger's counter is the fills still pending or proven; never let the record claim less.
    if (stored.orderId === rec.order.orderId && stored.filled > rec.filled) rec.filled = stored.filled;
    if (rec.filled >= rec.order.amount) return closed("filled");
    if (!this.canReserve(rec, reservationFor(rec.order.side, rec.remaining, rec.price))) return closed("cancelled", "insufficient_balance");
    if (rec.timeInForce === "post_only" && this.wouldTake(rec.book, rec.order.side, rec.price, t)) return closed("cancelled", "would_take");
    rec.status = rec.filled > 0n ? "partially_filled" : "open";
    rec.reason = undefined;
    this.track(rec);
    events.push(orderEvent(rec));
    if (rec.timeInForce !== "post_only") this.match(rec, t, events);
    if (rec.isOpen) {
      if (isDust(rec)) this.close(rec, "cancelled", "dust", events);
      else this.rest(rec, events);
    }
  }

  /** Whether the owner's free funds (its other orders' reservations aside) cover `need` for this order. */
  private canReserve(rec: OrderRecord, need: bigint): boolean {
    const { account } = rec.order;
    const token = rec.payToken;
    const othersReserved = this.reservations.get(account, token) - rec.reserved;
    return this.ledger.balance(account, token) - othersReserved >= need;
  }

  // ---------------------------------------------------------------- order lifecycle

  /** Registers an accepted order: history, its slot, its reservation, its expiry. */
  private track(rec: OrderRecord): void {
    this.orders.set(rec.hash, rec);
    let slots = this.openBySlot.get(rec.order.account);
    if (!slots) {
      slots = new Map();
      this.openBySlot.set(rec.order.account, slots);
    }
    slots.set(rec.slot, rec);
    this.setReservation(rec, reservationFor(rec.order.side, rec.remaining, rec.price));
    this.due.push(rec.order.validUntil, { kind: "expire", hash: rec.hash });
  }

  private rest(rec: OrderRecord, events: EngineEvent[]): void {
    const level = rec.book.sideOf(rec.order.side).levelAt(rec.price);
    level.append(rec);
    events.push(levelEvent(rec.book.id, rec.order.side, level));
  }

  /** Ends an open order before it is filled: off the book, reservation and slot released. */
  private close(rec: OrderRecord, status: OrderStatus, reason: CloseReason, events: EngineEvent[]): void {
    const level = rec.level;
    if (level) {
      level.remove(rec);
      rec.book.sideOf(rec.order.side).removeIfEmpty(level);
      events.push(levelEvent(rec.book.id, rec.order.side, level));
    }
    this.release(rec);
    rec.status = status;
    rec.reason = reason;
    events.push(orderEvent(rec));
  }

  private finish(rec: OrderRecord): void {
    this.release(rec);
    rec.status = "filled";
  }

  private release(rec: OrderRecord): void {
    this.setReservation(rec, 0n);
    const slots = this.openBySlot.get(rec.order.account);
    if (slots?.get(rec.slot) === rec) {
      slots.delete(rec.slot);
      if (slots.size === 0) this.openBySlot.delete(rec.order.account);
    }
  }

  private setReservation(rec: OrderRecord, amount: bigint): void {
    this.reservations.add(rec.order.account, rec.payToken, amount - rec.reserved);
    rec.reserved = amount;
  }

  private retire(hash: string, validUntil: number): void {
    this.retired.set(hash, validUntil);
    this.due.push(validUntil + this.historyRetentionS, { kind: "forget", hash });
  }

  private isExpired(order: Order, t: number): boolean {
    return t + this.expiryMarginS > order.validUntil;
  }

  private tick(now: number): number {
    if (!Number.isFinite(now)) throw new TypeError(`now must be a finite unix time in seconds, got ${now}`);
    if (now > this.clock) this.clock = now;
    return this.clock;
  }
}

/**
 * Whether the order's remainder, resting as a maker, could only ever be filled for 0 quote: fills of
 * a resting order are at its own price for at most its remainder, and a buying maker pays the floor.
 * Only buys can be dust this way (a selling maker receives the ceiling, at least 1). Such an order is
 * closed as `dust` instead of resting: it could never trade, yet it would hold a reservation and look
 * like liquidity. It may still take as a taker (a selling maker's ceiling pays ≥ 1).
 */
function isDust(rec: OrderRecord): boolean {
  return makerQuote(rec.order.side, rec.remaining, rec.price) === 0n;
}

/** A sell holds back its remaining base; a buy the most quote its remaining base can cost. */
function reservationFor(side: Order["side"], remaining: bigint, price: Price): bigint {
  return side === "sell" ? remaining : buyReservation(remaining, price);
}

function validateOptions(o: EngineOptions): void {
  const isPowerOf4 = (n: number) => Number.isInteger(n) && n >= 4 && 4 ** Math.round(Math.log(n) / Math.log(4)) === n;
  if (!isPowerOf4(o.orderSlots)) throw new Error(`orderSlots must be 4^orderLevels, got ${o.orderSlots}`);
  if (!Number.isFinite(o.expiryMarginS) || o.expiryMarginS < 0) throw new Error("expiryMarginS must be ≥ 0");
  for (const [name, v] of [["tradeHistory", o.tradeHistory], ["historyRetentionS", o.historyRetentionS], ["priceDecimals", o.priceDecimals]] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 0)) throw new Error(`${name} must be a non-negative integer`);
  }
  const ids = new Set<string>();
  const pairs = new Set<string>();
  for (const m of o.markets) {
    if (typeof m.id !== "string" || m.id === "") throw new Error("market id must be a non-empty string");
    if (ids.has(m.id)) throw new Error(`duplicate market id ${m.id}`);
    const pair = pairKey(m.base, m.quote);
    if (pairs.has(pair)) throw new Error(`market ${m.id}: pair ${pair} is configured twice`);
    if (!Number.isInteger(m.base) || !Number.isInteger(m.quote) || m.base < 0 || m.quote < 0 || m.base === m.quote) {
      throw new Error(`market ${m.id}: base and quote must be distinct token ids`);
    }
    for (const bips of [m.makerFeeBips, m.takerFeeBips]) {
      if (!Number.isInteger(bips) || bips < 0 || bips > MAX_FEE_BIPS) throw new Error(`market ${m.id}: fee rates must be integers in 0..10000 bips`);
    }
    ids.add(m.id);
    pairs.add(pair);
  }
}
