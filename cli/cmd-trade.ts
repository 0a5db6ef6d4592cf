/**
 * Trading against the sequencer's order books: `modex order` (sign and place a limit order) and
 * `modex cancel HASH`, which sign with the account's key file like transfer/withdraw, and the
 * read-only `markets`, `book MARKET`, `trades MARKET` and `orders ACCOUNT`.
 */
import { ORDER_ARITY } from "../core/params";
import { parseAccountId, parseAmount, parseSeconds, parseTxHash, parseUint, UsageError, type ParsedArgs } from "./args";
import type { Hex, MarketResponse, ModexApiClient, OrderBody, OrderResponse, SubmitOrderResponse } from "./api-client";
import { chainAndAccount, loadKey, ReportedFailure, signingTime } from "./cmd-l2";
import { API_OPTION, apiClient, columns, lazy, note, report, table, type CliContext, type Command } from "./context";
import type { TimeInForce } from "./order";
import { checkOrderAmount, formatRatio, parsePrice, priceOf, quoteAmountAt } from "./price";

const DEFAULT_VALID_FOR = 86_400;
const DEFAULT_WAIT_TIMEOUT = 600;
const MAX_U32 = 2 ** 32 - 1;
/** The API's bound on depth and limit query parameters. */
const MAX_ROWS = 1000;
const OPEN_STATUSES: ReadonlySet<string> = new Set(["open", "partially_filled"]);
const TIME_IN_FORCE: readonly TimeInForce[] = ["gtc", "ioc", "post_only"];

const time = (ms: number): string => new Date(ms).toISOString();
const short = (h: string): string => `${h.slice(0, 10)}…`;
const isOpen = (o: { readonly status: string }): boolean => OPEN_STATUSES.has(o.status);

function str(args: ParsedArgs, name: string): string {
  return args.values[name] as string;
}

function opt(args: ParsedArgs, name: string): string | undefined {
  return args.values[name] as string | undefined;
}

/** A market id as the sequencer names them (e.g. ETH-USDC). */
function parseMarketId(s: string, name: string): string {
  if (!/^[A-Za-z0-9._-]{1,32}$/.test(s)) throw new UsageError(`${name} must be a market id such as ETH-USDC (see modex markets), got ${JSON.stringify(s)}`);
  return s;
}

/** A row count for the API (1..1000). */
function parseRows(s: string | undefined, name: string, dflt: number): number {
  if (s === undefined) return dflt;
  const n = parseUint(s, name, MAX_ROWS);
  if (n === 0) throw new UsageError(`--${name} must be at least 1`);
  return n;
}

// ---------------------------------------------------------------- order

interface OrderArgs {
  readonly account: number;
  readonly market: string;
  readonly side: "buy" | "sell";
  readonly amount: bigint;
  readonly quoteAmount: bigint;
  readonly orderId?: number;
  readonly maxFeeBips?: number;
  readonly validFor: number;
  readonly validUntil?: number;
  readonly timeInForce: TimeInForce;
  readonly wait: boolean;
  readonly timeoutS: number;
}

/** Everything checkable offline is checked before any key file or network access. */
function parseOrderArgs(args: ParsedArgs): OrderArgs {
  const account = parseAccountId(str(args, "account"), "account");
  const market = parseMarketId(str(args, "market"), "--market");
  const side = str(args, "side").toLowerCase();
  if (side !== "buy" && side !== "sell") throw new UsageError(`--side must be buy or sell, got ${JSON.stringify(str(args, "side"))}`);
  const amount = parseAmount(str(args, "amount"), "amount");
  checkOrderAmount(amount, "amount");

  const priceText = opt(args, "price");
  const quoteText = opt(args, "quote-amount");
  if (priceText !== undefined && quoteText !== undefined) throw new UsageError("--price and --quote-amount are two ways to give the limit; pass one");
  if (priceText === undefined && quoteText === undefined) throw new UsageError("missing --price P (or --quote-amount N)");
  let quoteAmount: bigint;
  if (quoteText !== undefined) {
    quoteAmount = parseAmount(quoteText, "quote-amount");
    checkOrderAmount(quoteAmount, "quote-amount");
  } else {
    quoteAmount = quoteAmountAt(amount, parsePrice(priceText as string), priceText as string);
  }

  const orderIdText = opt(args, "order-id");
  const feeText = opt(args, "max-fee-bips");
  const forText = opt(args, "valid-for");
  const untilText = opt(args, "valid-until");
  if (forText !== undefined && untilText !== undefined) throw new UsageError("--valid-for and --valid-until both set the expiry; pass one");
  const validFor = parseSeconds(forText ?? String(DEFAULT_VALID_FOR), "valid-for");
  if (validFor === 0) throw new UsageError("--valid-for must be at least 1 second");

  const tifText = (opt(args, "tif") ?? "gtc").toLowerCase().replace(/-/g, "_");
  if (!TIME_IN_FORCE.includes(tifText as TimeInForce)) throw new UsageError(`--tif must be one of ${TIME_IN_FORCE.join(", ")}, got ${JSON.stringify(opt(args, "tif"))}`);

  return {
    account,
    market,
    side,
    amount,
    quoteAmount,
    ...(orderIdText !== undefined ? { orderId: parseUint(orderIdText, "order-id", MAX_U32) } : {}),
    ...(feeText !== undefined ? { maxFeeBips: parseUint(feeText, "max-fee-bips", 10_000) } : {}),
    validFor,
    ...(untilText !== undefined ? { validUntil: parseSeconds(untilText, "valid-until") } : {}),
    timeInForce: tifText as TimeInForce,
    wait: args.values.wait === true,
    timeoutS: parseSeconds(opt(args, "timeout") ?? String(DEFAULT_WAIT_TIMEOUT), "timeout"),
  };
}

function findMarket(markets: readonly MarketResponse[], id: string): MarketResponse {
  const m = markets.find((x) => x.id === id) ?? markets.find((x) => x.id.toLowerCase() === id.toLowerCase());
  if (m) return m;
  throw new UsageError(
    markets.length
      ? `unknown market ${JSON.stringify(id)}; this sequencer trades ${markets.map((x) => x.id).join(", ")}`
      : `unknown market ${JSON.stringify(id)}; this sequencer has no markets`,
  );
}

/**
 * The next order id after the largest the account has used, so no slot is reused by mistake (an
 * order with a smaller id than its slot's can never fill); skips ids whose slot holds an open order.
 */
async function freshOrderId(api: ModexApiClient, account: number, orderLevels: number): Promise<{ id: number; largest: number | null }> {
  const { orders } = await api.accountOrders(account, MAX_ROWS);
  const slots = ORDER_ARITY ** orderLevels;
  const largest = orders.length ? Math.max(...orders.map((o) => o.orderId)) : null;
  const busy = new Set(orders.filter(isOpen).map((o) => o.orderId % slots));
  if (busy.size >= slots) throw new Error(`all ${slots} order slots of account ${account} hold open orders; cancel one first (modex orders ${account} --open)`);
  let id = largest === null ? 1 : largest + 1;
  while (busy.has(id % slots)) id++;
  if (id > MAX_U32) throw new Error(`account ${account} has used order ids up to ${largest}; no larger uint32 id is left`);
  return { id, largest };
}

export const order: Command = {
  spec: {
    name: "order",
    summary: "Sign a limit order with your account's key and place it in a market's book.",
    options: {
      key: { type: "string", value: "FILE", description: "the account's key file (modex keygen)", required: true },
      account: { type: "string", value: "ID", description: "your account id", required: true },
      market: { type: "string", value: "ID", description: "market id, e.g. ETH-USDC (modex markets)", required: true },
      side: { type: "string", value: "buy|sell", description: "buy or sell the market's base token", required: true },
      amount: { type: "string", value: "N", description: "base amount in base units (wei for ETH); float40 (m·10^e, m < 2^35)", required: true },
      price: { type: "string", value: "P", description: "limit price in quote base units per base base unit (e.g. 0.000000002 = 2000 USDC/ETH)" },
      "quote-amount": { type: "string", value: "N", description: "instead of --price: the quote amount for the whole --amount at the limit" },
      "order-id": { type: "string", value: "N", description: "order id (uint32; uses slot N mod 4^orderLevels)", default: "next after the account's largest" },
      "max-fee-bips": { type: "string", value: "B", description: "most fee accepted, in bips of what the order receives", default: "the market's taker fee" },
      "valid-for": { type: "string", value: "SECONDS", description: "expire SECONDS from now (L1 time)", default: String(DEFAULT_VALID_FOR) },
      "valid-until": { type: "string", value: "UNIX", description: "instead of --valid-for: expire at this unix time (seconds)" },
      tif: { type: "string", value: "gtc|ioc|post_only", description: "time in force: rest in the book, fill what crosses now and drop the rest, or only rest", default: "gtc" },
      wait: { type: "boolean", description: "wait until the order is closed and all its fills are finalized on L1" },
      timeout: { type: "string", value: "SECONDS", description: "with --wait: give up after SECONDS", default: String(DEFAULT_WAIT_TIMEOUT) },
      ...API_OPTION,
    },
    notes: [
      "Give the limit with one of --price or --quote-amount. The order signs amount and quoteAmount, both",
      "float40; --price must make quoteAmount = amount × price a whole representable number, else the",
      "error lists the nearest values that work. Prices are in base units: 2000 USDC (6 decimals) per",
      "ETH (18 decimals) is 2000·10^6 / 10^18 = 0.000000002.",
      "The sequencer matches an order only while it is valid for its expiry margin (default 120 s) longer.",
    ].join("\n"),
  },
  async run(args, ctx) {
    const p = parseOrderArgs(args);
    const key = await loadKey(args, ctx);
    const api = apiClient(args, ctx);
    const [{ status }, { markets }] = await Promise.all([chainAndAccount(api, p.account, key, str(args, "key")), api.markets()]);
    const market = findMarket(markets, p.market);
    let orderId = p.orderId;
    if (orderId === undefined) {
      const fresh = await freshOrderId(api, p.account, status.params.orderLevels);
      orderId = fresh.id;
      note(ctx, args, `order id ${orderId} (${fresh.largest === null ? "the account's first order" : `the account's largest so far is ${fresh.largest}`})`);
    }
    const now = signingTime(ctx, status);
    if (p.validUntil !== undefined && p.validUntil <= now) throw new UsageError(`--valid-until ${p.validUntil} is not in the future (now ${now}, L1 time)`);
    const validUntil = p.validUntil ?? Math.min(now + p.validFor, MAX_U32);
    const { buildSignedOrder } = lazy<typeof import("./order")>(() => require("./order"));
    const signed = buildSignedOrder(key.privateKey, {
      account: p.account,
      orderId,
      base: market.base,
      quote: market.quote,
      side: p.side,
      amount: p.amount,
      quoteAmount: p.quoteAmount,
      maxFeeBips: p.maxFeeBips ?? Math.max(market.makerFeeBips, market.takerFeeBips),
      validUntil,
      chainId: status.chainId,
      rollup: status.rollupAddress,
      timeInForce: p.timeInForce,
    });
    const accepted = await api.submitOrder(signed.body);
    if (accepted.hash.toLowerCase() !== signed.hash) ctx.stderr(`warning: the API reports order hash ${accepted.hash}, this client computed ${signed.hash}\n`);
    const hash = accepted.hash as Hex;

    let info: OrderResponse | null = null;
    if (p.wait) {
      note(ctx, args, `order ${hash} ${accepted.status}; waiting until it is closed and its fills are finalized (up to ${p.timeoutS} s)`);
      info = await waitForOrder(api, hash, p.timeoutS, ctx, args);
    } else if (accepted.fills.length > 0) {
      // The answer names the fills only; their amounts and prices are on the order.
      info = await api.order(hash).catch((e: unknown) => {
        ctx.stderr(`warning: cannot read the order's fills: ${e instanceof Error ? e.message : String(e)}\n`);
        return null;
      });
    }
    printOrderResult(ctx, args, market, signed.body, accepted, info);
    const rejected = info?.fills.filter((f) => f.status === "rejected") ?? [];
    if (rejected.length) throw new ReportedFailure(`${rejected.length} fill${rejected.length > 1 ? "s" : ""} of order ${hash} ${rejected.length > 1 ? "were" : "was"} rejected (${rejected.map((f) => f.fillHash).join(", ")})`);
  },
};

async function waitForOrder(api: ModexApiClient, hash: Hex, timeoutS: number, ctx: CliContext, args: ParsedArgs): Promise<OrderResponse> {
  const deadline = Date.now() + timeoutS * 1000;
  let lastStatus = "";
  const fillStatus = new Map<string, string>();
  for (;;) {
    const o = await api.order(hash);
    if (o.status !== lastStatus) {
      lastStatus = o.status;
      note(ctx, args, `  order ${o.status} (filled ${o.filled} of ${o.amount})`);
    }
    for (const f of o.fills) {
      if (fillStatus.get(f.fillHash) === f.status) continue;
      fillStatus.set(f.fillHash, f.status);
      note(ctx, args, `  fill ${short(f.fillHash)} (trade ${f.trade}, ${f.baseAmount} at ${f.price}): ${f.status}${f.batch !== undefined ? ` (batch ${f.batch})` : ""}`);
    }
    const settled = o.fills.filter((f) => f.status === "finalized" || f.status === "rejected").length;
    if (!isOpen(o) && settled === o.fills.length) return o;
    if (Date.now() >= deadline) {
      throw new Error(
        `order ${hash} is still ${o.status} after ${timeoutS} s (filled ${o.filled} of ${o.amount}; ${settled} of ${o.fills.length} fills settled on L1)` +
          (isOpen(o) ? "; it stays in the book until filled, cancelled (modex cancel) or expired" : ""),
      );
    }
    await ctx.sleep(1_000);
  }
}

function printOrderResult(
  ctx: CliContext,
  args: ParsedArgs,
  market: MarketResponse,
  body: OrderBody,
  accepted: SubmitOrderResponse,
  info: OrderResponse | null,
): void {
  const st = info ?? accepted;
  const result = {
    hash: accepted.hash,
    status: st.status,
    market: market.id,
    side: body.side,
    orderId: body.orderId,
    amount: body.amount,
    quoteAmount: body.quoteAmount,
    price: priceOf(BigInt(body.quoteAmount), BigInt(body.amount)),
    maxFeeBips: body.maxFeeBips,
    validUntil: body.validUntil,
    timeInForce: body.timeInForce,
    filled: st.filled,
    remaining: st.remaining,
    /** Fill operations (modex tx HASH follows one to its batch). */
    fills: info ? info.fills.map((f) => f.fillHash) : accepted.fills,
    ...(info ? { trades: info.fills } : {}),
    ...(info?.reason ? { reason: info.reason } : {}),
  };
  const fills = info
    ? [
        `fills (${info.fills.length}):`,
        ...columns(
          ["  trade", "role", "amount", "quote", "price", "fee", "status", "fill"],
          info.fills.map((f) => [`  ${f.trade}`, f.role, f.baseAmount, f.quoteAmount, f.price, f.fee, f.status + (f.batch !== undefined ? ` (batch ${f.batch})` : ""), f.fillHash]),
        ),
      ]
    : [`fills (${accepted.fills.length}):`, ...accepted.fills.map((h) => `  ${h}`)];
  report(ctx, args, result, [
    ...table([
      ["hash", result.hash],
      ["status", result.status],
      ["market", `${market.id} (base ${market.base}, quote ${market.quote})`],
      ["side", result.side],
      ["order id", result.orderId],
      ["amount", result.amount],
      ["quote amount", result.quoteAmount],
      ["price", result.price],
      ["max fee", `${result.maxFeeBips} bips`],
      ["time in force", result.timeInForce ?? "gtc"],
      ["valid until", `${result.validUntil} (${time(result.validUntil * 1000)})`],
      ["filled", result.filled],
      ["remaining", result.remaining],
    ]),
    ...(info?.reason ? [`reason: ${info.reason}`] : []),
    ...(result.fills.length ? fills : ["fills: none"]),
  ]);
}

// ---------------------------------------------------------------- cancel

export const cancel: Command = {
  spec: {
    name: "cancel",
    summary: "Cancel an open order in the sequencer's book, signed with the owner's key.",
    positionals: [{ name: "HASH", description: "the order's hash (modex order, modex orders ACCOUNT --json)" }],
    options: {
      key: { type: "string", value: "FILE", description: "the order owner's key file", required: true },
      ...API_OPTION,
    },
    notes: "A cancel only takes the order out of this sequencer's book: until it expires, a signed order\nstays valid for the protocol (placing a larger order id in the same slot retires it on L2 too).",
  },
  async run(args, ctx) {
    const hash = parseTxHash(args.positionals[0]);
    const key = await loadKey(args, ctx);
    const api = apiClient(args, ctx);
    const o = await api.order(hash);
    if (!isOpen(o)) throw new Error(`order ${hash} is ${o.status}${o.reason ? ` (${o.reason})` : ""}: only open orders can be cancelled`);
    const { status } = await chainAndAccount(api, o.account, key, str(args, "key"));
    const { signCancel } = lazy<typeof import("./order")>(() => require("./order"));
    const { signature } = signCancel(key.privateKey, o.account, o.orderId, { chainId: status.chainId, rollup: status.rollupAddress });
    const after = await api.cancelOrder(hash, signature);
    report(ctx, args, after, table([
      ["hash", after.hash],
      ["status", after.status + (after.reason ? ` (${after.reason})` : "")],
      ["market", after.market],
      ["account", after.account],
      ["order id", after.orderId],
      ["side", after.side],
      ["price", after.price],
      ["filled", `${after.filled} of ${after.amount}`],
    ]));
  },
};

// ---------------------------------------------------------------- queries

export const markets: Command = {
  spec: { name: "markets", summary: "List the markets the sequencer trades, with their tokens and fees.", options: { ...API_OPTION } },
  async run(args, ctx) {
    const r = await apiClient(args, ctx).markets();
    report(ctx, args, r, r.markets.length
      ? columns(["market", "base", "quote", "maker fee", "taker fee"], r.markets.map((m) => [m.id, m.base, m.quote, `${m.makerFeeBips} bips`, `${m.takerFeeBips} bips`]))
      : ["no markets: this sequencer does not trade"]);
  },
};

export const book: Command = {
  spec: {
    name: "book",
    summary: "Show a market's order book: asks (highest first) above bids, with amount and order count per price.",
    positionals: [{ name: "MARKET", description: "market id, e.g. ETH-USDC" }],
    options: {
      depth: { type: "string", value: "N", description: `price levels per side (1..${MAX_ROWS})`, default: "20" },
      ...API_OPTION,
    },
    notes: "Prices are quote base units per base base unit; amounts are the base amount left at each price.",
  },
  async run(args, ctx) {
    const market = parseMarketId(args.positionals[0], "MARKET");
    const depth = parseRows(opt(args, "depth"), "depth", 20);
    const b = await apiClient(args, ctx).book(market, depth);
    const asks = [...b.asks].reverse().map((l) => ["ask", l.price, l.amount, l.orders] as const);
    const bids = b.bids.map((l) => ["bid", l.price, l.amount, l.orders] as const);
    const lines = columns(["side", "price", "amount", "orders"], [...asks, ...bids]);
    if (asks.length && bids.length) {
      // Spread = best ask − best bid, exactly from the levels' fractions.
      const a = b.asks[0];
      const d = b.bids[0];
      const spread = formatRatio(BigInt(a.priceNum) * BigInt(d.priceDen) - BigInt(d.priceNum) * BigInt(a.priceDen), BigInt(a.priceDen) * BigInt(d.priceDen));
      lines.splice(1 + asks.length, 0, `---   spread ${spread}`);
    }
    report(ctx, args, b, [
      `${b.market} order book`,
      ...(asks.length || bids.length ? lines : []),
      ...(asks.length ? [] : ["asks: none"]),
      ...(bids.length ? [] : ["bids: none"]),
    ]);
  },
};

export const trades: Command = {
  spec: {
    name: "trades",
    summary: "Show a market's recent trades (newest first) and how far each fill has settled.",
    positionals: [{ name: "MARKET", description: "market id, e.g. ETH-USDC" }],
    options: {
      limit: { type: "string", value: "N", description: `number of trades (1..${MAX_ROWS})`, default: "20" },
      ...API_OPTION,
    },
  },
  async run(args, ctx) {
    const market = parseMarketId(args.positionals[0], "MARKET");
    const limit = parseRows(opt(args, "limit"), "limit", 20);
    const r = await apiClient(args, ctx).trades(market, limit);
    report(ctx, args, r, r.trades.length
      ? [
          `${r.market} trades:`,
          ...columns(
            ["trade", "time", "taker", "price", "amount", "quote", "status"],
            r.trades.map((t) => [t.trade, time(t.time), t.takerSide, t.price, t.baseAmount, t.quoteAmount, t.status + (t.batch !== undefined ? ` (batch ${t.batch})` : "")]),
          ),
        ]
      : [`${r.market}: no trades yet`]);
  },
};

export const orders: Command = {
  spec: {
    name: "orders",
    summary: "List an account's orders (newest first): market, side, price, amount, filled, status.",
    positionals: [{ name: "ACCOUNT", description: "account id" }],
    options: {
      limit: { type: "string", value: "N", description: `number of orders (1..${MAX_ROWS})`, default: "20" },
      open: { type: "boolean", description: "only open and partially filled orders" },
      ...API_OPTION,
    },
    notes: "Hashes are shortened; --json prints them in full (modex cancel takes the full hash).",
  },
  async run(args, ctx) {
    const id = parseAccountId(args.positionals[0], "ACCOUNT");
    const limit = parseRows(opt(args, "limit"), "limit", 20);
    const openOnly = args.values.open === true;
    // The API cannot filter by status: with --open, read as many as it gives and filter here.
    const r = await apiClient(args, ctx).accountOrders(id, openOnly ? MAX_ROWS : limit);
    const list = openOnly ? r.orders.filter(isOpen).slice(0, limit) : r.orders;
    report(ctx, args, { orders: list }, list.length
      ? columns(
          ["hash", "id", "market", "side", "price", "amount", "filled", "status"],
          list.map((o) => [short(o.hash), o.orderId, o.market, o.side, o.price, o.amount, o.filled, o.status]),
        )
      : [`account ${id} has no ${openOnly ? "open " : ""}orders`]);
  },
};
