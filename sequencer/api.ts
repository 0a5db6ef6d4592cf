/**
 * The sequencer's HTTP API: express for the routes, with POST /v1/orders and /v1/txs answered in
 * front of it (createApi). JSON only (bodies: sequencer/json-body.ts); every error is
 * `{ error: { code, message } }` with the status policy of sequencer/errors.ts.
 *
 *   GET  /v1/status
 *   GET  /v1/accounts/:id
 *   POST /v1/txs            → 202 { hash, status: "accepted" }
 *   GET  /v1/txs/:hash
 *   GET  /v1/batches/:n
 *   POST   /v1/orders            → 201 { hash, status, filled, remaining, fills }
 *   DELETE /v1/orders/:hash      (body { signature }) → 200 the order
 *   GET    /v1/orders/:hash
 *   GET    /v1/accounts/:id/orders?limit=N
 *   GET    /v1/markets           → { markets, expiryMarginS }
 *   GET    /v1/markets/:market/book?depth=N
 *   GET    /v1/markets/:market/trades?limit=N
 *   GET    /v1/prover            → the operator view of proving (ProverView)
 *   GET    /metrics              → Prometheus text format 0.0.4 (sequencer/metrics.ts)
 *   WebSocket /v1/stream         book levels, trades, order and fill status (sequencer/stream.ts)
 */
import { STATUS_CODES, createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import express, { type ErrorRequestHandler, type NextFunction, type Request, type Response } from "express";
import { ApiError, badRequest, notFound } from "./errors";
import { readJsonBody, sendJson } from "./json-body";
import { errorMessage, jsonLogger, type LogFn } from "./log";
import { METRICS_CONTENT_TYPE, renderMetrics } from "./metrics";
import type { Sequencer } from "./sequencer";
import type { Hex } from "./store";
import { attachStream } from "./stream";

const HASH = /^0x[0-9a-fA-F]{64}$/;
const UINT = /^(0|[1-9][0-9]{0,15})$/;

/**
 * The API as a request listener. Order and transaction submission, the hot path, is answered
 * before express sees the request (its router and middleware cost more than the rest of the
 * request); every other route, and any other spelling of those two, goes through express.
 */
export function createApi(seq: Sequencer, log: LogFn = jsonLogger()): RequestListener {
  const submitTx = jsonRoute(log, async (body) => [202, await seq.submitTx(body)]);
  const submitOrder = jsonRoute(log, async (body) => [201, await seq.submitOrder(body)]);
  const app = createExpressApp(seq, log, { submitTx, submitOrder });
  return (req, res) => {
    if (req.method === "POST" && req.url === "/v1/orders") return submitOrder(req, res);
    if (req.method === "POST" && req.url === "/v1/txs") return submitTx(req, res);
    app(req, res);
  };
}

type RawRoute = (req: IncomingMessage, res: ServerResponse) => void;

/** A route that takes a JSON body (sequencer/json-body.ts) and answers JSON; errors as errorHandler renders them. */
function jsonRoute(log: LogFn, handle: (body: unknown, req: IncomingMessage) => Promise<[number, unknown]> | [number, unknown]): RawRoute {
  return (req, res) => {
    readJsonBody(req)
      .then((body) => handle(body, req))
      .then(
        ([status, answer]) => sendJson(res, status, answer),
        (err: unknown) => {
          if (res.headersSent) return;
          const e = toApiError(err, log, req.method ?? "?", req.url ?? "?");
          // The rest of an oversized body is not worth reading.
          if (e.status === 413) res.setHeader("Connection", "close");
          if (e.retryAfterS !== undefined) res.setHeader("Retry-After", String(e.retryAfterS));
          sendJson(res, e.status, e.toJSON());
        },
      );
  };
}

function createExpressApp(seq: Sequencer, log: LogFn, posts: { submitTx: RawRoute; submitOrder: RawRoute }): express.Application {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);

  app.get("/v1/status", (_req, res) => {
    res.json(seq.status());
  });

  app.get("/v1/accounts/:id", (req, res) => {
    res.json(seq.account(uintParam(req.params.id, "account id")));
  });

  // The signature is verified on a worker first, so these answer asynchronously (jsonRoute catches).
  app.post("/v1/txs", (req, res) => posts.submitTx(req, res));
  app.post("/v1/orders", (req, res) => posts.submitOrder(req, res));

  const cancel = jsonRoute(log, async (body, req) => [200, await seq.cancelOrder(hashParam((req as Request).params.hash), body)]);
  app.delete("/v1/orders/:hash", (req, res) => cancel(req, res));

  app.get("/v1/orders/:hash", (req, res) => {
    const o = seq.order(hashParam(req.params.hash));
    if (!o) throw notFound(`order ${req.params.hash} not found`);
    res.json(o);
  });

  app.get("/v1/accounts/:id/orders", (req, res) => {
    const limit = queryInt(req.query.limit, "limit", 100, 1, 1000);
    res.json({ orders: seq.accountOrders(uintParam(req.params.id, "account id"), limit) });
  });

  app.get("/v1/markets", (_req, res) => {
    res.json({ markets: seq.markets(), expiryMarginS: seq.expiryMarginS });
  });

  app.get("/v1/markets/:market/book", (req, res) => {
    const depth = queryInt(req.query.depth, "depth", 50, 1, 1000);
    const b = seq.book(req.params.market, depth);
    if (!b) throw notFound(`market ${req.params.market} not found`);
    res.json(b);
  });

  app.get("/v1/markets/:market/trades", (req, res) => {
    const limit = queryInt(req.query.limit, "limit", 100, 1, 1000);
    const t = seq.trades(req.params.market, limit);
    if (!t) throw notFound(`market ${req.params.market} not found`);
    res.json({ market: req.params.market, trades: t });
  });

  app.get("/v1/txs/:hash", (req, res) => {
    const tx = seq.tx(hashParam(req.params.hash));
    if (!tx) throw notFound(`transaction ${req.params.hash} not found`);
    res.json(tx);
  });

  app.get("/v1/batches/:n", (req, res) => {
    const n = uintParam(req.params.n, "batch number");
    const b = seq.batch(n);
    if (!b) throw notFound(`batch ${n} not found`);
    res.json(b);
  });

  app.get("/v1/prover", (_req, res, next) => {
    seq
      .proverView()
      .then((v) => res.json(v))
      .catch(next);
  });

  app.get("/metrics", (_req, res, next) => {
    seq
      .proverView()
      .then((v) => {
        // A Buffer, so express keeps the content type as written (a string body gets its charset re-added).
        res.set("Content-Type", METRICS_CONTENT_TYPE).send(Buffer.from(renderMetrics(seq.status(), v), "utf8"));
      })
      .catch(next);
  });

  app.use((req: Request, _res: Response, next: NextFunction) => next(notFound(`no route ${req.method} ${req.path}`)));
  app.use(errorHandler(log));
  return app;
}

function hashParam(h: string): Hex {
  if (!HASH.test(h)) throw badRequest("hash: must be 0x followed by 64 hex digits");
  return h.toLowerCase() as Hex;
}

function queryInt(v: unknown, name: string, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== "string" || !UINT.test(v)) throw badRequest(`${name}: must be a non-negative decimal integer`);
  const n = Number(v);
  if (n < min || n > max) throw badRequest(`${name}: must be in ${min}..${max}`);
  return n;
}

function uintParam(s: string, name: string): number {
  if (!UINT.test(s)) throw badRequest(`${name}: must be a non-negative decimal integer`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw badRequest(`${name}: too large`);
  return n;
}

/** Maps ApiErrors, express' own errors and anything unexpected (logged) to an ApiError. */
function toApiError(err: unknown, log: LogFn, method: string, path: string): ApiError {
  if (err instanceof ApiError) return err;
  if (typeof (err as { status?: number }).status === "number" && (err as { status: number }).status < 500) return new ApiError(400, "bad_request", errorMessage(err));
  log({ level: "error", msg: "api.internal_error", method, path, error: errorMessage(err), stack: (err as Error)?.stack });
  return new ApiError(500, "internal", "internal error");
}

/** Express' error handler: the JSON error shape for everything a route throws. */
function errorHandler(log: LogFn): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) return next(err);
    const e = toApiError(err, log, req.method, req.path);
    if (e.retryAfterS !== undefined) res.set("Retry-After", String(e.retryAfterS));
    res.status(e.status).json(e.toJSON());
  };
}

/**
 * Requests Node's HTTP parser refuses before express sees them (a malformed request line or header,
 * a request line or headers over the 16 KiB limit, bad chunked framing) get the JSON error shape too,
 * instead of Node's bare `400`/`431` without a body: 431 header_too_large, 408 request_timeout, else
 * 400 malformed_http; then the connection closes. A response already being written on the connection
 * (an earlier pipelined request's) is finished first; one not yet started is abandoned, as Node does.
 */
function answerClientErrors(server: Server): void {
  const conns = new WeakMap<Socket, { responses: Set<ServerResponse>; onIdle?: () => void }>();
  const conn = (s: Socket) => {
    let c = conns.get(s);
    if (!c) conns.set(s, (c = { responses: new Set() }));
    return c;
  };
  // Before the app's listener, so that a response finished synchronously is still seen.
  server.prependListener("request", (req, res) => {
    const c = conn(req.socket);
    c.responses.add(res);
    const finish = (): void => {
      if (!c.responses.delete(res) || c.responses.size > 0 || !c.onIdle) return;
      const f = c.onIdle;
      c.onIdle = undefined;
      f();
    };
    res.once("finish", finish);
    res.once("close", finish);
  });
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
    const e =
      err.code === "HPE_HEADER_OVERFLOW"
        ? new ApiError(431, "header_too_large", "request line or headers exceed the server's limit")
        : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? new ApiError(408, "request_timeout", "request not received in time")
          : new ApiError(400, "malformed_http", `malformed HTTP request (${err.code ?? "parse error"})`);
    const answer = (): void => {
      if (err.code === "ECONNRESET" || !socket.writable) {
        socket.destroy();
        return;
      }
      const body = JSON.stringify(e.toJSON());
      socket.end(
        `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        () => socket.destroy(),
      );
    };
    const c = conn(socket);
    if ([...c.responses].some((r) => r.headersSent)) c.onIdle = answer;
    else answer();
  });
}

export interface RunningApi {
  readonly url: string;
  /** ws:// URL of the live stream. */
  readonly streamUrl: string;
  readonly port: number;
  readonly server: Server;
  close(): Promise<void>;
}

/** Serves `createApi(seq)` on host:port (port 0 = any free port). */
export function serve(seq: Sequencer, port: number, opts: { host?: string; log?: LogFn } = {}): Promise<RunningApi> {
  const host = opts.host ?? "127.0.0.1";
  const log = opts.log ?? jsonLogger();
  const server = createServer(createApi(seq, log));
  return new Promise((resolve, reject) => {
    server.listen(port, host);
    server.once("error", reject);
    server.once("listening", () => {
      server.off("error", reject);
      // An idle keep-alive connection stays open 65 s, longer than clients keep theirs (undici: 4 s; a
      // proxy or load balancer: 60 s), so it is the client that closes it: a server that closes first
      // races a client reusing the socket, whose request then dies with ECONNRESET. headersTimeout above
      // it, as Node requires. close() closes every connection at once (closeAllConnections below).
      server.keepAliveTimeout = 65_000;
      server.headersTimeout = 66_000;
      // A client may half-close after its request (shutdown(SHUT_WR)); by default Node then ends the
      // connection before an asynchronous handler (signature verification) answers, and the client never
      // learns whether its transaction was accepted. Keep it writable until the response (then it closes).
      (server as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
      answerClientErrors(server);
      const actual = (server.address() as AddressInfo).port;
      const url = `http://${host}:${actual}`;
      const stream = attachStream(server, seq.stream, { log });
      log({ msg: "api.listening", url, stream: `ws://${host}:${actual}/v1/stream` });
      resolve({
        url,
        streamUrl: `ws://${host}:${actual}/v1/stream`,
        port: actual,
        server,
        close: async () => {
          await stream.close();
          await new Promise<void>((res, rej) => {
            server.close((err) => (err ? rej(err) : res()));
            server.closeAllConnections();
          });
        },
      });
    });
  });
}
