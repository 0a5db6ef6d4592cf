/**
 * The WebSocket stream (sequencer/stream.ts) over a real HTTP server on 127.0.0.1 with real `ws`
 * clients.
 *
 * The sequencer's event feed is still being written, so the StreamSource here is a small event
 * emitter with a fixed book, standing in for the sequencer (never for the stream under test).
 *
 * "Nothing else was sent" is checked without timers: the test's emit runs the stream's listener
 * synchronously, so any frame it produced is already queued on the socket before the client's next
 * {"op":"ping"}; the pong arriving next proves nothing was sent in between.
 */
import { EventEmitter } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocket, type ClientOptions } from "ws";
import {
  attachStream,
  BOOK_SNAPSHOT_DEPTH,
  type BookLevel,
  type BookSnapshot,
  type FillStatusEvent,
  type LevelEvent,
  type OrderEvent,
  type Stream,
  type StreamEvent,
  type StreamOptions,
  type StreamSource,
  type TradeEvent,
} from "../sequencer/stream";

// A hang fails in seconds instead of the project's 10-minute default; no test depends on speed.
jest.setTimeout(30_000);

const ETH = "ETH-USDC";
const BTC = "BTC-USDC";

// ---- Stand-in for the sequencer --------------------------------------------------------------

class FixedBookSource implements StreamSource {
  private readonly listeners = new Set<(e: StreamEvent) => void>();
  readonly depthsAsked: number[] = [];
  /** Runs after each snapshot is taken: lets a test emit at the earliest moment an event could race it. */
  afterSnapshot?: () => void;

  constructor(private readonly books: Record<string, BookSnapshot>) {}

  onEvent(listener: (e: StreamEvent) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  bookSnapshot(market: string, depth: number): BookSnapshot | null {
    this.depthsAsked.push(depth);
    const book = this.books[market];
    if (!book) return null;
    if (this.afterSnapshot) queueMicrotask(this.afterSnapshot);
    return { market, bids: book.bids.slice(0, depth), asks: book.asks.slice(0, depth) };
  }

  marketIds(): string[] {
    return Object.keys(this.books);
  }

  emit(e: StreamEvent): void {
    for (const l of [...this.listeners]) l(e);
  }

  listenerCount(): number {
    return this.listeners.size;
  }
}

function level(price: string, amount: string, orders = 1): BookLevel {
  return { price, priceNum: price, priceDen: "1", amount, orders };
}

function fixedBooks(): Record<string, BookSnapshot> {
  return {
    [ETH]: { market: ETH, bids: [level("2000", "5"), level("1999", "3", 2)], asks: [level("2001", "4"), level("2003", "1")] },
    [BTC]: { market: BTC, bids: [level("60000", "1")], asks: [] },
  };
}

function levelEvent(market: string, side: "buy" | "sell", price: string, amount: string): LevelEvent {
  return { type: "level", market, side, price, priceNum: price, priceDen: "1", amount };
}

let tradeCounter = 0;
function tradeEvent(market: string, over: Partial<TradeEvent> = {}): TradeEvent {
  tradeCounter += 1;
  return {
    type: "trade",
    market,
    trade: tradeCounter,
    price: "2000",
    priceNum: "2000",
    priceDen: "1",
    baseAmount: "1",
    quoteAmount: "2000",
    takerSide: "buy",
    makerHash: "0x" + "aa".repeat(32),
    takerHash: "0x" + "bb".repeat(32),
    makerAccount: 1,
    takerAccount: 2,
    sellFee: "0",
    buyFee: "2",
    time: 1_700_000_000 + tradeCounter,
    ...over,
  };
}

function orderEvent(account: number, status = "open"): OrderEvent {
  return { type: "order", hash: `0x${account.toString(16).padStart(64, "0")}`, market: ETH, account, side: "buy", status, filled: "0", remaining: "5" };
}

function fillStatus(makerAccount: number, takerAccount: number, status: FillStatusEvent["status"] = "batched"): FillStatusEvent {
  return {
    type: "fill_status",
    fillHash: "0x" + "cc".repeat(32),
    market: ETH,
    trade: 1,
    makerHash: "0x" + "aa".repeat(32),
    takerHash: "0x" + "bb".repeat(32),
    makerAccount,
    takerAccount,
    status,
    batch: status === "batched" ? 3 : null,
  };
}

// ---- Harness: real HTTP server, real clients ---------------------------------------------------

type Frame = { type: string; seq?: number; [field: string]: unknown };
type LogEntry = { msg?: string; [field: string]: unknown };

class LogSink {
  readonly entries: LogEntry[] = [];
  private readonly events = new EventEmitter();
  readonly log = (o: object): void => {
    this.entries.push(o as LogEntry);
    this.events.emit("entry", o);
  };
  has(msg: string, fields: Record<string, unknown> = {}): boolean {
    return this.entries.some((e) => matches(e, msg, fields));
  }
  waitFor(msg: string, fields: Record<string, unknown> = {}): Promise<LogEntry> {
    const found = this.entries.find((e) => matches(e, msg, fields));
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => {
      const onEntry = (e: LogEntry): void => {
        if (!matches(e, msg, fields)) return;
        this.events.off("entry", onEntry);
        resolve(e);
      };
      this.events.on("entry", onEntry);
    });
  }
}

function matches(e: LogEntry, msg: string, fields: Record<string, unknown>): boolean {
  return e.msg === msg && Object.entries(fields).every(([k, v]) => e[k] === v);
}

/** A ws client that queues every frame, so a test reads them one by one in order. */
class TestClient {
  private readonly frames: Frame[] = [];
  private readonly waiting: ((f: Frame) => void)[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data, isBinary) => {
      const frame = JSON.parse(String(data)) as Frame;
      expect(isBinary).toBe(false);
      const w = this.waiting.shift();
      if (w) w(frame);
      else this.frames.push(frame);
    });
    this.closed = new Promise((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static open(url: string, options?: ClientOptions): Promise<TestClient> {
    const ws = new WebSocket(url, options);
    openClients.add(ws);
    const client = new TestClient(ws);
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(client));
      ws.once("error", reject);
    });
  }

  next(): Promise<Frame> {
    const f = this.frames.shift();
    if (f) return Promise.resolve(f);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Strings go as text frames, Buffers as binary frames, anything else as JSON text. */
  send(message: object | string | Buffer): void {
    this.ws.send(typeof message === "string" || Buffer.isBuffer(message) ? message : JSON.stringify(message));
  }

  async request(message: object | string | Buffer): Promise<Frame> {
    this.send(message);
    return this.next();
  }

  async subscribe(...channels: string[]): Promise<void> {
    expect(await this.request({ op: "subscribe", channels })).toEqual({ type: "subscribed", channels });
  }

  /** Passes when no frame is queued ahead of the reply to a ping (see the file comment). */
  async expectNothingElse(): Promise<void> {
    expect(await this.request({ op: "ping" })).toEqual({ type: "pong" });
  }
}

interface Harness {
  server: Server;
  source: FixedBookSource;
  stream: Stream;
  logs: LogSink;
  base: string;
  url: string;
}

const openClients = new Set<WebSocket>();
const harnesses: Harness[] = [];

async function startStream(opts: StreamOptions = {}): Promise<Harness> {
  const server = createServer((_req, res) => {
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const source = new FixedBookSource(fixedBooks());
  const logs = new LogSink();
  const stream = attachStream(server, source, { log: logs.log, ...opts });
  const base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const h = { server, source, stream, logs, base, url: `${base}/v1/stream` };
  harnesses.push(h);
  return h;
}

afterEach(async () => {
  for (const ws of openClients) ws.terminate();
  openClients.clear();
  for (const h of harnesses.splice(0)) {
    await h.stream.close();
    await new Promise<void>((resolve) => {
      h.server.close(() => resolve());
      h.server.closeAllConnections();
    });
  }
});

/** What a client does with a book channel: the snapshot, then each level event sets one level's total. */
function applyLevel(book: { bids: BookLevel[]; asks: BookLevel[] }, e: Frame): void {
  const side = e.side === "buy" ? book.bids : book.asks;
  const at = side.findIndex((l) => l.price === e.price);
  if (e.amount === "0") {
    if (at >= 0) side.splice(at, 1);
    return;
  }
  if (at >= 0) side[at] = { ...side[at], amount: String(e.amount) };
  else side.push({ price: String(e.price), priceNum: String(e.priceNum), priceDen: String(e.priceDen), amount: String(e.amount), orders: 1 });
  side.sort((a, b) => (e.side === "buy" ? 1 : -1) * (Number(b.price) - Number(a.price)));
}

// ---- Tests -------------------------------------------------------------------------------------

describe("book channel", () => {
  test("sends the snapshot, then every level change of that market only, numbered by seq", async () => {
    const h = await startStream();
    const client = await TestClient.open(h.url);
    await h.logs.waitFor("stream.connected");

    h.source.emit(levelEvent(ETH, "buy", "2000", "9")); // before subscribing: not for this client
    await client.subscribe(`book:${ETH}`);
    const snapshot = await client.next();
    expect(snapshot).toEqual({ type: "book", ...fixedBooks()[ETH], seq: 1 });
    expect(h.source.depthsAsked).toEqual([BOOK_SNAPSHOT_DEPTH]);

    h.source.emit(levelEvent(ETH, "buy", "2000", "7"));
    h.source.emit(levelEvent(BTC, "buy", "60000", "2")); // other market
    h.source.emit(tradeEvent(ETH)); // other channel
    h.source.emit(levelEvent(ETH, "sell", "2001", "0"));
    h.source.emit(levelEvent(ETH, "sell", "2002", "6"));

    const book = { bids: snapshot.bids as BookLevel[], asks: snapshot.asks as BookLevel[] };
    const increments = [await client.next(), await client.next(), await client.next()];
    expect(increments).toEqual([
      { ...levelEvent(ETH, "buy", "2000", "7"), seq: 2 },
      { ...levelEvent(ETH, "sell", "2001", "0"), seq: 3 },
      { ...levelEvent(ETH, "sell", "2002", "6"), seq: 4 },
    ]);
    await client.expectNothingElse();

    for (const e of increments) applyLevel(book, e);
    expect(book.bids.map((l) => [l.price, l.amount])).toEqual([["2000", "7"], ["1999", "3"]]);
    expect(book.asks.map((l) => [l.price, l.amount])).toEqual([["2002", "6"], ["2003", "1"]]);
  });

  test("an event emitted right after the snapshot is taken is delivered after it", async () => {
    const h = await startStream();
    const client = await TestClient.open(h.url);
    // The earliest an event can follow the snapshot: a microtask queued while it is being taken.
    h.source.afterSnapshot = () => h.source.emit(levelEvent(ETH, "buy", "1998", "2"));

    await client.subscribe(`book:${ETH}`);
    expect(await client.next()).toMatchObject({ type: "book", market: ETH, seq: 1 });
    expect(await client.next()).toEqual({ ...levelEvent(ETH, "buy", "1998", "2"), seq: 2 });
  });

  test("subscribing again sends a fresh snapshot (how a client resynchronizes)", async () => {
    const h = await startStream();
    const client = await TestClient.open(h.url);
    await client.subscribe(`book:${ETH}`, `book:${BTC}`);
    expect(await client.next()).toMatchObject({ type: "book", market: ETH, seq: 1 });
    expect(await client.next()).toMatchObject({ type: "book", market: BTC, seq: 2 });

    await client.subscribe(`book:${ETH}`);
    expect(await client.next()).toMatchObject({ type: "book", market: ETH, seq: 3 });
    await client.expectNothingElse();
  });
});

describe("trades channel", () => {
  test("delivers the trades of the subscribed market only, each field as emitted", async () => {
    const h = await startStream();
    const client = await TestClient.open(h.url);
    await client.subscribe(`trades:${ETH}`);

    const btcTrade = tradeEvent(BTC);
    const ethTrade = tradeEvent(ETH, { takerSide: "sell", baseAmount: "3" });
    h.source.emit(btcTrade);
    h.source.emit(ethTrade);
    h.source.emit(levelEvent(ETH, "buy", "2000", "1"));

    expect(await client.next()).toEqual({ ...ethTrade, seq: 1 });
    await client.expectNothingElse();
  });
});

describe("orders channel", () => {
  test("delivers the account's order events and the fills it is maker or taker of", async () => {
    const h = await startStream();
    const seven = await TestClient.open(h.url);
    const both = await TestClient.open(h.url);
    await seven.subscribe("orders:7");
    await both.subscribe("orders:7", "orders:9");

    h.source.emit(orderEvent(8)); // another account
    h.source.emit(orderEvent(7, "partially_filled"));
    h.source.emit(fillStatus(7, 9)); // 7 is maker
    h.source.emit(fillStatus(8, 9)); // neither is 7
    h.source.emit(fillStatus(9, 7, "finalized")); // 7 is taker
    h.source.emit(tradeEvent(ETH, { makerAccount: 7 })); // trades are not on orders channels

    expect([await seven.next(), await seven.next(), await seven.next()]).toEqual([
      { ...orderEvent(7, "partially_filled"), seq: 1 },
      { ...fillStatus(7, 9), seq: 2 },
      { ...fillStatus(9, 7, "finalized"), seq: 3 },
    ]);
    await seven.expectNothingElse();

    // A fill between two subscribed accounts arrives once.
    expect([await both.next(), await both.next(), await both.next(), await both.next()]).toEqual([
      { ...orderEvent(7, "partially_filled"), seq: 1 },
      { ...fillStatus(7, 9), seq: 2 },
      { ...fillStatus(8, 9), seq: 3 },
      { ...fillStatus(9, 7, "finalized"), seq: 4 },
    ]);
    await both.expectNothingElse();
  });
});

describe("unsubscribe", () => {
  test("stops delivery on that channel only", async () => {
    const h = await startStream();
    const client = await TestClient.open(h.url);
    await client.subscribe(`trades:${ETH}`, "orders:1");
    h.source.emit(tradeEvent(ETH));
    expect(await client.next()).toMatchObject({ type: "trade", seq: 1 });

    expect(await client.request({ op: "unsubscribe", channels: [`trades:${ETH}`] })).toEqual({ type: "unsubscribed", channels: [`trades:${ETH}`] });
    h.source.emit(tradeEvent(ETH));
    h.source.emit(orderEvent(1));
    expect(await client.next()).toEqual({ ...orderEvent(1), seq: 2 });
    await client.expectNothingElse();
  });
});

describe("errors", () => {
  const cases: [name: string, message: string | Buffer, code: string][] = [
    ["malformed JSON", "{not json", "malformed_json"],
    ["a JSON value that is not an object", "[1,2]", "bad_request"],
    ["a binary frame", Buffer.from('{"op":"ping"}'), "bad_request"],
    ["an unknown op", JSON.stringify({ op: "dance" }), "unknown_op"],
    ["no op", JSON.stringify({ channels: [`trades:${ETH}`] }), "unknown_op"],
    ["missing channels", JSON.stringify({ op: "subscribe" }), "bad_request"],
    ["empty channels", JSON.stringify({ op: "subscribe", channels: [] }), "bad_request"],
    ["a channel that is not a string", JSON.stringify({ op: "subscribe", channels: [7] }), "bad_request"],
    ["an unknown channel kind", JSON.stringify({ op: "subscribe", channels: [`candles:${ETH}`] }), "unknown_channel"],
    ["a channel without argument", JSON.stringify({ op: "subscribe", channels: ["book"] }), "unknown_market"],
    ["an unknown book market", JSON.stringify({ op: "subscribe", channels: ["book:DOGE-USDC"] }), "unknown_market"],
    ["an unknown trades market", JSON.stringify({ op: "subscribe", channels: ["trades:DOGE-USDC"] }), "unknown_market"],
    ["a non-numeric account", JSON.stringify({ op: "subscribe", channels: ["orders:alice"] }), "bad_account"],
    ["a negative account", JSON.stringify({ op: "subscribe", channels: ["orders:-1"] }), "bad_account"],
    ["an account with a leading zero", JSON.stringify({ op: "subscribe", channels: ["orders:07"] }), "bad_account"],
    ["an account beyond 2^53", JSON.stringify({ op: "subscribe", channels: ["orders:9999999999999999"] }), "bad_account"],
    ["an empty account", JSON.stringify({ op: "subscribe", channels: ["orders:"] }), "bad_account"],
    ["unsubscribing from garbage", JSON.stringify({ op: "unsubscribe", channels: ["nope"] }), "unknown_channel"],
  ];

  test.each(cases)("%s gets an error frame and the connection stays usable", async (_name, message, code) => {
    const h = await startStream();
    const client = await TestClient.open(h.url);
    const reply = await client.request(message);
    expect(reply).toEqual({ type: "error", error: { code, message: expect.any(String) } });
    await client.expectNothingElse();
    await client.subscribe(`trades:${ETH}`);
    h.source.emit(tradeEvent(ETH));
    expect(await client.next()).toMatchObject({ type: "trade", seq: 1 });
  });

  test("a subscribe with one bad channel changes nothing", async () => {
    const h = await startStream();
    const client = await TestClient.open(h.url);
    const reply = await client.request({ op: "subscribe", channels: [`trades:${ETH}`, `book:${ETH}`, "book:DOGE-USDC"] });
    expect(reply).toMatchObject({ type: "error", error: { code: "unknown_market" } });
    expect((reply.error as { message: string }).message).toContain("DOGE-USDC");

    h.source.emit(tradeEvent(ETH));
    h.source.emit(levelEvent(ETH, "buy", "2000", "1"));
    await client.expectNothingElse(); // no snapshot, no trade, no level
  });

  test("too many subscriptions is refused as a whole; existing channels do not count again", async () => {
    const h = await startStream({ maxSubscriptions: 3 });
    const client = await TestClient.open(h.url);
    expect(await client.request({ op: "subscribe", channels: ["orders:1", "orders:2", "orders:3", "orders:4"] })).toMatchObject({
      type: "error",
      error: { code: "too_many_subscriptions" },
    });
    await client.subscribe("orders:1", "orders:2");
    expect(await client.request({ op: "subscribe", channels: ["orders:3", "orders:4"] })).toMatchObject({
      type: "error",
      error: { code: "too_many_subscriptions" },
    });
    await client.subscribe("orders:2", "orders:3");
    expect(await client.request({ op: "subscribe", channels: ["orders:4"] })).toMatchObject({ type: "error", error: { code: "too_many_subscriptions" } });

    // The refused channel gets nothing; the held ones still do; unsubscribing frees a slot.
    h.source.emit(orderEvent(4));
    h.source.emit(orderEvent(3));
    expect(await client.next()).toEqual({ ...orderEvent(3), seq: 1 });
    await client.expectNothingElse();
    expect(await client.request({ op: "unsubscribe", channels: ["orders:1"] })).toEqual({ type: "unsubscribed", channels: ["orders:1"] });
    await client.subscribe("orders:4");
  });
});

describe("connections", () => {
  test("an upgrade on another path is refused with 404; query strings do not change the path", async () => {
    const h = await startStream();
    const refused = new WebSocket(`${h.base}/v1/other`);
    openClients.add(refused);
    await expect(new Promise((_resolve, reject) => refused.once("error", reject))).rejects.toThrow("Unexpected server response: 404");
    expect(h.stream.clients()).toBe(0);
    expect(h.logs.has("stream.connected")).toBe(false);

    const client = await TestClient.open(`${h.url}?client=test`);
    await client.expectNothingElse();
    expect(h.stream.clients()).toBe(1);
  });

  test("the stream serves a custom path", async () => {
    const h = await startStream({ path: "/custom" });
    const client = await TestClient.open(`${h.base}/custom`);
    await client.expectNothingElse();
  });

  test("a client that stops reading is closed with 1013; other clients carry on", async () => {
    const h = await startStream({ maxBufferedBytes: 256 * 1024 });
    const slow = await TestClient.open(h.url);
    const other = await TestClient.open(h.url);
    await slow.subscribe(`trades:${ETH}`);
    await other.subscribe("orders:1");
    slow.ws.pause(); // stops reading its socket: the kernel buffers fill, then the server's

    const bigHash = "0x" + "ab".repeat(32 * 1024); // ~64 KiB per event
    for (let i = 0; i < 2_000 && !h.logs.has("stream.slow_client"); i++) h.source.emit(tradeEvent(ETH, { makerHash: bigHash }));
    const slowLog = await h.logs.waitFor("stream.slow_client");
    expect(slowLog.bufferedBytes as number).toBeGreaterThan(256 * 1024);

    slow.ws.resume(); // reads the backlog, then the close frame
    expect(await slow.closed).toEqual({ code: 1013, reason: "client too slow" });
    await h.logs.waitFor("stream.closed", { reason: "slow_client" });

    h.source.emit(orderEvent(1));
    expect(await other.next()).toEqual({ ...orderEvent(1), seq: 1 });
    expect(h.stream.clients()).toBe(1);
  });

  test("clients that do not answer ws pings are terminated", async () => {
    const h = await startStream({ heartbeatMs: 20 });
    const mute = await TestClient.open(h.url, { autoPong: false });
    let pinged = false;
    mute.ws.on("ping", () => (pinged = true));
    expect((await mute.closed).code).toBe(1006); // dropped without a close frame
    expect(pinged).toBe(true);
    await h.logs.waitFor("stream.closed", { reason: "heartbeat_timeout" });
  });

  test("close() closes every client with 1001, stops listening to the source, and refuses new upgrades", async () => {
    const h = await startStream();
    const a = await TestClient.open(h.url);
    const b = await TestClient.open(h.url);
    await a.subscribe(`book:${ETH}`);
    await a.next();
    await b.subscribe("orders:1");
    expect(h.stream.clients()).toBe(2);
    expect(h.source.listenerCount()).toBe(1);

    await h.stream.close();
    expect(await a.closed).toEqual({ code: 1001, reason: "server shutting down" });
    expect(await b.closed).toEqual({ code: 1001, reason: "server shutting down" });
    expect(h.stream.clients()).toBe(0);
    expect(h.source.listenerCount()).toBe(0);
    expect(h.logs.entries.filter((e) => e.msg === "stream.closed" && e.reason === "server_shutdown")).toHaveLength(2);

    const late = new WebSocket(h.url);
    openClients.add(late);
    await expect(new Promise((_resolve, reject) => late.once("error", reject))).rejects.toThrow();
    await h.stream.close(); // idempotent
  });
});
