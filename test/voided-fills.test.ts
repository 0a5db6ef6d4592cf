/**
 * Voided fills (PROTOCOL.md §4.7), in the matching engine: a fill that could not be batched gives
 * its base back to both orders. Each case reverts the fill in the ledger first, as the sequencer's
 * cut does (its pending view is rebuilt without the fill), then calls `voidFill`.
 */
import type { FillOp, Order } from "../core/ops/types";
import { MatchingEngine, MemoryLedger, type EngineEvent, type PlaceResult, type TimeInForce, type TradeEvent } from "../sequencer/matching";

const NOW = 1_700_000_000;
const MARGIN = 30;
const ETH = 1;
const USDC = 2;
const MARKET = { id: "ETH-USDC", base: ETH, quote: USDC, makerFeeBips: 10, takerFeeBips: 25 };
const AMPLE = 10n ** 30n;
const SLOTS = 16;

interface Spec {
  account: number;
  orderId: number;
  side: "buy" | "sell";
  amount: number;
  price: number;
  validUntil?: number;
}

function setup() {
  const ledger = new MemoryLedger(SLOTS, 0);
  for (const a of [1, 2, 3, 4]) for (const t of [ETH, USDC]) ledger.credit(a, t, AMPLE);
  const engine = new MatchingEngine(ledger, { markets: [MARKET], orderSlots: SLOTS, expiryMarginS: MARGIN });
  const place = (s: Spec, tif: TimeInForce = "gtc", now = NOW): PlaceResult & { hash: string } => {
    const order: Order = {
      account: s.account, orderId: BigInt(s.orderId), base: ETH, quote: USDC, side: s.side, amount: BigInt(s.amount),
      quoteAmount: BigInt(s.amount * s.price), maxFeeBips: 10_000, validUntil: s.validUntil ?? NOW + 86_400, signature: { r8x: 0n, r8y: 0n, s: 0n },
    };
    const hash = `h${s.account}-${s.orderId}-${s.side}`;
    const r = engine.place(order, { hash, timeInForce: tif }, now);
    if (!r.accepted) throw new Error(`refused: ${r.code} ${r.message}`);
    return { ...r, hash };
  };
  /** Reverts the trade's fill in the ledger and voids it in the engine, as a cut does. */
  const voidTrade = (t: TradeEvent, now = NOW): readonly EngineEvent[] => {
    const fill = ledger.fills.find((f) => f.baseAmount === t.baseAmount && [f.sell.account, f.buy.account].includes(t.makerAccount) && [f.sell.account, f.buy.account].includes(t.takerAccount));
    ledger.revert(fill as FillOp);
    return engine.voidFill({ seq: t.seq, makerHash: t.makerHash, takerHash: t.takerHash, baseAmount: t.baseAmount }, now).events;
  };
  const asks = () => engine.book("ETH-USDC", 10)!.asks.map((l) => [l.price, l.amount, l.orders]);
  const bids = () => engine.book("ETH-USDC", 10)!.bids.map((l) => [l.price, l.amount, l.orders]);
  return { ledger, engine, place, voidTrade, asks, bids };
}

const tradesIn = (events: readonly EngineEvent[]): TradeEvent[] => events.filter((e): e is TradeEvent => e.type === "trade");

describe("voided fills in the matching engine", () => {
  test("a resting maker takes the amount back in place: same priority, larger remainder and reservation", () => {
    const w = setup();
    const first = w.place({ account: 1, orderId: 1, side: "sell", amount: 10, price: 100 });
    const second = w.place({ account: 2, orderId: 1, side: "sell", amount: 5, price: 100 });
    const taker = w.place({ account: 3, orderId: 1, side: "buy", amount: 4, price: 100 }, "ioc");
    const [t] = tradesIn(taker.events);
    expect(w.engine.order(first.hash)).toMatchObject({ status: "partially_filled", filled: 4n });
    expect(w.engine.reserved(1, ETH)).toBe(6n);

    const events = w.voidTrade(t);
    expect(w.engine.order(first.hash)).toMatchObject({ status: "open", filled: 0n, remaining: 10n, fills: [] });
    expect(w.engine.reserved(1, ETH)).toBe(10n);
    expect(w.asks()).toEqual([["100", 15n, 2]]);
    // the IOC taker stays closed; its filled amount goes back to 0
    expect(w.engine.order(taker.hash)).toMatchObject({ status: "cancelled", reason: "ioc_remainder", filled: 0n });
    expect(events).toContainEqual(expect.objectContaining({ type: "order", hash: first.hash, status: "open", filled: 0n }));
    expect(events).toContainEqual(expect.objectContaining({ type: "level", side: "sell", amount: 15n }));

    // priority kept: the next buyer meets `first` before `second`
    const next = w.place({ account: 4, orderId: 1, side: "buy", amount: 3, price: 100 });
    expect(tradesIn(next.events).map((x) => x.makerHash)).toEqual([first.hash]);
    expect(w.engine.order(second.hash)).toMatchObject({ filled: 0n });
  });

  test("a maker the fill had completed rests again, behind the orders already at its price; the expired taker ends expired", () => {
    const w = setup();
    const maker = w.place({ account: 1, orderId: 1, side: "sell", amount: 5, price: 100 });
    const taker = w.place({ account: 2, orderId: 1, side: "buy", amount: 5, price: 100, validUntil: NOW + MARGIN + 10 });
    const [t] = tradesIn(taker.events);
    expect(w.engine.order(maker.hash)!.status).toBe("filled");
    const later = w.place({ account: 3, orderId: 1, side: "sell", amount: 2, price: 100 });

    // the taker's validUntil passed before the fill's batch
    const at = NOW + MARGIN + 11;
    w.voidTrade(t, at);
    expect(w.engine.order(taker.hash)).toMatchObject({ status: "expired", reason: "expired", filled: 0n, remaining: 5n });
    expect(w.engine.order(maker.hash)).toMatchObject({ status: "open", filled: 0n, remaining: 5n });
    expect(w.engine.reserved(1, ETH)).toBe(5n);
    expect(w.engine.reserved(2, USDC)).toBe(0n);
    expect(w.asks()).toEqual([["100", 7n, 2]]);
    const next = w.place({ account: 4, orderId: 1, side: "buy", amount: 3, price: 100 }, "gtc", at);
    expect(tradesIn(next.events).map((x) => [x.makerHash, x.baseAmount])).toEqual([[later.hash, 2n], [maker.hash, 1n]]);
  });

  test("a re-opened GTC order first takes what now crosses it, at the resting order's price", () => {
    const w = setup();
    const maker = w.place({ account: 1, orderId: 1, side: "sell", amount: 5, price: 100 });
    const taker = w.place({ account: 2, orderId: 1, side: "buy", amount: 5, price: 100 }, "ioc");
    const [t] = tradesIn(taker.events);
    // with the ask gone, a higher bid rests
    const bid = w.place({ account: 3, orderId: 1, side: "buy", amount: 3, price: 101 });
    expect(w.bids()).toEqual([["101", 3n, 1]]);

    const events = w.voidTrade(t);
    const trades = tradesIn(events);
    expect(trades.map((x) => [x.makerHash, x.takerHash, x.baseAmount, x.quoteAmount, x.takerSide])).toEqual([[bid.hash, maker.hash, 3n, 303n, "sell"]]);
    expect(w.engine.order(maker.hash)).toMatchObject({ status: "partially_filled", filled: 3n, remaining: 2n });
    expect(w.bids()).toEqual([]);
    expect(w.asks()).toEqual([["100", 2n, 1]]);
    // the new fill went through the ledger like any other
    expect(w.ledger.fills.map((f) => [f.sell.account, f.buy.account, f.baseAmount])).toEqual([[1, 3, 3n]]);
  });

  test("a re-opened post-only order that would cross is cancelled (would_take) instead of taking", () => {
    const w = setup();
    const maker = w.place({ account: 1, orderId: 1, side: "sell", amount: 5, price: 100 }, "post_only");
    const taker = w.place({ account: 2, orderId: 1, side: "buy", amount: 5, price: 100 }, "ioc");
    const [t] = tradesIn(taker.events);
    w.place({ account: 3, orderId: 1, side: "buy", amount: 3, price: 101 });
    const events = w.voidTrade(t);
    expect(tradesIn(events)).toEqual([]);
    expect(w.engine.order(maker.hash)).toMatchObject({ status: "cancelled", reason: "would_take", filled: 0n });
    expect(w.engine.reserved(1, ETH)).toBe(0n);
    expect(w.asks()).toEqual([]);
  });

  test("an order whose slot moved on, or whose funds are gone, stays closed with its filled amount lowered", () => {
    const w = setup();
    const a = w.place({ account: 1, orderId: 1, side: "sell", amount: 5, price: 100 });
    const tA = tradesIn(w.place({ account: 2, orderId: 1, side: "buy", amount: 5, price: 100 }, "ioc").events)[0];
    // account 1 reuses slot 1 with a later order id
    w.place({ account: 1, orderId: 1 + SLOTS, side: "sell", amount: 1, price: 200 });
    w.voidTrade(tA);
    expect(w.engine.order(a.hash)).toMatchObject({ status: "cancelled", reason: "slot_in_use", filled: 0n });

    const b = w.place({ account: 3, orderId: 2, side: "buy", amount: 4, price: 100 });
    const tB = tradesIn(w.place({ account: 4, orderId: 2, side: "sell", amount: 4, price: 100 }, "ioc").events)[0];
    expect(w.engine.order(b.hash)!.status).toBe("filled");
    // account 3 rests another buy (100 reserved), then a forced exit takes its quote down to 50
    w.place({ account: 3, orderId: 3, side: "buy", amount: 1, price: 100 });
    w.ledger.credit(3, USDC, -(AMPLE - 400n - 50n));
    w.voidTrade(tB);
    // the 400 paid comes back: 450, of which 100 is held by the other order, 350 < the 400 needed
    expect(w.ledger.balance(3, USDC)).toBe(450n);
    expect(w.engine.order(b.hash)).toMatchObject({ status: "cancelled", reason: "insufficient_balance", filled: 0n });
    expect(w.engine.reserved(3, USDC)).toBe(100n);
  });

  test("an order cancelled after its fill keeps its status; several voided fills of one order add up", () => {
    const w = setup();
    const m = w.place({ account: 1, orderId: 1, side: "sell", amount: 10, price: 100 });
    const t1 = tradesIn(w.place({ account: 2, orderId: 1, side: "buy", amount: 3, price: 100 }, "ioc").events)[0];
    const t2 = tradesIn(w.place({ account: 3, orderId: 1, side: "buy", amount: 4, price: 100 }, "ioc").events)[0];
    expect(w.engine.order(m.hash)).toMatchObject({ filled: 7n });
    w.voidTrade(t2);
    expect(w.engine.order(m.hash)).toMatchObject({ status: "partially_filled", filled: 3n, remaining: 7n });
    expect(w.asks()).toEqual([["100", 7n, 1]]);
    expect(w.engine.cancel(m.hash).ok).toBe(true);
    w.voidTrade(t1);
    expect(w.engine.order(m.hash)).toMatchObject({ status: "cancelled", reason: "user_cancel", filled: 0n });
    expect(w.engine.reserved(1, ETH)).toBe(0n);
    expect(w.asks()).toEqual([]);
  });

  test("voiding more than an order filled is a bug, not a silent change", () => {
    const w = setup();
    const m = w.place({ account: 1, orderId: 1, side: "sell", amount: 10, price: 100 });
    const t = tradesIn(w.place({ account: 2, orderId: 1, side: "buy", amount: 3, price: 100 }, "ioc").events)[0];
    expect(() => w.engine.voidFill({ seq: t.seq, makerHash: m.hash, takerHash: t.takerHash, baseAmount: 4n }, NOW)).toThrow(/matching engine bug/);
  });
});
