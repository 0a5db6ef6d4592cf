/**
 * The sequencer's trading desk: signed orders in, fills out. It checks each order with core's rules
 * against the pending view, runs the matching engine, and writes the order, every fill it made
 * (an operation for the batches) and every order it touched in one SQLite transaction before it
 * answers, so an acknowledged order or fill survives a crash. On start it rebuilds the book from
 * the orders table. The signature is verified first, on a worker thread (sequencer/verify-pool.ts);
 * everything after that is synchronous: an order request is atomic with respect to batch cuts.
 * Only the answer waits: for the fsync that makes the transaction durable, which the commits of
 * one group share (Store.writeOrderRequest). Stream events wait with it, in order (the outbox), so
 * a subscriber never sees what a power loss could still undo, and sees everything in engine order.
 */
import { sha256 } from "@noble/hashes/sha256";
import { concatBytes, fromHex, toBytesBE, toHex } from "../core/field";
import { ProtocolError } from "../core/errors";
import type { Signature } from "../core/eddsa";
import { cancelMessage, checkOrder, orderHash, orderMessage } from "../core/ops/order";
import { ORDER_ARITY, maxTokens, type Params } from "../core/params";
import type { BatchContext, FillOp, Order } from "../core/ops/types";
import type { Domain } from "../core/domain";
import { MatchingEngine, type EngineEvent, type EngineSnapshot, type Ledger, type MarketConfig, type OrderEvent, type TradeEvent } from "./matching";
import { ApiError, badRequest, fromProtocolError, notFound } from "./errors";
import type { LogFn } from "./log";
import type { PendingView } from "./pending";
import type { PendingTx } from "./plan";
import type { Hex, NewOrder, OrderRow, OrderUpdate, Store, TradeRow, TradeWithStatus, TxStatus } from "./store";
import type { StreamEvent } from "./stream";
import { fillToWire, orderToWire, parseCancelRequest, parseOrder, parseOrderRequest, type WireTimeInForce } from "./wire";
import { signatureCheck, type Verified, type VerifiedSignatures } from "./verify-pool";
import { orderInfo, tradeInfo, type BookInfo, type MarketInfo, type OrderAccepted, type OrderInfo, type TradeInfo } from "./views";

export interface DeskOptions {
  readonly params: Params;
  /** The deployment orders and cancels are signed for. */
  readonly domain: Domain;
  readonly markets: readonly MarketConfig[];
  /** An order is matchable only while now + expiryMarginS ≤ validUntil, so every fill fits a batch in time. */
  readonly expiryMarginS: number;
  readonly store: Store;
  readonly log: LogFn;
  /** The sequencer's current pending view (replaced after every cut). */
  readonly view: () => PendingView;
  /** The context an operation accepted now is checked in (the earliest batch it can land in). */
  readonly context: () => BatchContext;
  /** Engine time in seconds: never behind the chain or the last batch. */
  readonly now: () => number;
  /** Appends the fills an order made to the sequencer's pending operations, in order. */
  readonly appendOps: (items: PendingTx[]) => void;
  readonly emit: (e: StreamEvent) => void;
  /** The book and the pending view ran ahead of the database (a failed write): stop the sequencer. */
  readonly fatal: (reason: string) => void;
  /**
   * Verifies a signature under the account's key ahead of the synchronous step (on a worker
   * thread); null when it did not (the step then verifies on the main thread). Default: never.
   */
  readonly preverify?: (account: number, message: () => bigint, sig: Signature) => Promise<Verified | null>;
  /** Where the signatures of accepted orders are recorded, so a cut does not verify them again. */
  readonly verifiedSignatures?: VerifiedSignatures;
}

/** Rejections of the engine, as API errors. */
const REJECT_STATUS: Record<string, 400 | 409 | 422> = {
  unknown_market: 400,
  invalid_order: 400,
  invalid_amount: 400,
  duplicate_order: 409,
  slot_in_use: 409,
  expired: 422,
  order_id_used: 422,
  order_filled: 422,
  would_take: 422,
  insufficient_balance: 422,
};

export function validateMarkets(p: Params, markets: readonly MarketConfig[]): void {
  const ids = new Set<string>();
  const pairs = new Set<string>();
  for (const m of markets) {
    if (!/^[A-Za-z0-9._-]{1,32}$/.test(m.id)) throw new Error(`market id ${JSON.stringify(m.id)}: 1-32 letters, digits, . _ -`);
    if (ids.has(m.id)) throw new Error(`market ${m.id} is configured twice`);
    ids.add(m.id);
    for (const t of [m.base, m.quote]) if (!Number.isInteger(t) || t < 0 || t >= maxTokens(p)) throw new Error(`market ${m.id}: token ${t} outside 0..${maxTokens(p) - 1}`);
    if (m.base === m.quote) throw new Error(`market ${m.id}: base and quote are the same token`);
    const pair = `${m.base}/${m.quote}`;
    if (pairs.has(pair)) throw new Error(`market ${m.id}: another market trades ${pair}`);
    pairs.add(pair);
    for (const f of [m.makerFeeBips, m.takerFeeBips]) if (!Number.isInteger(f) || f < 0 || f > 10_000) throw new Error(`market ${m.id}: fee ${f} bips outside 0..10000`);
    // A fill charges both sides in two tokens; a batch must have room for both.
    if ((m.makerFeeBips > 0 || m.takerFeeBips > 0) && p.feeBuckets < 2) throw new Error(`market ${m.id} charges fees: needs feeBuckets ≥ 2, the deployment has ${p.feeBuckets}`);
  }
}

/** The API id of a fill operation: sha256(makerHash ‖ takerHash ‖ trade seq as u64). */
export function fillHash(makerHash: Hex, takerHash: Hex, trade: number): Hex {
  return toHex(sha256(concatBytes(fromHex(makerHash), fromHex(takerHash), toBytesBE(BigInt(trade), 8))));
}

export class TradingDesk {
  private readonly engine: MatchingEngine;
  private readonly byPair = new Map<string, MarketConfig>();
  /** Fills the engine settled during the current call, in order. */
  private settled: FillOp[] = [];
  /** Set when a write failed after the engine had matched: memory no longer equals the database. */
  private broken: string | null = null;
  /** Stream events in engine order; an entry goes out once it and every entry before it is ready (its write durable). */
  private readonly outbox: { ready: boolean; events: StreamEvent[] }[] = [];
  private draining = false;

  constructor(private readonly o: DeskOptions) {
    validateMarkets(o.params, o.markets);
    for (const m of o.markets) this.byPair.set(`${m.base}/${m.quote}`, m);
    const ledger: Ledger = {
      balance: (account, token) => o.view().balance(account, token),
      orderSlot: (account, slot) => o.view().orderSlot(account, slot),
      settle: (fill) => {
        o.view().apply(fill);
        this.settled.push(fill);
      },
    };
    this.engine = new MatchingEngine(ledger, { markets: o.markets, orderSlots: ORDER_ARITY ** o.params.orderLevels, expiryMarginS: o.expiryMarginS });
  }

  /** Why acceptance must stop until a restart (a failed write after matching), or null. */
  get brokenReason(): string | null {
    return this.broken;
  }

  get tradingEnabled(): boolean {
    return this.o.markets.length > 0;
  }

  /** Rebuilds the book from the orders table (open orders rest again; closed ones stay refused). */
  restore(): { open: number; dropped: number } {
    const now = this.o.now();
    const open = this.o.store.openOrders();
    const snapshot: EngineSnapshot = {
      version: 1,
      clock: now,
      nextOrderSeq: this.o.store.maxOrderSeq() + 1,
      nextTradeSeq: this.o.store.maxTradeSeq() + 1,
      orders: open.map((r) => ({
        hash: r.hash,
        order: parseOrder(r.body, this.o.params),
        timeInForce: r.timeInForce === "post_only" ? "post_only" : "gtc",
        seq: r.seq,
        filled: r.filled,
      })),
      retired: this.o.store.retiredOrders(now).map((r) => ({ hash: r.hash, validUntil: r.body.validUntil })),
    };
    const { events } = this.engine.restore(snapshot, now);
    const updates = orderUpdates(events);
    this.o.store.updateOrders(updates, Date.now());
    this.publish(events, Date.now());
    return { open: open.length, dropped: updates.length };
  }

  /** The share of a balance that open orders hold; transfers and withdrawals may not spend it. */
  reserved(account: number, token: number): bigint {
    return this.engine.reserved(account, token);
  }

  /**
   * Parses the order, verifies its signature ahead (preverify, off the main thread), then runs the
   * synchronous step: `admit` (the caller's own gates, e.g. back-pressure), duplicates, core's order
   * rules with the verified signature, matching and the durable write. The gates run before the
   * verification too, so a refused request costs no verification.
   */
  async submitOrder(body: unknown, admit: () => void = () => undefined): Promise<OrderAccepted> {
    admit();
    this.admitOrder();
    const { order, timeInForce } = parseOrderRequest(body, this.o.params);
    const market = this.byPair.get(`${order.base}/${order.quote}`);
    if (!market) throw badRequest(`no market trades base ${order.base} against quote ${order.quote}`, "unknown_market");
    const hash = orderHash(order, this.o.domain);
    if (this.o.store.hasOrder(hash)) throw new ApiError(409, "duplicate", `order ${hash} was already received`);
    const verified = this.o.preverify ? await this.o.preverify(order.account, () => orderMessage(order, this.o.domain), order.signature) : null;
    // From here on synchronous: an order request is atomic with respect to batch cuts and other requests.
    admit();
    this.admitOrder();
    const { accepted, durable } = this.acceptOrder(order, timeInForce, market, hash, verified);
    try {
      await durable;
    } catch (e) {
      // Committed but perhaps not on disk: never acknowledged, and nothing after it can be.
      this.broken ??= `could not make order ${hash} durable: ${(e as Error).message}`;
      this.o.fatal(this.broken);
      throw new ApiError(500, "internal", `trading is stopped: ${this.broken}; restart the sequencer`);
    }
    return accepted;
  }

  private admitOrder(): void {
    if (!this.tradingEnabled) throw new ApiError(404, "not_found", "this sequencer has no markets configured");
    if (this.broken) throw new ApiError(500, "internal", `trading is stopped: ${this.broken}; restart the sequencer`);
  }

  /** The synchronous step; `durable` resolves when its write is on disk (and its stream events have gone out). */
  private acceptOrder(order: Order, timeInForce: WireTimeInForce, market: MarketConfig, hash: Hex, verified: Verified | null): { accepted: OrderAccepted; durable: Promise<void> } {
    // Two identical requests may both have passed the first look before either was stored.
    if (this.o.store.hasOrder(hash)) throw new ApiError(409, "duplicate", `order ${hash} was already received`);
    try {
      checkOrder(this.o.view(), order, this.o.context(), signatureCheck(verified, this.o.verifiedSignatures));
    } catch (e) {
      if (e instanceof ProtocolError) throw fromProtocolError(e);
      throw e;
    }
    this.settled = [];
    const r = this.engine.place(order, { hash, timeInForce }, this.o.now());
    if (!r.accepted) {
      this.publish(r.events, Date.now());
      throw new ApiError(REJECT_STATUS[r.code] ?? 422, r.code, r.message);
    }
    const at = Date.now();
    const { durable, fills } = this.commit(r.events, { hash, seq: r.order.seq, market: market.id, body: orderToWire(order), timeInForce, acceptedAt: at }, at, `order ${hash}`);
    this.o.log({ level: "debug", msg: "order.accepted", hash, market: market.id, side: order.side, fills: fills.length, status: r.order.status });
    const accepted = { hash, status: r.order.status, filled: r.order.filled.toString(), remaining: r.order.remaining.toString(), fills };
    return { accepted, durable };
  }

  /**
   * Stores what one engine call did (a new order, if any, the fills it made as operations with their
   * trades, and every order it touched) in one transaction, appends the fills to the pending
   * operations in order, and queues its stream events until the write is durable. A failed write
   * stops trading: the engine and the pending view have moved and only a restart rebuilds both.
   */
  private commit(events: readonly EngineEvent[], order: NewOrder | null, at: number, what: string): { durable: Promise<void>; fills: Hex[] } {
    const trades = events.filter((e): e is TradeEvent => e.type === "trade");
    if (trades.length !== this.settled.length) throw new Error(`engine made ${trades.length} trades but settled ${this.settled.length} fills`);
    const fills = trades.map((t, i) => {
      const fill = this.settled[i];
      const h = fillHash(t.makerHash as Hex, t.takerHash as Hex, t.seq);
      const trade: TradeRow = {
        seq: t.seq, market: t.market, fillHash: h, makerHash: t.makerHash as Hex, takerHash: t.takerHash as Hex,
        makerAccount: t.makerAccount, takerAccount: t.takerAccount, takerSide: t.takerSide, price: t.price,
        baseAmount: t.baseAmount, quoteAmount: t.quoteAmount, sellFee: t.sellFee, buyFee: t.buyFee, at,
      };
      return { hash: h, fill, trade, body: fillToWire({ fill, trade: t.seq, market: t.market, makerHash: t.makerHash as Hex, takerHash: t.takerHash as Hex }) };
    });
    let seqs: number[];
    let written: Promise<void>;
    try {
      ({ seqs, durable: written } = this.o.store.writeOrderRequest({ order, fills, updates: orderUpdates(events), at }));
    } catch (e) {
      // Nothing was acknowledged, but the engine and the pending view already moved: only a restart
      // (which rebuilds both from the database) makes them agree again.
      this.broken = `could not store ${what}: ${(e as Error).message}`;
      this.o.fatal(this.broken);
      throw e;
    }
    this.o.appendOps(fills.map((f, i) => ({ seq: seqs[i], hash: f.hash, tx: f.fill, acceptedAt: at })));
    const entry = { ready: false, events: events.map((e) => toStreamEvent(e, at)) };
    this.outbox.push(entry);
    const release = (): void => {
      entry.ready = true;
      this.drain();
    };
    const durable = written.then(release, (e: unknown) => {
      entry.events = [];
      release();
      throw e;
    });
    return { durable, fills: fills.map((f) => f.hash) };
  }

  /**
   * Fills that could not be batched (PROTOCOL.md §4.7): each gives its base back to both of its
   * orders, which open again where they still can (the engine's `voidFill`), and what re-opened
   * orders then match is stored and queued like any fill. Called at a cut, synchronously, after the
   * transaction that rejected the fills and with the pending view that no longer holds them. An
   * order the engine has forgotten gets its record corrected here: lower filled, and `expired` if
   * the voided fill had completed it.
   */
  voidFills(trades: readonly TradeRow[]): void {
    if (trades.length === 0 || this.broken) return;
    this.settled = [];
    const events: EngineEvent[] = [];
    const now = this.o.now();
    for (const t of trades) {
      events.push(...this.engine.voidFill({ seq: t.seq, makerHash: t.makerHash, takerHash: t.takerHash, baseAmount: t.baseAmount }, now).events);
      for (const hash of [t.makerHash, t.takerHash]) {
        if (this.engine.order(hash)) continue;
        const row = this.o.store.getOrder(hash);
        if (!row) continue;
        const filled = row.filled - t.baseAmount;
        events.push({
          type: "order", hash, market: row.market, account: row.account, side: row.body.side, filled,
          remaining: BigInt(row.body.amount) - filled,
          ...(row.status === "filled" ? { status: "expired" as const, reason: "expired" as const } : { status: row.status, ...(row.reason ? { reason: row.reason as OrderEvent["reason"] } : {}) }),
        });
      }
    }
    const at = Date.now();
    const { durable, fills } = this.commit(events, null, at, `the voiding of ${trades.length} fill(s)`);
    durable.catch((e: unknown) => {
      this.broken ??= `could not make the voiding of fills durable: ${(e as Error).message}`;
      this.o.fatal(this.broken);
    });
    this.o.log({ level: "warn", msg: "fills.voided", fills: trades.map((t) => t.fillHash), newFills: fills });
  }

  /**
   * A signed cancel of an open order: the signature is over core's cancelMessage(account, orderId,
   * domain). Verified ahead on a worker like orders (preverify); the synchronous step re-checks the
   * order and the owner's key as they are then, and verifies on the main thread only what the worker
   * did not (signatureCheck), so a stream of bogus cancels costs the event loop no verification.
   */
  async cancelOrder(hash: Hex, body: unknown, admit: () => void = () => undefined): Promise<OrderInfo> {
    admit();
    const signature = parseCancelRequest(body);
    // Rows are never deleted and their account and order id never change: one read serves both steps.
    const row = this.o.store.getOrder(hash);
    if (!row) throw notFound(`order ${hash} not found`);
    const message = cancelMessage(row.account, BigInt(row.body.orderId), this.o.domain);
    const verified = this.o.preverify ? await this.o.preverify(row.account, () => message, signature) : null;
    // From here on synchronous, as acceptance is.
    admit();
    const acc = this.o.view().account(row.account);
    if (!signatureCheck(verified)(message, signature, { ax: acc.ax, ay: acc.ay })) {
      throw new ApiError(422, "bad_signature", "cancel signature does not verify under the order owner's key");
    }
    const r = this.engine.cancel(hash);
    if (!r.ok) throw new ApiError(409, r.code, r.message);
    const at = Date.now();
    this.o.store.updateOrders(orderUpdates(r.events), at);
    this.publish(r.events, at);
    this.o.log({ msg: "order.cancelled", hash });
    return this.order(hash)!;
  }

  /** Retires orders that can no longer be filled in time. */
  expire(): void {
    if (!this.tradingEnabled) return;
    const { events } = this.engine.expire(this.o.now());
    if (events.length === 0) return;
    const at = Date.now();
    this.o.store.updateOrders(orderUpdates(events), at);
    this.publish(events, at);
  }

  /** Emits the lifecycle of the fills of a batch (batched, proven, finalized) or of rejected fills. */
  fillsChanged(trades: readonly TradeWithStatus[], status: Extract<TxStatus, "batched" | "proven" | "finalized" | "rejected">): void {
    this.enqueue(
      trades.map((t) => ({
        type: "fill_status", fillHash: t.fillHash, market: t.market, trade: t.seq, makerHash: t.makerHash, takerHash: t.takerHash,
        makerAccount: t.makerAccount, takerAccount: t.takerAccount, status, batch: t.batch,
      })),
    );
  }

  order(hash: Hex): OrderInfo | null {
    const row = this.o.store.getOrder(hash);
    return row ? this.orderInfoOf(row) : null;
  }

  accountOrders(account: number, limit: number): OrderInfo[] {
    return this.o.store.ordersOfAccount(account, limit).map((r) => this.orderInfoOf(r));
  }

  markets(): MarketInfo[] {
    return this.o.markets.map((m) => ({ ...m }));
  }

  marketIds(): string[] {
    return this.o.markets.map((m) => m.id);
  }

  book(market: string, depth: number): BookInfo | null {
    const b = this.engine.book(market, depth);
    if (!b) return null;
    const level = (l: (typeof b.bids)[number]) => ({ price: l.price, priceNum: l.priceNum.toString(), priceDen: l.priceDen.toString(), amount: l.amount.toString(), orders: l.orders });
    return { market, bids: b.bids.map(level), asks: b.asks.map(level) };
  }

  trades(market: string, limit: number): TradeInfo[] | null {
    if (!this.o.markets.some((m) => m.id === market)) return null;
    return this.o.store.tradesOfMarket(market, limit).map(tradeInfo);
  }

  private orderInfoOf(row: OrderRow): OrderInfo {
    return orderInfo(row, this.o.store.tradesOfOrder(row.hash));
  }

  private publish(events: readonly EngineEvent[], at: number): void {
    this.enqueue(events.map((e) => toStreamEvent(e, at)));
  }

  /** Events that need no write of their own: out now, unless earlier ones still wait for theirs. */
  private enqueue(events: StreamEvent[]): void {
    if (events.length === 0) return;
    this.outbox.push({ ready: true, events });
    this.drain();
  }

  private drain(): void {
    // A listener that makes the desk publish again only queues: the loop below sends it in order.
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.outbox.length > 0 && this.outbox[0].ready) {
        const { events } = this.outbox.shift()!;
        for (const e of events) this.o.emit(e);
      }
    } finally {
      this.draining = false;
    }
  }
}

/** The last status of every order an engine call touched. */
function orderUpdates(events: readonly EngineEvent[]): OrderUpdate[] {
  const last = new Map<string, OrderEvent>();
  for (const e of events) if (e.type === "order" && e.status !== "rejected") last.set(e.hash, e);
  return [...last.values()].map((e) => ({ hash: e.hash as Hex, status: e.status, reason: e.reason ?? null, filled: e.filled }));
}

function toStreamEvent(e: EngineEvent, at: number): StreamEvent {
  switch (e.type) {
    case "trade":
      return {
        type: "trade", market: e.market, trade: e.seq, price: e.price, priceNum: e.priceNum.toString(), priceDen: e.priceDen.toString(),
        baseAmount: e.baseAmount.toString(), quoteAmount: e.quoteAmount.toString(), takerSide: e.takerSide, makerHash: e.makerHash,
        takerHash: e.takerHash, makerAccount: e.makerAccount, takerAccount: e.takerAccount, sellFee: e.sellFee.toString(), buyFee: e.buyFee.toString(), time: at,
      };
    case "level":
      return { type: "level", market: e.market, side: e.side, price: e.price, priceNum: e.priceNum.toString(), priceDen: e.priceDen.toString(), amount: e.amount.toString() };
    case "order":
      return {
        type: "order", hash: e.hash, market: e.market, account: e.account, side: e.side, status: e.status,
        filled: e.filled.toString(), remaining: e.remaining.toString(), ...(e.reason ? { reason: e.reason } : {}),
      };
  }
}
