/**
 * Throughput of the limit order matching engine on one core: a seeded stream on one market
 * (ETH-USDC, 18/6 decimals, mid 2 000.00) against an in-memory ledger with ample balances.
 *
 * Mix, per request: 5 % cancel a random earlier order; of the places, `crossingShare` are takers
 * priced 0–30 ticks through the mid (half IOC, half GTC) and the rest are resting limit orders
 * 1–50 ticks on their own side of the mid (80 % GTC, 20 % post-only). Sizes 0.001–1 ETH.
 * 2 000 accounts in round robin, so order-fill slots (256) never collide. expire() runs every
 * 1 000 requests. Requests are generated before the clock starts; the timed loop is engine +
 * ledger settle only. ordersPerSec counts place() calls.
 *
 *   npx tsx bench/matching.ts [--orders 100000] [--crossing 0.3] [--seed 1]
 */
import { parseArgs } from "node:util";
import type { Order } from "../core/ops/types";
import { MatchingEngine, MemoryLedger, type MarketConfig, type TimeInForce } from "../sequencer/matching";

const ETH = 0;
const USDC = 1;
const MARKET: MarketConfig = { id: "ETH-USDC", base: ETH, quote: USDC, makerFeeBips: 10, takerFeeBips: 25 };
const ACCOUNTS = 2_000;
const ORDER_SLOTS = 256;
const START = 1_700_000_000;
/** 2 000.00 USDC per ETH, in cents. */
const MID_CENTS = 200_000;
const CANCEL_SHARE = 0.05;
const ZERO_SIG = { r8x: 0n, r8y: 0n, s: 0n };

type Request =
  | { readonly kind: "place"; readonly order: Order; readonly hash: string; readonly tif: TimeInForce; readonly now: number }
  | { readonly kind: "cancel"; readonly hash: string }
  | { readonly kind: "expire"; readonly now: number };

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

/**
 * k·10^15 wei of ETH at p cents per ETH costs k·p·10 USDC units (10^-6): exact integers, and the
 * limit price (quote units per wei) is a genuine small rational, as in production.
 */
function limitOrder(account: number, orderId: number, side: "buy" | "sell", k: number, cents: number): Order {
  return {
    account,
    orderId: BigInt(orderId),
    base: ETH,
    quote: USDC,
    side,
    amount: BigInt(k) * 10n ** 15n,
    quoteAmount: BigInt(k) * BigInt(cents) * 10n,
    maxFeeBips: 30,
    validUntil: START + 10 * 365 * 86_400,
    signature: ZERO_SIG,
  };
}

function generate(orders: number, crossingShare: number, seed: number): Request[] {
  const rnd = mulberry32(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const nextId = new Array<number>(ACCOUNTS).fill(0);
  const hashes: string[] = [];
  const out: Request[] = [];
  let placed = 0;
  let account = 0;
  while (placed < orders) {
    const now = START + Math.floor(out.length / 100);
    if (out.length % 1_000 === 999) {
      out.push({ kind: "expire", now });
      continue;
    }
    if (hashes.length > 0 && rnd() < CANCEL_SHARE) {
      out.push({ kind: "cancel", hash: hashes[int(0, hashes.length - 1)] });
      continue;
    }
    account = (account + 1) % ACCOUNTS;
    const side = rnd() < 0.5 ? "buy" : "sell";
    const away = side === "buy" ? -1 : 1;
    const crossing = rnd() < crossingShare;
    const cents = crossing ? MID_CENTS - away * int(0, 30) : MID_CENTS + away * int(1, 50);
    const tif: TimeInForce = crossing ? (rnd() < 0.5 ? "ioc" : "gtc") : rnd() < 0.8 ? "gtc" : "post_only";
    const order = limitOrder(account + 1, nextId[account]++, side, int(1, 1_000), cents);
    const hash = `b${placed}`;
    hashes.push(hash);
    out.push({ kind: "place", order, hash, tif, now });
    placed++;
  }
  return out;
}

export async function benchMatching(opts: { orders: number; crossingShare: number; seed: number }): Promise<{ ordersPerSec: number; fills: number; mix: string }> {
  const requests = generate(opts.orders, opts.crossingShare, opts.seed);
  const ledger = new MemoryLedger(ORDER_SLOTS);
  const ample = 10n ** 36n;
  for (let a = 1; a <= ACCOUNTS; a++) {
    ledger.credit(a, ETH, ample);
    ledger.credit(a, USDC, ample);
  }
  const engine = new MatchingEngine(ledger, { markets: [MARKET], orderSlots: ORDER_SLOTS, expiryMarginS: 30, tradeHistory: 1_000 });

  let places = 0;
  let rejected = 0;
  let cancels = 0;
  const t0 = process.hrtime.bigint();
  for (const r of requests) {
    if (r.kind === "place") {
      places++;
      if (!engine.place(r.order, { hash: r.hash, timeInForce: r.tif }, r.now).accepted) rejected++;
    } else if (r.kind === "cancel") {
      if (engine.cancel(r.hash).ok) cancels++;
    } else engine.expire(r.now);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const book = engine.book(MARKET.id, Number.MAX_SAFE_INTEGER);
  const resting = (book?.bids ?? []).concat(book?.asks ?? []).reduce((n, l) => n + l.orders, 0);
  const pct = (x: number) => `${Math.round(x * 100)}%`;
  const mix =
    `${places} orders on ${MARKET.id}: ${pct(1 - opts.crossingShare)} resting limits 1–50 ticks off a 2000.00 mid ` +
    `(80% gtc / 20% post-only), ${pct(opts.crossingShare)} takers 0–30 ticks through it (50% ioc / 50% gtc), ` +
    `plus ${pct(CANCEL_SHARE)} cancel requests (${cancels} hit an open order); ${rejected} rejected (post-only would_take); ` +
    `${resting} orders resting at the end on ${(book?.bids.length ?? 0) + (book?.asks.length ?? 0)} levels; ${ACCOUNTS} accounts; seed ${opts.seed}`;
  return { ordersPerSec: Math.round(places / seconds), fills: ledger.fills.length, mix };
}

if (require.main === module) {
  const { values } = parseArgs({
    options: { orders: { type: "string", default: "100000" }, crossing: { type: "string", default: "0.3" }, seed: { type: "string", default: "1" } },
  });
  benchMatching({ orders: Number(values.orders), crossingShare: Number(values.crossing), seed: Number(values.seed) }).then(
    (r) => process.stdout.write(JSON.stringify(r, null, 2) + "\n"),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
      process.exit(1);
    },
  );
}
