/**
 * The limit order matching engine (sequencer/matching): priority, order types, cancels, self-trade
 * prevention, reservations, slot rules, expiry, fees, protocol limits on every fill, determinism
 * (against itself and an independent brute-force matcher) and snapshot/restore.
 */
import { FLOAT16, floorToFloat, tryEncodeFloat } from "../core/float";
import type { FillOp, Order } from "../core/ops/types";
import {
  MatchingEngine,
  MemoryLedger,
  feeOn,
  type EngineEvent,
  type EngineOptions,
  type CancelResult,
  type EventsResult,
  type MarketConfig,
  type PlaceResult,
  type TimeInForce,
  type Trade,
  type TradeEvent,
} from "../sequencer/matching";

const NOW = 1_700_000_000;
const MARGIN = 30;
const ETH = 1;
const USDC = 2;
const BTC = 3;
const ETH_USDC: MarketConfig = { id: "ETH-USDC", base: ETH, quote: USDC, makerFeeBips: 10, takerFeeBips: 25 };
const BTC_USDC: MarketConfig = { id: "BTC-USDC", base: BTC, quote: USDC, makerFeeBips: 0, takerFeeBips: 0 };
const ZERO_SIG = { r8x: 0n, r8y: 0n, s: 0n };
const AMPLE = 10n ** 30n;

// ------------------------------------------------------------------ fixtures

interface OrderSpec {
  account: number;
  orderId: bigint | number;
  side: "buy" | "sell";
  amount: bigint | number;
  quoteAmount: bigint | number;
  maxFeeBips?: number;
  validUntil?: number;
  base?: number;
  quote?: number;
}

function mkOrder(s: OrderSpec): Order {
  return {
    account: s.account,
    orderId: BigInt(s.orderId),
    base: s.base ?? ETH,
    quote: s.quote ?? USDC,
    side: s.side,
    amount: BigInt(s.amount),
    quoteAmount: BigInt(s.quoteAmount),
    maxFeeBips: s.maxFeeBips ?? 10_000,
    validUntil: s.validUntil ?? NOW + 86_400,
    signature: ZERO_SIG,
  };
}

const hashOf = (o: Order) => `h${o.account}-${o.orderId}-${o.side}-${o.amount}-${o.quoteAmount}-${o.validUntil}`;

interface World {
  engine: MatchingEngine;
  ledger: MemoryLedger;
  /** Places and returns the result; the hash defaults to one derived from the order. */
  place(s: OrderSpec, tif?: TimeInForce, now?: number, hash?: string): PlaceResult & { hash: string };
}

function world(opts: Partial<EngineOptions> = {}, fund: number[] = [1, 2, 3, 4, 5]): World {
  const options: EngineOptions = { markets: [ETH_USDC, BTC_USDC], orderSlots: 16, expiryMarginS: MARGIN, ...opts };
  const ledger = new MemoryLedger(options.orderSlots, 0);
  for (const a of fund) for (const t of [ETH, USDC, BTC]) ledger.credit(a, t, AMPLE);
  const engine = new MatchingEngine(ledger, options);
  return {
    engine,
    ledger,
    place(s, tif = "gtc", now = NOW, hash) {
      const o = mkOrder(s);
      const h = hash ?? hashOf(o);
      return { ...engine.place(o, { hash: h, timeInForce: tif }, now), hash: h };
    },
  };
}

function accepted(r: PlaceResult): asserts r is Extract<PlaceResult, { accepted: true }> {
  if (!r.accepted) throw new Error(`expected acceptance, got ${r.code}: ${r.message}`);
}

const tradesIn = (events: readonly EngineEvent[]): TradeEvent[] => events.filter((e): e is TradeEvent => e.type === "trade");

// ------------------------------------------------------------------ independent protocol checks

/** Float16 floor, written here independently of the engine. */
function f16Floor(v: bigint): bigint {
  return floorToFloat(FLOAT16, v);
}

/** Every protocol rule a fill must obey (the circuit's), plus the engine's own fee policy. */
function assertFillValid(fill: FillOp, trade: Trade, market: MarketConfig): void {
  const { sell, buy, baseAmount: b, quoteAmount: q } = fill;
  expect(sell.side).toBe("sell");
  expect(buy.side).toBe("buy");
  expect([sell.base, sell.quote]).toEqual([buy.base, buy.quote]);
  expect([sell.base, sell.quote]).toEqual([market.base, market.quote]);
  expect(sell.account).not.toBe(buy.account);
  expect(b > 0n).toBe(true);
  // a fill pays at least one quote unit (PROTOCOL.md §4.6)
  expect(q > 0n).toBe(true);
  // seller gets at least floor(b·Qs/Bs); buyer pays at most ceil(b·Qb/Bb)
  expect(q * sell.amount + sell.amount - 1n >= b * sell.quoteAmount).toBe(true);
  expect(q * buy.amount <= b * buy.quoteAmount + buy.amount - 1n).toBe(true);
  // maker's price, rounded in the maker's favour
  const maker = trade.takerSide === "buy" ? sell : buy;
  const exact = b * maker.quoteAmount;
  const expectedQ = maker.side === "sell" ? (exact + maker.amount - 1n) / maker.amount : exact / maker.amount;
  expect(q).toBe(expectedQ);
  // fees: min(role rate, signed max), floored to float16, never above the signed maximum
  const sellRate = Math.min(trade.takerSide === "sell" ? market.takerFeeBips : market.makerFeeBips, sell.maxFeeBips);
  const buyRate = Math.min(trade.takerSide === "buy" ? market.takerFeeBips : market.makerFeeBips, buy.maxFeeBips);
  expect(fill.sellFee).toBe(f16Floor((q * BigInt(sellRate)) / 10_000n));
  expect(fill.buyFee).toBe(f16Floor((b * BigInt(buyRate)) / 10_000n));
  expect(tryEncodeFloat(FLOAT16, fill.sellFee)).not.toBeNull();
  expect(tryEncodeFloat(FLOAT16, fill.buyFee)).not.toBeNull();
  expect(fill.sellFee * 10_000n <= q * BigInt(sell.maxFeeBips)).toBe(true);
  expect(fill.buyFee * 10_000n <= b * BigInt(buy.maxFeeBips)).toBe(true);
  // the trade event says the same as the fill
  expect([trade.baseAmount, trade.quoteAmount, trade.sellFee, trade.buyFee]).toEqual([b, q, fill.sellFee, fill.buyFee]);
}

// ------------------------------------------------------------------ seeded randomness

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Request =
  | { kind: "place"; order: Order; hash: string; tif: TimeInForce; now: number }
  | { kind: "cancel"; hash: string }
  | { kind: "expire"; now: number };

interface GenOptions {
  seed: number;
  count: number;
  accounts: number;
  /** Give orders short, varied lifetimes and interleave expire() calls. */
  expiry: boolean;
  /** Reuse order ids so slot rules come into play. */
  slotPressure: boolean;
}

/** A seeded request stream on ETH-USDC: prices on a grid (ties common) and off it (odd rationals). */
function genRequests(g: GenOptions): Request[] {
  const rnd = mulberry32(g.seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const nextId = new Map<number, number>();
  const hashes: string[] = [];
  const out: Request[] = [];
  let now = NOW;
  for (let i = 0; i < g.count; i++) {
    now += int(0, 3);
    const r = rnd();
    if (r < 0.1 && hashes.length > 0) {
      out.push({ kind: "cancel", hash: hashes[int(0, hashes.length - 1)] });
      continue;
    }
    if (g.expiry && r < 0.15) {
      out.push({ kind: "expire", now });
      continue;
    }
    const account = int(1, g.accounts);
    const fresh = nextId.get(account) ?? 0;
    // with slot pressure, some orders reuse an older id: its slot may have moved on or be filled
    const reuse = g.slotPressure && fresh > 0 && rnd() < 0.15;
    const id = reuse ? Math.max(0, fresh - int(1, 20)) : fresh;
    if (!reuse) nextId.set(account, fresh + 1);
    const side = rnd() < 0.5 ? "buy" : "sell";
    const amount = BigInt(int(1, 20));
    const onGrid = rnd() < 0.6;
    const quoteAmount = onGrid ? amount * BigInt(int(97, 103)) : BigInt(int(Number(amount) * 96, Number(amount) * 104));
    const order = mkOrder({
      account,
      orderId: id,
      side,
      amount,
      quoteAmount,
      maxFeeBips: [0, 5, 10, 25, 10_000][int(0, 4)],
      validUntil: g.expiry ? now + int(0, 1_500) : now + 1_000_000,
    });
    const tifR = rnd();
    const tif: TimeInForce = tifR < 0.6 ? "gtc" : tifR < 0.8 ? "ioc" : "post_only";
    const hash = `r${i}`;
    hashes.push(hash);
    out.push({ kind: "place", order, hash, tif, now });
  }
  return out;
}

function run(engine: MatchingEngine, req: Request): PlaceResult | CancelResult | EventsResult {
  if (req.kind === "place") return engine.place(req.order, { hash: req.hash, timeInForce: req.tif }, req.now);
  if (req.kind === "cancel") return engine.cancel(req.hash);
  return engine.expire(req.now);
}

const json = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? `${x}n` : x));

// ------------------------------------------------------------------ behaviour

describe("matching engine: priority and partial fills", () => {
  test("better price first across levels, FIFO within a level, at the maker's price", () => {
    const w = world();
    const a = w.place({ account: 1, orderId: 1, side: "sell", amount: 5, quoteAmount: 505 }); // 101
    const b = w.place({ account: 2, orderId: 1, side: "sell", amount: 5, quoteAmount: 500 }); // 100, first
    const c = w.place({ account: 3, orderId: 1, side: "sell", amount: 5, quoteAmount: 500 }); // 100, second
    const d = w.place({ account: 4, orderId: 1, side: "sell", amount: 5, quoteAmount: 510 }); // 102
    expect(w.engine.book("ETH-USDC", 10)!.asks.map((l) => [l.price, l.amount, l.orders])).toEqual([
      ["100", 10n, 2],
      ["101", 5n, 1],
      ["102", 5n, 1],
    ]);

    const t = w.place({ account: 5, orderId: 1, side: "buy", amount: 17, quoteAmount: 17 * 102 });
    accepted(t);
    const trades = tradesIn(t.events);
    expect(trades.map((x) => [x.makerHash, x.baseAmount, x.quoteAmount, x.price])).toEqual([
      [b.hash, 5n, 500n, "100"],
      [c.hash, 5n, 500n, "100"],
      [a.hash, 5n, 505n, "101"],
      [d.hash, 2n, 204n, "102"],
    ]);
    expect(trades.map((x) => x.seq)).toEqual([1, 2, 3, 4]);
    expect(trades.every((x) => x.takerHash === t.hash && x.takerSide === "buy")).toBe(true);
    expect(t.order.status).toBe("filled");
    expect(w.engine.order(d.hash)).toMatchObject({ status: "partially_filled", filled: 2n, remaining: 3n });
    expect(w.engine.book("ETH-USDC", 10)!.asks).toEqual([{ price: "102", priceNum: 102n, priceDen: 1n, amount: 3n, orders: 1 }]);
  });

  test("bids best first; a smaller taker touches only the head of the best level", () => {
    const w = world();
    const first = w.place({ account: 1, orderId: 1, side: "buy", amount: 4, quoteAmount: 400 });
    w.place({ account: 2, orderId: 1, side: "buy", amount: 4, quoteAmount: 400 });
    w.place({ account: 3, orderId: 1, side: "buy", amount: 3, quoteAmount: 297 });
    expect(w.engine.book("ETH-USDC", 10)!.bids.map((l) => l.price)).toEqual(["100", "99"]);
    const t = w.place({ account: 4, orderId: 1, side: "sell", amount: 1, quoteAmount: 90 });
    expect(tradesIn(t.events).map((x) => [x.makerHash, x.quoteAmount])).toEqual([[first.hash, 100n]]);
    expect(w.engine.book("ETH-USDC", 1)!.bids).toEqual([{ price: "100", priceNum: 100n, priceDen: 1n, amount: 7n, orders: 2 }]);
  });

  test("one maker partially filled by several takers, the last taker rests its remainder", () => {
    const w = world();
    const m = w.place({ account: 1, orderId: 1, side: "sell", amount: 10, quoteAmount: 1000 });
    w.place({ account: 2, orderId: 1, side: "buy", amount: 3, quoteAmount: 300 });
    expect(w.engine.order(m.hash)).toMatchObject({ status: "partially_filled", filled: 3n, remaining: 7n });
    w.place({ account: 3, orderId: 1, side: "buy", amount: 3, quoteAmount: 330 });
    const last = w.place({ account: 4, orderId: 1, side: "buy", amount: 5, quoteAmount: 500 });
    accepted(last);
    expect(last.order).toMatchObject({ status: "partially_filled", filled: 4n, remaining: 1n });
    const mv = w.engine.order(m.hash)!;
    expect(mv.status).toBe("filled");
    expect(mv.fills.map((f) => f.baseAmount)).toEqual([3n, 3n, 4n]);
    expect(w.engine.book("ETH-USDC", 5)).toMatchObject({ asks: [], bids: [{ price: "100", amount: 1n }] });
    const makerEvents = last.events.filter((e) => e.type === "order" && e.hash === m.hash);
    expect(makerEvents).toMatchObject([{ status: "filled", filled: 10n, remaining: 0n }]);
    expect(last.events.filter((e) => e.type === "level")).toEqual([
      { type: "level", market: "ETH-USDC", side: "sell", price: "100", priceNum: 100n, priceDen: 1n, amount: 0n },
      { type: "level", market: "ETH-USDC", side: "buy", price: "100", priceNum: 100n, priceDen: 1n, amount: 1n },
    ]);
    expect(w.engine.trades("ETH-USDC", 2)!.map((t) => t.seq)).toEqual([3, 2]);
  });
});

describe("matching engine: order types and cancels", () => {
  test("IOC: matches what it can, cancels the rest, keeps nothing reserved", () => {
    const w = world();
    w.place({ account: 1, orderId: 1, side: "sell", amount: 5, quoteAmount: 500 });
    const ioc = w.place({ account: 2, orderId: 1, side: "buy", amount: 8, quoteAmount: 800 }, "ioc");
    accepted(ioc);
    expect(ioc.order).toMatchObject({ status: "cancelled", reason: "ioc_remainder", filled: 5n, remaining: 3n });
    expect(w.engine.book("ETH-USDC", 5)).toMatchObject({ bids: [], asks: [] });
    expect(w.engine.reserved(2, USDC)).toBe(0n);
    const none = w.place({ account: 3, orderId: 1, side: "buy", amount: 8, quoteAmount: 800 }, "ioc");
    accepted(none);
    expect(none.order).toMatchObject({ status: "cancelled", reason: "ioc_remainder", filled: 0n });
  });

  test("post-only: rejected with would_take when crossing (nothing changes), rests otherwise", () => {
    const w = world();
    w.place({ account: 1, orderId: 1, side: "sell", amount: 5, quoteAmount: 500 });
    const before = json([w.engine.book("ETH-USDC", 10), w.engine.reserved(2, USDC), w.engine.snapshot()]);
    const r = w.place({ account: 2, orderId: 1, side: "buy", amount: 5, quoteAmount: 500 }, "post_only");
    expect(r).toMatchObject({ accepted: false, code: "would_take" });
    expect(r.events).toMatchObject([{ type: "order", status: "rejected", reason: "would_take", hash: r.hash }]);
    expect(json([w.engine.book("ETH-USDC", 10), w.engine.reserved(2, USDC), w.engine.snapshot()])).toBe(before);
    expect(w.engine.order(r.hash)).toBeUndefined();

    const ok = w.place({ account: 2, orderId: 2, side: "buy", amount: 5, quoteAmount: 495 }, "post_only");
    accepted(ok);
    expect(ok.order.status).toBe("open");
    expect(tradesIn(ok.events)).toEqual([]);
    expect(w.engine.book("ETH-USDC", 10)!.bids).toMatchObject([{ price: "99", amount: 5n }]);
    expect(w.engine.reserved(2, USDC)).toBe(495n);
  });

  test("cancel: immediate, releases the reservation, errors with a code when unknown or closed", () => {
    const w = world();
    const o = w.place({ account: 1, orderId: 1, side: "buy", amount: 3, quoteAmount: 100 }); // reserves ceil(3·100/3)
    expect(w.engine.reserved(1, USDC)).toBe(100n);
    const c = w.engine.cancel(o.hash);
    expect(c.ok).toBe(true);
    expect(c.events).toEqual([
      { type: "level", market: "ETH-USDC", side: "buy", price: "33.333333333333333333", priceNum: 100n, priceDen: 3n, amount: 0n },
      { type: "order", hash: o.hash, market: "ETH-USDC", account: 1, side: "buy", status: "cancelled", filled: 0n, remaining: 3n, reason: "user_cancel" },
    ]);
    expect(w.engine.reserved(1, USDC)).toBe(0n);
    expect(w.engine.openOrders(1)).toEqual([]);
    expect(w.engine.cancel(o.hash)).toMatchObject({ ok: false, code: "order_closed" });
    expect(w.engine.cancel("nope")).toMatchObject({ ok: false, code: "unknown_order" });
    // a cancelled signed order stays refused: it is still valid on-chain
    expect(w.place({ account: 1, orderId: 1, side: "buy", amount: 3, quoteAmount: 100 })).toMatchObject({ accepted: false, code: "duplicate_order" });
  });

  test("self-trade prevention cancels the resting order and matching continues", () => {
    const w = world();
    const own = w.place({ account: 1, orderId: 1, side: "sell", amount: 5, quoteAmount: 500 });
    const other = w.place({ account: 2, orderId: 1, side: "sell", amount: 5, quoteAmount: 505 });
    const t = w.place({ account: 1, orderId: 2, side: "buy", amount: 5, quoteAmount: 505 });
    accepted(t);
    expect(w.engine.order(own.hash)).toMatchObject({ status: "cancelled", reason: "self_trade", filled: 0n });
    expect(tradesIn(t.events).map((x) => [x.makerHash, x.quoteAmount])).toEqual([[other.hash, 505n]]);
    expect(t.order.status).toBe("filled");
    expect(w.engine.reserved(1, ETH)).toBe(0n);
    expect(w.ledger.fills.every((f) => f.sell.account !== f.buy.account)).toBe(true);
  });

  test("validation: unknown market, duplicate hash, non-positive amounts", () => {
    const w = world();
    expect(w.place({ account: 1, orderId: 1, side: "buy", amount: 1, quoteAmount: 1, base: USDC, quote: ETH })).toMatchObject({
      accepted: false,
      code: "unknown_market",
      events: [{ status: "rejected", market: null }],
    });
    expect(w.place({ account: 1, orderId: 1, side: "buy", amount: 0, quoteAmount: 1 })).toMatchObject({ accepted: false, code: "invalid_amount" });
    expect(w.place({ account: 1, orderId: 1, side: "buy", amount: 1, quoteAmount: 0 })).toMatchObject({ accepted: false, code: "invalid_amount" });
    accepted(w.place({ account: 1, orderId: 1, side: "buy", amount: 1, quoteAmount: 1 }, "gtc", NOW, "same"));
    expect(w.place({ account: 1, orderId: 2, side: "buy", amount: 1, quoteAmount: 1 }, "gtc", NOW, "same")).toMatchObject({ accepted: false, code: "duplicate_order" });
    // markets are separate books
    accepted(w.place({ account: 2, orderId: 1, side: "sell", amount: 1, quoteAmount: 1, base: BTC }));
    expect(w.engine.book("BTC-USDC", 5)!.asks).toHaveLength(1);
    expect(w.engine.book("ETH-USDC", 5)!.asks).toHaveLength(0);
    expect(w.engine.book("DOGE-USDC", 5)).toBeUndefined();
  });
});

describe("matching engine: balances, slots, expiry", () => {
  test("reservations block over-commitment across open orders", () => {
    const w = world({}, []);
    w.ledger.credit(1, ETH, 10n);
    w.ledger.credit(1, USDC, 1000n);
    accepted(w.place({ account: 1, orderId: 1, side: "sell", amount: 6, quoteAmount: 700 }));
    expect(w.place({ account: 1, orderId: 2, side: "sell", amount: 5, quoteAmount: 600 })).toMatchObject({ accepted: false, code: "insufficient_balance" });
    accepted(w.place({ account: 1, orderId: 3, side: "sell", amount: 4, quoteAmount: 480 }));
    expect(w.engine.reserved(1, ETH)).toBe(10n);
    accepted(w.place({ account: 1, orderId: 4, side: "buy", amount: 5, quoteAmount: 500 }));
    expect(w.place({ account: 1, orderId: 5, side: "buy", amount: 6, quoteAmount: 501 })).toMatchObject({ accepted: false, code: "insufficient_balance" });
    expect(w.engine.reserved(1, USDC)).toBe(500n);
    w.engine.cancel(w.engine.openOrders(1)[0].hash);
    accepted(w.place({ account: 1, orderId: 2, side: "sell", amount: 5, quoteAmount: 600 }, "gtc", NOW, "again"));
    expect(w.engine.openOrders(1).map((o) => o.orderId)).toEqual([3n, 4n, 2n]);
  });

  test("a fill that would cost more than it releases, eating other reservations, cancels the taker", () => {
    // Three makers each have 1 base left at 2/3 (their slots already filled 2 of 3): each fill costs
    // ceil(2/3) = 1 quote, while the taker's reservation ceil(r·2/3) falls by 0, 1, 1.
    const setup = (buyerQuote: bigint) => {
      const w = world({}, [1, 2, 3]);
      for (const a of [1, 2, 3]) {
        w.ledger.setSlot(a, 7, { orderId: 7n, filled: 2n });
        accepted(w.place({ account: a, orderId: 7, side: "sell", amount: 3, quoteAmount: 2 }));
      }
      w.ledger.credit(9, USDC, buyerQuote);
      return { w, r: w.place({ account: 9, orderId: 1, side: "buy", amount: 3, quoteAmount: 2 }) };
    };
    const tight = setup(2n);
    accepted(tight.r);
    expect(tight.r.order).toMatchObject({ status: "cancelled", reason: "insufficient_balance", filled: 0n });
    expect(tight.w.ledger.fills).toHaveLength(0);
    expect(tight.w.engine.reserved(9, USDC)).toBe(0n);

    const enough = setup(3n);
    accepted(enough.r);
    expect(enough.r.order).toMatchObject({ status: "filled", filled: 3n });
    expect(enough.w.ledger.balance(9, USDC)).toBe(0n);
    for (const f of enough.w.ledger.fills) {
      expect([f.baseAmount, f.quoteAmount]).toEqual([1n, 1n]);
      expect(f.quoteAmount * f.buy.amount <= f.baseAmount * f.buy.quoteAmount + f.buy.amount - 1n).toBe(true);
    }
  });

  test("slot rules: order_id_used, order_filled, slot_in_use, continuing a partially filled slot", () => {
    const w = world({ orderSlots: 4 });
    w.ledger.setSlot(1, 1, { orderId: 5n, filled: 0n });
    expect(w.place({ account: 1, orderId: 1, side: "sell", amount: 10, quoteAmount: 1000 })).toMatchObject({ accepted: false, code: "order_id_used" });
    w.ledger.setSlot(1, 2, { orderId: 6n, filled: 10n });
    expect(w.place({ account: 1, orderId: 6, side: "sell", amount: 10, quoteAmount: 1000 })).toMatchObject({ accepted: false, code: "order_filled" });

    // continuing: the slot already holds 4 of this order's 10
    w.ledger.setSlot(1, 3, { orderId: 7n, filled: 4n });
    const cont = w.place({ account: 1, orderId: 7, side: "sell", amount: 10, quoteAmount: 1000 });
    accepted(cont);
    expect(cont.order).toMatchObject({ status: "partially_filled", filled: 4n, remaining: 6n });
    expect(w.engine.reserved(1, ETH)).toBe(6n);
    const taker = w.place({ account: 2, orderId: 3, side: "buy", amount: 10, quoteAmount: 1000 });
    expect(tradesIn(taker.events).map((t) => t.baseAmount)).toEqual([6n]);
    expect(w.ledger.orderSlot(1, 3)).toEqual({ orderId: 7n, filled: 10n });

    // one open order per slot; an order with a later id in a slot retires the earlier ids
    const open = w.place({ account: 3, orderId: 2, side: "sell", amount: 1, quoteAmount: 200 });
    expect(w.place({ account: 3, orderId: 6, side: "sell", amount: 1, quoteAmount: 200 })).toMatchObject({ accepted: false, code: "slot_in_use" });
    w.engine.cancel(open.hash);
    accepted(w.place({ account: 3, orderId: 6, side: "sell", amount: 1, quoteAmount: 100 }));
    expect(w.ledger.orderSlot(3, 2)).toEqual({ orderId: 6n, filled: 1n });
    expect(w.place({ account: 3, orderId: 2, side: "sell", amount: 2, quoteAmount: 200 })).toMatchObject({ accepted: false, code: "order_id_used" });
  });

  test("expiry: refused too close to validUntil, removed by expire(), skipped lazily while matching", () => {
    const w = world();
    expect(w.place({ account: 1, orderId: 1, side: "sell", amount: 1, quoteAmount: 100, validUntil: NOW + MARGIN - 1 })).toMatchObject({
      accepted: false,
      code: "expired",
    });
    const edge = w.place({ account: 1, orderId: 2, side: "sell", amount: 1, quoteAmount: 100, validUntil: NOW + MARGIN });
    accepted(edge);
    const later = w.place({ account: 2, orderId: 1, side: "sell", amount: 1, quoteAmount: 100, validUntil: NOW + 100 });
    expect(w.engine.expire(NOW).events).toEqual([]);
    const e = w.engine.expire(NOW + 1).events;
    expect(e).toContainEqual(expect.objectContaining({ type: "order", hash: edge.hash, status: "expired", reason: "expired" }));
    expect(w.engine.reserved(1, ETH)).toBe(0n);
    expect(w.engine.book("ETH-USDC", 5)!.asks).toMatchObject([{ amount: 1n, orders: 1 }]);

    // lazily: at NOW + 71 `later` is unmatchable; a taker expires it and trades with the next one
    const next = w.place({ account: 3, orderId: 1, side: "sell", amount: 1, quoteAmount: 100 });
    const t = w.place({ account: 4, orderId: 1, side: "buy", amount: 1, quoteAmount: 100 }, "gtc", NOW + 71);
    expect(t.events).toContainEqual(expect.objectContaining({ hash: later.hash, status: "expired" }));
    expect(tradesIn(t.events).map((x) => x.makerHash)).toEqual([next.hash]);
    expect(w.ledger.fills.every((f) => f.sell.validUntil >= NOW + 71 + MARGIN && f.buy.validUntil >= NOW + 71 + MARGIN)).toBe(true);
  });
});

describe("matching engine: fees and protocol limits", () => {
  test("fee = float16-floor(received · min(role rate, signed max) / 10 000)", () => {
    expect(feeOn(123_456_789n, 25)).toBe(308_000n); // 308 641.97 → 308 641 → 308·10^3
    expect(feeOn(2_047n * 10_000n, 1)).toBe(2_047n);
    expect(feeOn(999n, 10)).toBe(0n);
    expect(feeOn(5n, 0)).toBe(0n);
    // beyond the float16 range it clamps to the largest float16 instead of an unencodable value
    const max = 2_047n * 10n ** 31n;
    expect(feeOn(1n << 119n, 10_000)).toBe(max);

    const w = world();
    // maker (seller) pays 10 bips of quote, taker (buyer) min(25, 20) bips of base
    w.place({ account: 1, orderId: 1, side: "sell", amount: 3_000_000n, quoteAmount: 123_456_789n });
    const t = w.place({ account: 2, orderId: 1, side: "buy", amount: 3_000_000n, quoteAmount: 200_000_000n, maxFeeBips: 20 });
    const [trade] = tradesIn(t.events);
    expect([trade.quoteAmount, trade.sellFee, trade.buyFee]).toEqual([123_456_789n, 123_400n, 6_000n]);
    assertFillValid(w.ledger.fills[0], trade, ETH_USDC);
    // zero signed maximum means no fee whatever the market charges
    w.place({ account: 3, orderId: 1, side: "buy", amount: 7, quoteAmount: 7_000_000, maxFeeBips: 0 });
    const s = w.place({ account: 4, orderId: 1, side: "sell", amount: 7, quoteAmount: 7, maxFeeBips: 10_000 });
    expect(tradesIn(s.events).map((x) => [x.quoteAmount, x.buyFee, x.sellFee])).toEqual([[7_000_000n, 0n, 17_500n]]);
  });

  test("every fill of a random stream obeys the protocol; balances, slots and reservations stay consistent", () => {
    for (const seed of [1, 2, 3, 4]) {
      const w = world({ orderSlots: 4 }, []);
      const gen = genRequests({ seed, count: 2_000, accounts: 6, expiry: true, slotPressure: true });
      const rnd = mulberry32(seed * 7919);
      // modest balances so insufficient_balance happens too
      for (let a = 1; a <= 6; a++) {
        w.ledger.credit(a, ETH, BigInt(50 + Math.floor(rnd() * 100)));
        w.ledger.credit(a, USDC, BigInt(5_000 + Math.floor(rnd() * 10_000)));
      }
      const codes = new Set<string>();
      const violations: string[] = [];
      let trades = 0;
      let fillsSeen = 0;
      for (const req of gen) {
        const res = run(w.engine, req);
        if ("code" in res && typeof res.code === "string") codes.add(res.code);
        const tr = tradesIn(res.events);
        // one match step between a taker and a maker is one fill: no maker twice in one request
        expect(new Set(tr.map((x) => x.makerHash)).size).toBe(tr.length);
        const newFills = w.ledger.fills.slice(fillsSeen);
        expect(newFills).toHaveLength(tr.length);
        newFills.forEach((f, i) => assertFillValid(f, tr[i], ETH_USDC));
        fillsSeen += newFills.length;
        trades += tr.length;

        const t = req.kind === "cancel" ? 0 : req.now;
        const snap = w.engine.snapshot();
        // reservations are exactly the open orders' holds, and covered by balances
        const holds = new Map<string, bigint>();
        for (const s of snap.orders) {
          const rem = s.order.amount - s.filled;
          const [tok, amt] = s.order.side === "sell" ? [ETH, rem] : [USDC, (rem * s.order.quoteAmount + s.order.amount - 1n) / s.order.amount];
          holds.set(`${s.order.account}:${tok}`, (holds.get(`${s.order.account}:${tok}`) ?? 0n) + amt);
        }
        for (let a = 1; a <= 6; a++) {
          for (const tok of [ETH, USDC]) {
            const r = w.engine.reserved(a, tok);
            if (r !== (holds.get(`${a}:${tok}`) ?? 0n)) violations.push(`${req.kind}: reserved(${a}, ${tok}) = ${r}, open orders hold ${holds.get(`${a}:${tok}`)}`);
            if (w.ledger.balance(a, tok) < r) violations.push(`${req.kind}: account ${a} token ${tok} reserves more than its balance`);
          }
        }
        // the book never crosses among orders that are still matchable: best bid < best ask
        if (t > 0) {
          const live = snap.orders.filter((s) => s.order.validUntil >= t + MARGIN).map((s) => s.order);
          const higher = (x: Order, y: Order) => x.quoteAmount * y.amount > y.quoteAmount * x.amount;
          let bid: Order | undefined;
          let ask: Order | undefined;
          for (const o of live) {
            if (o.side === "buy" && (!bid || higher(o, bid))) bid = o;
            if (o.side === "sell" && (!ask || higher(ask, o))) ask = o;
          }
          if (bid && ask && !higher(ask, bid)) violations.push(`${req.kind} at ${t}: book crossed`);
        }
      }
      expect(violations).toEqual([]);
      expect(trades).toBeGreaterThan(100);
      // the stream reaches the interesting rejections
      for (const c of ["insufficient_balance", "slot_in_use", "order_id_used", "would_take", "expired"]) expect(codes).toContain(c);
    }
  });
});

describe("matching engine: rounding per fill and dust", () => {
  test("one taker against one maker is exactly one fill, rounded once in the maker's favour", () => {
    // A maker sells 3 base for 1 quote (1/3 each). Split into three 1-base fills the taker would pay
    // ceil(1/3) = 1 three times; the engine makes one fill of 3 for exactly 1.
    const w = world();
    const ask = w.place({ account: 1, orderId: 1, side: "sell", amount: 3, quoteAmount: 1 });
    const t = w.place({ account: 2, orderId: 1, side: "buy", amount: 3, quoteAmount: 1 });
    accepted(t);
    expect(tradesIn(t.events).map((x) => [x.makerHash, x.baseAmount, x.quoteAmount])).toEqual([[ask.hash, 3n, 1n]]);
    expect(w.ledger.fills.map((f) => [f.baseAmount, f.quoteAmount])).toEqual([[3n, 1n]]);
    expect(w.ledger.balance(2, USDC)).toBe(AMPLE - 1n);

    // A maker buys 7 base for 4 quote; the taker sells 5: one fill, floor(5·4/7) = 2 quote (the
    // maker pays the floor, the taker bears the rounding), the maker keeps 2 on the book.
    const bid = w.place({ account: 3, orderId: 1, side: "buy", amount: 7, quoteAmount: 4 });
    const s = w.place({ account: 4, orderId: 1, side: "sell", amount: 5, quoteAmount: 2 }, "ioc");
    accepted(s);
    expect(tradesIn(s.events).map((x) => [x.makerHash, x.baseAmount, x.quoteAmount])).toEqual([[bid.hash, 5n, 2n]]);
    expect(s.order).toMatchObject({ status: "filled", filled: 5n });
    expect(w.engine.order(bid.hash)).toMatchObject({ status: "partially_filled", filled: 5n, remaining: 2n });

    // A taker larger than the maker: one fill with it, the rest rests.
    const small = w.place({ account: 1, orderId: 2, side: "sell", amount: 4, quoteAmount: 3 });
    const big = w.place({ account: 5, orderId: 1, side: "buy", amount: 10, quoteAmount: 8 });
    accepted(big);
    expect(tradesIn(big.events).map((x) => [x.makerHash, x.baseAmount, x.quoteAmount])).toEqual([[small.hash, 4n, 3n]]);
    expect(big.order).toMatchObject({ status: "partially_filled", filled: 4n, remaining: 6n });
    for (let i = 0; i < w.ledger.fills.length; i++) assertFillValid(w.ledger.fills[i], w.engine.trades("ETH-USDC", 10)!.reverse()[i], ETH_USDC);
  });

  test("a selling taker whose remainder would get 0 quote at the best bid is closed as dust; the bid stays", () => {
    const w = world();
    const a = w.place({ account: 1, orderId: 1, side: "buy", amount: 2, quoteAmount: 1 }); // 1/2, first
    const b = w.place({ account: 2, orderId: 1, side: "buy", amount: 10, quoteAmount: 5 }); // 1/2, second
    // Sells 3 at 1/3 or better: 2 to `a` for floor(2/2) = 1; its last base would get floor(1/2) = 0 from `b`.
    const t = w.place({ account: 3, orderId: 1, side: "sell", amount: 3, quoteAmount: 1 });
    accepted(t);
    expect(tradesIn(t.events).map((x) => [x.makerHash, x.baseAmount, x.quoteAmount])).toEqual([[a.hash, 2n, 1n]]);
    expect(w.ledger.fills.map((f) => [f.baseAmount, f.quoteAmount])).toEqual([[2n, 1n]]);
    expect(t.order).toMatchObject({ status: "cancelled", reason: "dust", filled: 2n, remaining: 1n });
    expect(t.events.at(-1)).toMatchObject({ type: "order", hash: t.hash, status: "cancelled", reason: "dust" });
    expect(w.engine.order(b.hash)).toMatchObject({ status: "open", filled: 0n, remaining: 10n });
    expect(w.engine.book("ETH-USDC", 5)).toMatchObject({ bids: [{ price: "0.5", amount: 10n, orders: 1 }], asks: [] });
    expect(w.engine.reserved(3, ETH)).toBe(0n);
    expect(w.ledger.balance(3, ETH)).toBe(AMPLE - 2n);

    // The same with time in force IOC; and a taker that is dust from the start never trades.
    const ioc = w.place({ account: 4, orderId: 1, side: "sell", amount: 1, quoteAmount: 1 }, "ioc");
    expect(tradesIn(ioc.events)).toEqual([]); // 1 > 1/2: does not cross, plain IOC remainder
    accepted(ioc);
    expect(ioc.order).toMatchObject({ status: "cancelled", reason: "ioc_remainder" });
    w.ledger.setSlot(4, 2, { orderId: 2n, filled: 2n }); // 1 of 3 left at 1/3
    const rest = w.place({ account: 4, orderId: 2, side: "sell", amount: 3, quoteAmount: 1 });
    accepted(rest);
    expect(tradesIn(rest.events)).toEqual([]);
    expect(rest.order).toMatchObject({ status: "cancelled", reason: "dust", filled: 2n, remaining: 1n });
    expect(w.ledger.fills).toHaveLength(1);
    expect(w.engine.book("ETH-USDC", 5)).toMatchObject({ bids: [{ amount: 10n }], asks: [] });
  });

  test("a buy whose remainder would pay 0 at its own price never rests: closed as dust after its fill, on arrival, or on restore", () => {
    const w = world();
    // A maker buys 6 at 1/3; a taker sells 4 at 1/4: floor(4/3) = 1 quote. The maker's last 2 base
    // would pay floor(2/3) = 0 at its price: it leaves the book with the fill.
    const bid = w.place({ account: 1, orderId: 1, side: "buy", amount: 6, quoteAmount: 2 });
    expect(w.engine.reserved(1, USDC)).toBe(2n);
    const t = w.place({ account: 2, orderId: 1, side: "sell", amount: 4, quoteAmount: 1 });
    accepted(t);
    expect(tradesIn(t.events).map((x) => [x.baseAmount, x.quoteAmount])).toEqual([[4n, 1n]]);
    expect(t.order.status).toBe("filled");
    expect(w.engine.order(bid.hash)).toMatchObject({ status: "cancelled", reason: "dust", filled: 4n, remaining: 2n });
    expect(t.events).toContainEqual({ type: "level", market: "ETH-USDC", side: "buy", price: "0.333333333333333333", priceNum: 1n, priceDen: 3n, amount: 0n });
    expect(w.engine.book("ETH-USDC", 5)).toMatchObject({ bids: [], asks: [] });
    expect(w.engine.reserved(1, USDC)).toBe(0n);
    expect(w.engine.openOrders(1)).toEqual([]);

    // A buying taker at 2/3 takes 2 for ceil(2/2) = 1; its last base would pay floor(2/3) = 0 resting.
    w.place({ account: 3, orderId: 1, side: "sell", amount: 2, quoteAmount: 1 });
    const b2 = w.place({ account: 4, orderId: 1, side: "buy", amount: 3, quoteAmount: 2 });
    accepted(b2);
    expect(tradesIn(b2.events).map((x) => [x.baseAmount, x.quoteAmount])).toEqual([[2n, 1n]]);
    expect(b2.order).toMatchObject({ status: "cancelled", reason: "dust", filled: 2n, remaining: 1n });
    expect(w.engine.reserved(4, USDC)).toBe(0n);
    expect(w.engine.book("ETH-USDC", 5)).toMatchObject({ bids: [], asks: [] });

    // post-only, continuing a slot with 1 of 3 left at 1/3
    w.ledger.setSlot(5, 1, { orderId: 1n, filled: 2n });
    const po = w.place({ account: 5, orderId: 1, side: "buy", amount: 3, quoteAmount: 1 }, "post_only");
    accepted(po);
    expect(po.order).toMatchObject({ status: "cancelled", reason: "dust", filled: 2n, remaining: 1n });
    expect(w.engine.book("ETH-USDC", 5)!.bids).toEqual([]);
    // a remainder worth one quote unit rests
    const ok = w.place({ account: 5, orderId: 2, side: "buy", amount: 3, quoteAmount: 1 });
    accepted(ok);
    expect(ok.order.status).toBe("open");
    expect(w.ledger.fills.every((f) => f.quoteAmount > 0n)).toBe(true);

    // a snapshot (from an engine before this rule) holding a dust buy: restore drops it
    const dust = mkOrder({ account: 1, orderId: 9, side: "buy", amount: 3, quoteAmount: 1 });
    const snap = { version: 1 as const, clock: NOW, nextOrderSeq: 2, nextTradeSeq: 1, orders: [{ hash: "d", order: dust, timeInForce: "gtc" as const, seq: 1, filled: 1n }], retired: [] };
    const restored = new MatchingEngine(w.ledger, { markets: [ETH_USDC], orderSlots: 16, expiryMarginS: MARGIN });
    expect(restored.restore(snap, NOW).events.filter((e) => e.type === "order")).toMatchObject([{ hash: "d", status: "cancelled", reason: "dust", filled: 1n, remaining: 2n }]);
    expect(restored.book("ETH-USDC", 5)!.bids).toEqual([]);
    expect(restored.reserved(1, USDC)).toBe(0n);
  });

  test("random streams at prices below one quote unit per base: every fill pays, no dust rests, the book never crosses", () => {
    let dustCloses = 0;
    let trades = 0;
    for (const seed of [21, 22, 23]) {
      const rnd = mulberry32(seed);
      const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
      const w = world({}, [1, 2, 3, 4, 5]);
      let fillsSeen = 0;
      for (let i = 0; i < 1_500; i++) {
        const amount = int(1, 40);
        const r = w.place({ account: int(1, 5), orderId: i, side: rnd() < 0.5 ? "buy" : "sell", amount, quoteAmount: int(1, 12) }, rnd() < 0.8 ? "gtc" : "ioc", NOW, `s${seed}-${i}`);
        const tr = tradesIn(r.events);
        expect(new Set(tr.map((x) => x.makerHash)).size).toBe(tr.length);
        const newFills = w.ledger.fills.slice(fillsSeen);
        expect(newFills).toHaveLength(tr.length);
        newFills.forEach((f, k) => assertFillValid(f, tr[k], ETH_USDC));
        fillsSeen += newFills.length;
        trades += tr.length;
        dustCloses += r.events.filter((e) => e.type === "order" && e.reason === "dust").length;
        if (i % 50 !== 49) continue;
        const open = w.engine.snapshot().orders.map((o) => ({ o: o.order, rem: o.order.amount - o.filled }));
        // no resting buy whose remainder would pay 0 at its price
        expect(open.filter(({ o, rem }) => o.side === "buy" && (rem * o.quoteAmount) / o.amount === 0n)).toEqual([]);
        const book = w.engine.book("ETH-USDC", 1)!;
        if (book.bids.length > 0 && book.asks.length > 0) expect(book.bids[0].priceNum * book.asks[0].priceDen < book.asks[0].priceNum * book.bids[0].priceDen).toBe(true);
      }
    }
    expect(trades).toBeGreaterThan(500);
    expect(dustCloses).toBeGreaterThan(10);
  });
});

// ------------------------------------------------------------------ determinism

/** A brute-force matcher written independently: scan every resting order for the best each time. */
class ReferenceMatcher {
  private resting: { hash: string; o: Order; remaining: bigint; seq: number }[] = [];
  private seq = 0;
  readonly trades: { maker: string; taker: string; b: bigint; q: bigint; sellFee: bigint; buyFee: bigint }[] = [];

  constructor(private readonly market: MarketConfig) {}

  place(o: Order, hash: string, tif: TimeInForce): boolean {
    // a buy at Qb/Bb crosses a sell at Qs/Bs iff Qb·Bs ≥ Qs·Bb
    const crossesWith = (m: Order) => (o.side === "buy" ? o.quoteAmount * m.amount >= m.quoteAmount * o.amount : m.quoteAmount * o.amount >= o.quoteAmount * m.amount);
    const candidates = () => this.resting.filter((r) => r.o.side !== o.side && crossesWith(r.o));
    if (tif === "post_only" && candidates().length > 0) return false;
    let remaining = o.amount;
    while (remaining > 0n) {
      const c = candidates();
      if (c.length === 0) break;
      const better = (x: Order, y: Order) => {
        const l = x.quoteAmount * y.amount;
        const r = y.quoteAmount * x.amount;
        return x.side === "sell" ? l < r : l > r;
      };
      let best = c[0];
      for (const r of c) if (better(r.o, best.o) || (!better(best.o, r.o) && r.seq < best.seq)) best = r;
      if (best.o.account === o.account) {
        this.resting = this.resting.filter((r) => r !== best);
        continue;
      }
      const b = best.remaining < remaining ? best.remaining : remaining;
      const num = b * best.o.quoteAmount;
      const q = best.o.side === "sell" ? (num + best.o.amount - 1n) / best.o.amount : num / best.o.amount;
      const [sell, buy] = best.o.side === "sell" ? [best.o, o] : [o, best.o];
      const sellRate = Math.min(sell === o ? this.market.takerFeeBips : this.market.makerFeeBips, sell.maxFeeBips);
      const buyRate = Math.min(buy === o ? this.market.takerFeeBips : this.market.makerFeeBips, buy.maxFeeBips);
      this.trades.push({ maker: best.hash, taker: hash, b, q, sellFee: f16Floor((q * BigInt(sellRate)) / 10_000n), buyFee: f16Floor((b * BigInt(buyRate)) / 10_000n) });
      best.remaining -= b;
      remaining -= b;
      if (best.remaining === 0n) this.resting = this.resting.filter((r) => r !== best);
    }
    if (remaining > 0n && tif !== "ioc") this.resting.push({ hash, o, remaining, seq: this.seq++ });
    return true;
  }

  cancel(hash: string): void {
    this.resting = this.resting.filter((r) => r.hash !== hash);
  }

  /** Resting orders grouped as the engine's book view: [price num/den, total] best first. */
  levels(side: "buy" | "sell"): string[] {
    const rs = this.resting.filter((r) => r.o.side === side);
    const g = new Map<string, { num: bigint; den: bigint; total: bigint }>();
    for (const r of rs) {
      let a = r.o.quoteAmount;
      let b = r.o.amount;
      while (b !== 0n) [a, b] = [b, a % b];
      const key = `${r.o.quoteAmount / a}/${r.o.amount / a}`;
      const cur = g.get(key) ?? { num: r.o.quoteAmount / a, den: r.o.amount / a, total: 0n };
      cur.total += r.remaining;
      g.set(key, cur);
    }
    return [...g.values()]
      .sort((x, y) => {
        const d = x.num * y.den - y.num * x.den;
        return (side === "buy" ? d > 0n : d < 0n) ? -1 : d === 0n ? 0 : 1;
      })
      .map((l) => `${l.num}/${l.den}:${l.total}`);
  }
}

describe("matching engine: determinism", () => {
  test("the same request stream on fresh engines gives identical results, book and snapshot", () => {
    const gen = genRequests({ seed: 42, count: 3_000, accounts: 5, expiry: true, slotPressure: true });
    const once = () => {
      const w = world({ orderSlots: 4 });
      const results = gen.map((r) => run(w.engine, r));
      return json({ results, book: w.engine.book("ETH-USDC", 1_000), snapshot: w.engine.snapshot(), fills: w.ledger.fills, trades: w.engine.trades("ETH-USDC", 50) });
    };
    const a = once();
    expect(once()).toBe(a);
    expect(a).toContain('"type":"trade"');
  });

  test("fills and book agree with an independent brute-force matcher on small random books", () => {
    for (const seed of [7, 8, 9, 10, 11, 12]) {
      const gen = genRequests({ seed, count: 400, accounts: 4, expiry: false, slotPressure: false });
      const w = world({ orderSlots: 4 ** 8, tradeHistory: 100_000 });
      const ref = new ReferenceMatcher(ETH_USDC);
      for (const req of gen) {
        const res = run(w.engine, req);
        if (req.kind === "place") expect(res).toMatchObject({ accepted: ref.place(req.order, req.hash, req.tif) });
        else if (req.kind === "cancel") ref.cancel(req.hash);
      }
      const trades = w.engine.trades("ETH-USDC", 100_000)!.reverse();
      expect(trades.map((t) => ({ maker: t.makerHash, taker: t.takerHash, b: t.baseAmount, q: t.quoteAmount, sellFee: t.sellFee, buyFee: t.buyFee }))).toEqual(ref.trades);
      expect(trades.length).toBeGreaterThan(50);
      const book = w.engine.book("ETH-USDC", 100_000)!;
      expect(book.bids.map((l) => `${l.priceNum}/${l.priceDen}:${l.amount}`)).toEqual(ref.levels("buy"));
      expect(book.asks.map((l) => `${l.priceNum}/${l.priceDen}:${l.amount}`)).toEqual(ref.levels("sell"));
    }
  });
});

describe("matching engine: snapshot and restore", () => {
  test("restore rebuilds the same book, reservations and priority, and later requests give the same fills", () => {
    const gen = genRequests({ seed: 99, count: 2_000, accounts: 5, expiry: true, slotPressure: true });
    const cut = 1_200;
    const w = world({ orderSlots: 16, tradeHistory: 10_000 });
    gen.slice(0, cut).forEach((r) => run(w.engine, r));
    const lastNow = Math.max(...gen.slice(0, cut).map((r) => (r.kind === "cancel" ? 0 : r.now)));
    // a caller persists after its periodic expire(), so the snapshot holds only live orders
    w.engine.expire(lastNow);
    const snap = w.engine.snapshot();
    expect(snap.orders.length).toBeGreaterThan(5);

    // a "restarted" engine over the same ledger
    const restored = new MatchingEngine(w.ledger, { markets: [ETH_USDC, BTC_USDC], orderSlots: 16, expiryMarginS: MARGIN, tradeHistory: 10_000 });
    expect(restored.restore(snap, lastNow).events.filter((e) => e.type === "order")).toEqual([]);
    expect(json(restored.book("ETH-USDC", 1_000))).toBe(json(w.engine.book("ETH-USDC", 1_000)));
    expect(json(restored.snapshot())).toBe(json(snap));
    for (let a = 1; a <= 5; a++) {
      for (const tok of [ETH, USDC]) expect(restored.reserved(a, tok)).toBe(w.engine.reserved(a, tok));
      const strip = (v: unknown[]) => json(v.map((o) => ({ ...(o as object), fills: [] })));
      expect(strip(restored.openOrders(a))).toBe(strip(w.engine.openOrders(a)));
    }
    // a restored engine refuses replays of orders closed before the restart
    const closed = gen.slice(0, cut).find((r) => r.kind === "place" && w.engine.order(r.hash) && !["open", "partially_filled"].includes(w.engine.order(r.hash)!.status));
    if (closed?.kind === "place") expect(restored.place(closed.order, { hash: closed.hash, timeInForce: "gtc" }, lastNow)).toMatchObject({ accepted: false, code: "duplicate_order" });

    // both engines continue identically (each on its own copy of the ledger state)
    const twin = world({ orderSlots: 16, tradeHistory: 10_000 });
    gen.slice(0, cut).forEach((r) => run(twin.engine, r));
    twin.engine.expire(lastNow);
    const restoredTwin = new MatchingEngine(twin.ledger, { markets: [ETH_USDC, BTC_USDC], orderSlots: 16, expiryMarginS: MARGIN, tradeHistory: 10_000 });
    restoredTwin.restore(twin.engine.snapshot(), lastNow);
    const rest = gen.slice(cut);
    const fromOriginal = rest.map((r) => run(w.engine, r));
    const fromRestored = rest.map((r) => run(restoredTwin, r));
    const tradeKeys = (rs: { events: readonly EngineEvent[] }[]) => json(rs.flatMap((r) => tradesIn(r.events)));
    expect(tradeKeys(fromRestored)).toBe(tradeKeys(fromOriginal));
    expect(json(restoredTwin.book("ETH-USDC", 1_000))).toBe(json(w.engine.book("ETH-USDC", 1_000)));
    expect(tradesIn(fromOriginal.flatMap((r) => r.events)).length).toBeGreaterThan(10);
  });

  test("restore drops what no longer holds: expired orders and funds that are gone", () => {
    const w = world({}, [1, 2]);
    const keep = w.place({ account: 1, orderId: 1, side: "sell", amount: 5, quoteAmount: 500, validUntil: NOW + 1_000 });
    const stale = w.place({ account: 2, orderId: 1, side: "sell", amount: 5, quoteAmount: 510, validUntil: NOW + 100 });
    const snap = w.engine.snapshot();
    const ledger = new MemoryLedger(16);
    ledger.credit(1, ETH, 5n);
    const restored = new MatchingEngine(ledger, { markets: [ETH_USDC], orderSlots: 16, expiryMarginS: MARGIN });
    const { events } = restored.restore(snap, NOW + 80);
    expect(events.filter((e) => e.type === "order")).toMatchObject([{ hash: stale.hash, status: "expired" }]);
    expect(restored.order(keep.hash)).toMatchObject({ status: "open", seq: 1 });
    expect(restored.reserved(1, ETH)).toBe(5n);
    const poor = new MatchingEngine(new MemoryLedger(16), { markets: [ETH_USDC], orderSlots: 16, expiryMarginS: MARGIN });
    expect(poor.restore(snap, NOW).events.filter((e) => e.type === "order")).toMatchObject([
      { hash: keep.hash, status: "cancelled", reason: "insufficient_balance" },
      { hash: stale.hash, status: "cancelled", reason: "insufficient_balance" },
    ]);
    expect(() => restored.restore(snap, NOW)).toThrow(/fresh engine/);
  });
});
