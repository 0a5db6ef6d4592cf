/**
 * The WebSocket stream: book updates, trades and order status changes, pushed as JSON text frames
 * on the API's HTTP server (path /v1/stream).
 *
 *   client → {"op":"subscribe","channels":["book:ETH-USDC","trades:ETH-USDC","orders:1"]}
 *            {"op":"unsubscribe","channels":[...]}
 *            {"op":"ping"}
 *   server → {"type":"subscribed","channels":[...]} / {"type":"unsubscribed","channels":[...]}
 *            {"type":"pong"}
 *            {"type":"book","market",bids,asks,"seq"}  on subscribing to book:<market>, then its level events
 *            every StreamEvent of a subscribed channel, plus "seq"
 *            {"type":"error","error":{"code","message"}}  the connection stays open, nothing changed
 *
 * Channels: book:<market> (level events), trades:<market> (trade events), orders:<account> (order
 * events of the account, fill_status events where it is the maker or the taker).
 *
 * `seq` numbers the data frames (book snapshots and events) of one connection 1, 2, 3, ...; a gap
 * means the client missed something and should resubscribe. Subscribing again to a book channel
 * sends a fresh snapshot, which is how a client resynchronizes.
 *
 * The snapshot holds the top BOOK_SNAPSHOT_DEPTH levels per side; level events cover every level,
 * so a level deeper than the snapshot appears when it next changes.
 */
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocket, WebSocketServer, type RawData } from "ws";
import { errorMessage, type LogFn } from "./log";

// ---- The contract with the sequencer -------------------------------------------------------------

/** Events the sequencer emits, already JSON-safe (bigints as decimal strings). */
export type StreamEvent = TradeEvent | LevelEvent | OrderEvent | FillStatusEvent;

export interface TradeEvent {
  type: "trade";
  market: string;
  trade: number;
  price: string;
  priceNum: string;
  priceDen: string;
  baseAmount: string;
  quoteAmount: string;
  takerSide: "buy" | "sell";
  makerHash: string;
  takerHash: string;
  makerAccount: number;
  takerAccount: number;
  sellFee: string;
  buyFee: string;
  time: number;
}

/** One price level's new total; amount "0" = the level was removed. */
export interface LevelEvent {
  type: "level";
  market: string;
  side: "buy" | "sell";
  price: string;
  priceNum: string;
  priceDen: string;
  amount: string;
}

export interface OrderEvent {
  type: "order";
  hash: string;
  market: string | null;
  account: number;
  side: "buy" | "sell";
  status: string;
  filled: string;
  remaining: string;
  reason?: string;
}

export interface FillStatusEvent {
  type: "fill_status";
  fillHash: string;
  market: string;
  trade: number;
  makerHash: string;
  takerHash: string;
  makerAccount: number;
  takerAccount: number;
  status: "batched" | "proven" | "finalized" | "rejected";
  batch: number | null;
}

export interface BookLevel {
  price: string;
  priceNum: string;
  priceDen: string;
  amount: string;
  orders: number;
}

export interface BookSnapshot {
  market: string;
  bids: BookLevel[];
  asks: BookLevel[];
}

/** What the stream needs from the sequencer. */
export interface StreamSource {
  /** Registers a listener for every event, in order; returns an unsubscribe function. */
  onEvent(listener: (e: StreamEvent) => void): () => void;
  /** The current book of a market, or null for an unknown market. */
  bookSnapshot(market: string, depth: number): BookSnapshot | null;
  /** Configured market ids. */
  marketIds(): string[];
}

// ---- The stream ----------------------------------------------------------------------------------

export interface StreamOptions {
  log?: LogFn;
  /** Upgrade path served; default "/v1/stream". */
  path?: string;
  /** A client whose unsent data exceeds this is closed with 1013; default 1 MiB. */
  maxBufferedBytes?: number;
  /** Channels one connection may hold at once; default 100. */
  maxSubscriptions?: number;
  /** ws-level ping interval; a client that has not answered the previous ping is terminated. Default 30 s. */
  heartbeatMs?: number;
}

export interface Stream {
  /** Closes every client (1001), the WebSocket server, and stops listening to the source. */
  close(): Promise<void>;
  /** Open connections. */
  clients(): number;
}

export type StreamErrorCode =
  | "malformed_json"
  | "bad_request"
  | "unknown_op"
  | "unknown_channel"
  | "unknown_market"
  | "bad_account"
  | "too_many_subscriptions"
  | "internal";

export const DEFAULT_STREAM_PATH = "/v1/stream";
export const BOOK_SNAPSHOT_DEPTH = 50;
const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;
const DEFAULT_MAX_SUBSCRIPTIONS = 100;
const DEFAULT_HEARTBEAT_MS = 30_000;
/** Client frames are small control messages; same bound as the HTTP API's body limit. */
const MAX_CLIENT_FRAME_BYTES = 16 * 1024;
/** How long close() waits for clients to answer the close frame before dropping them. */
const CLOSE_GRACE_MS = 1_000;
/** 1013 "try again later": the client fell behind, reconnecting and resubscribing recovers. */
const CLOSE_SLOW_CLIENT = 1013;
/** 1001 "going away": the server is shutting down. */
const CLOSE_GOING_AWAY = 1001;
const ACCOUNT_ID = /^(0|[1-9][0-9]{0,15})$/;

type CloseReason = "client" | "slow_client" | "heartbeat_timeout" | "server_shutdown" | "socket_error";

interface Connection {
  readonly id: number;
  readonly socket: WebSocket;
  readonly channels: Set<string>;
  /** Last seq sent. */
  seq: number;
  /** Answered the last heartbeat ping. */
  alive: boolean;
  /** Set when the server ends the connection, so the close log says why. */
  closeReason?: CloseReason;
}

/** A channel parsed and checked; `snapshot` is taken at check time so subscribing cannot fail after. */
interface CheckedChannel {
  name: string;
  snapshot?: BookSnapshot;
}

class StreamRequestError extends Error {
  constructor(
    readonly code: StreamErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Serves the stream on `server`'s upgrade requests for `opts.path`; other upgrade paths get a 404. */
export function attachStream(server: Server, source: StreamSource, opts: StreamOptions = {}): Stream {
  const log: LogFn = opts.log ?? ((): void => undefined);
  const path = opts.path ?? DEFAULT_STREAM_PATH;
  const maxBufferedBytes = opts.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  const maxSubscriptions = opts.maxSubscriptions ?? DEFAULT_MAX_SUBSCRIPTIONS;
  const heartbeatMs = opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;

  // Compression off: every frame would cost CPU per client, on the event loop the sequencer shares.
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_CLIENT_FRAME_BYTES });
  const connections = new Set<Connection>();
  /** channel → connections subscribed to it, so an event costs only its recipients. */
  const subscribers = new Map<string, Set<Connection>>();
  let nextConnectionId = 1;

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (requestPath(req) !== path) {
      socket.once("finish", () => socket.destroy());
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, req));
  };
  server.on("upgrade", onUpgrade);

  function onConnection(socket: WebSocket, req: IncomingMessage): void {
    const conn: Connection = { id: nextConnectionId++, socket, channels: new Set(), seq: 0, alive: true };
    connections.add(conn);
    log({ msg: "stream.connected", conn: conn.id, remote: req.socket.remoteAddress });

    socket.on("pong", () => {
      conn.alive = true;
    });
    socket.on("message", (data: RawData, isBinary: boolean) => onMessage(conn, data, isBinary));
    // ws closes the connection itself after a protocol error (bad frame, frame over maxPayload).
    socket.on("error", (e: Error) => {
      conn.closeReason ??= "socket_error";
      log({ level: "warn", msg: "stream.socket_error", conn: conn.id, error: errorMessage(e) });
    });
    socket.on("close", (code: number, reason: Buffer) => {
      connections.delete(conn);
      for (const ch of conn.channels) unindex(conn, ch);
      conn.channels.clear();
      log({ msg: "stream.closed", conn: conn.id, reason: conn.closeReason ?? "client", code, detail: reason.toString() || undefined });
    });
  }

  function onMessage(conn: Connection, data: RawData, isBinary: boolean): void {
    try {
      if (isBinary) throw new StreamRequestError("bad_request", "frames must be JSON text");
      let msg: unknown;
      try {
        msg = JSON.parse(rawText(data));
      } catch (e) {
        throw new StreamRequestError("malformed_json", `malformed JSON: ${errorMessage(e)}`);
      }
      if (typeof msg !== "object" || msg === null || Array.isArray(msg)) throw new StreamRequestError("bad_request", "message must be a JSON object");
      const op = (msg as { op?: unknown }).op;
      if (op === "ping") return sendControl(conn, { type: "pong" });
      if (op === "subscribe") return subscribe(conn, checkChannels(msg, true));
      if (op === "unsubscribe") return unsubscribe(conn, checkChannels(msg, false));
      throw new StreamRequestError("unknown_op", `unknown op ${JSON.stringify(op)}: expected subscribe, unsubscribe or ping`);
    } catch (e) {
      if (e instanceof StreamRequestError) return sendControl(conn, { type: "error", error: { code: e.code, message: e.message } });
      log({ level: "error", msg: "stream.internal_error", conn: conn.id, error: errorMessage(e), stack: (e as Error)?.stack });
      sendControl(conn, { type: "error", error: { code: "internal", message: "internal error" } });
    }
  }

  /** Checks every channel before anything changes, so a bad request leaves the subscriptions as they were. */
  function checkChannels(msg: object, subscribing: boolean): CheckedChannel[] {
    const channels = (msg as { channels?: unknown }).channels;
    if (!Array.isArray(channels) || channels.length === 0 || !channels.every((c): c is string => typeof c === "string")) {
      throw new StreamRequestError("bad_request", "channels: must be a non-empty array of strings");
    }
    return [...new Set(channels)].map((name) => checkChannel(name, subscribing));
  }

  function checkChannel(name: string, subscribing: boolean): CheckedChannel {
    const colon = name.indexOf(":");
    const kind = colon < 0 ? name : name.slice(0, colon);
    const arg = colon < 0 ? "" : name.slice(colon + 1);
    if (kind === "book" || kind === "trades") {
      if (!source.marketIds().includes(arg)) throw unknownMarket(name, arg);
      if (kind === "trades" || !subscribing) return { name };
      const snapshot = source.bookSnapshot(arg, BOOK_SNAPSHOT_DEPTH);
      if (!snapshot) throw unknownMarket(name, arg);
      return { name, snapshot };
    }
    if (kind === "orders") {
      if (!ACCOUNT_ID.test(arg) || !Number.isSafeInteger(Number(arg))) {
        throw new StreamRequestError("bad_account", `${name}: account must be a non-negative decimal integer without leading zeros`);
      }
      return { name };
    }
    throw new StreamRequestError("unknown_channel", `unknown channel ${JSON.stringify(name)}: expected book:<market>, trades:<market> or orders:<account>`);
  }

  /**
   * Everything here is synchronous: the snapshot was taken in checkChannel and goes out before this
   * function returns, so no event can fall between the snapshot and the first increment.
   */
  function subscribe(conn: Connection, checked: CheckedChannel[]): void {
    const added = checked.filter((c) => !conn.channels.has(c.name)).length;
    if (conn.channels.size + added > maxSubscriptions) {
      throw new StreamRequestError("too_many_subscriptions", `at most ${maxSubscriptions} channels per connection (${conn.channels.size} held, ${added} more asked)`);
    }
    for (const c of checked) {
      conn.channels.add(c.name);
      index(conn, c.name);
    }
    sendControl(conn, { type: "subscribed", channels: checked.map((c) => c.name) });
    for (const c of checked) if (c.snapshot) sendData(conn, JSON.stringify({ type: "book", ...c.snapshot }));
  }

  function unsubscribe(conn: Connection, checked: CheckedChannel[]): void {
    for (const c of checked) {
      conn.channels.delete(c.name);
      unindex(conn, c.name);
    }
    sendControl(conn, { type: "unsubscribed", channels: checked.map((c) => c.name) });
  }

  function index(conn: Connection, channel: string): void {
    let set = subscribers.get(channel);
    if (!set) subscribers.set(channel, (set = new Set()));
    set.add(conn);
  }

  function unindex(conn: Connection, channel: string): void {
    const set = subscribers.get(channel);
    if (!set) return;
    set.delete(conn);
    if (set.size === 0) subscribers.delete(channel);
  }

  // The listener runs inside the sequencer's emit: it must never throw into it.
  const onEvent = (e: StreamEvent): void => {
    try {
      const recipients = new Set<Connection>();
      for (const ch of channelsOf(e)) for (const conn of subscribers.get(ch) ?? []) recipients.add(conn);
      if (recipients.size === 0) return;
      const json = JSON.stringify(e); // once per event, not per recipient
      for (const conn of recipients) sendData(conn, json);
    } catch (err) {
      log({ level: "error", msg: "stream.dispatch_failed", type: e?.type, error: errorMessage(err) });
    }
  };
  const unsubscribeSource = source.onEvent(onEvent);

  /** Sends a data frame (snapshot or event, serialized as an object) with the connection's next seq. */
  function sendData(conn: Connection, objectJson: string): void {
    if (conn.socket.readyState !== WebSocket.OPEN) return;
    conn.seq += 1;
    send(conn, `${objectJson.slice(0, -1)},"seq":${conn.seq}}`);
  }

  function sendControl(conn: Connection, frame: object): void {
    if (conn.socket.readyState !== WebSocket.OPEN) return;
    send(conn, JSON.stringify(frame));
  }

  /** Sends, then drops the client if its unsent data has grown past the bound: memory stays bounded per client. */
  function send(conn: Connection, text: string): void {
    conn.socket.send(text);
    const buffered = conn.socket.bufferedAmount;
    if (buffered > maxBufferedBytes) {
      log({ level: "warn", msg: "stream.slow_client", conn: conn.id, bufferedBytes: buffered, maxBufferedBytes });
      conn.closeReason = "slow_client";
      // No further sends once CLOSING; ws destroys the socket if the close handshake stalls.
      conn.socket.close(CLOSE_SLOW_CLIENT, "client too slow");
    }
  }

  const heartbeat = setInterval(() => {
    for (const conn of connections) {
      if (!conn.alive) {
        conn.closeReason = "heartbeat_timeout";
        conn.socket.terminate();
        continue;
      }
      conn.alive = false;
      conn.socket.ping();
    }
  }, heartbeatMs);
  heartbeat.unref(); // never keeps the process alive by itself

  let closing: Promise<void> | undefined;
  function close(): Promise<void> {
    closing ??= new Promise<void>((resolve) => {
      unsubscribeSource();
      clearInterval(heartbeat);
      server.off("upgrade", onUpgrade);
      for (const conn of connections) {
        conn.closeReason = "server_shutdown";
        conn.socket.close(CLOSE_GOING_AWAY, "server shutting down");
      }
      // A client that does not answer the close frame must not hold up shutdown.
      const grace = setTimeout(() => {
        for (const conn of connections) conn.socket.terminate();
      }, CLOSE_GRACE_MS);
      grace.unref();
      // Emits once every client is gone.
      wss.close(() => {
        clearTimeout(grace);
        resolve();
      });
    });
    return closing;
  }

  return { close, clients: () => connections.size };
}

/** The channels an event is delivered on. */
function channelsOf(e: StreamEvent): string[] {
  switch (e.type) {
    case "level":
      return [`book:${e.market}`];
    case "trade":
      return [`trades:${e.market}`];
    case "order":
      return [`orders:${e.account}`];
    case "fill_status":
      return [`orders:${e.makerAccount}`, `orders:${e.takerAccount}`];
  }
}

function unknownMarket(channel: string, market: string): StreamRequestError {
  return new StreamRequestError("unknown_market", `${channel}: unknown market ${JSON.stringify(market)}`);
}

function requestPath(req: IncomingMessage): string {
  try {
    return new URL(req.url ?? "/", "http://stream.invalid").pathname;
  } catch {
    return "";
  }
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.from(data).toString("utf8");
}
