/**
 * Typed client of the sequencer's HTTP API (/v1), and the request/response shapes it speaks.
 * Fetch only, no sequencer code: the CLI, the demo and tests use it against a running node.
 */

import type { WireOrder, WireSignature, WireTimeInForce, WireTx } from "../sequencer/wire";
import type {
  AccountInfo, BatchInfo, BookInfo, MarketInfo, OrderAccepted, OrderInfo, ProofJobInfo, ProofJobState, ProverView, StatusView, TradeInfo, TxAccepted,
  TxInfo,
} from "../sequencer/views";
import type { ProverStatus, ProverWorkerStatus } from "../prover/types";
import type { TxStatus } from "../sequencer/store";

// The shapes are the sequencer's own (type-only imports: no sequencer code is loaded at run time).
export type Hex = `0x${string}`;
export type { TxStatus };
export type SignatureBody = WireSignature;
/** POST /v1/txs body. */
export type TxBody = WireTx;
export type TransferTxBody = Extract<WireTx, { type: "transfer" }>;
export type WithdrawTxBody = Extract<WireTx, { type: "withdraw" }>;
export type StatusResponse = StatusView;
export type AccountResponse = AccountInfo;
export type SubmitTxResponse = TxAccepted;
export type TxResponse = TxInfo;
export type BatchResponse = BatchInfo;
/** POST /v1/orders body. */
export type OrderBody = WireOrder & { readonly timeInForce?: WireTimeInForce };
export type OrderResponse = OrderInfo;
export type SubmitOrderResponse = OrderAccepted;
export type MarketResponse = MarketInfo;
export type BookResponse = BookInfo;
export type TradeResponse = TradeInfo;
/** GET /v1/prover: the operator view of proving. */
export type ProverResponse = ProverView;
export type { ProofJobInfo, ProofJobState, ProverStatus, ProverWorkerStatus };

/** Every API error response. */
export interface ApiErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}

/** The API answered with an error status. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly url: string;
  /** The Retry-After header's seconds, when the answer had one (503 overloaded). */
  readonly retryAfterS?: number;
  constructor(status: number, code: string, message: string, url: string, retryAfterS?: number) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.url = url;
    if (retryAfterS !== undefined) this.retryAfterS = retryAfterS;
  }
}

/** No HTTP answer at all (refused, DNS, timeout). */
export class ApiUnreachableError extends Error {
  readonly url: string;
  constructor(url: string, cause: string) {
    super(`cannot reach the Modex API at ${url} (${cause}); is the sequencer running? (--api URL)`);
    this.name = "ApiUnreachableError";
    this.url = url;
  }
}

export interface WaitOptions {
  /** Stop at this status or any later one (default "finalized"); "rejected" always stops. */
  readonly until?: Exclude<TxStatus, "rejected">;
  readonly timeoutMs?: number;
  readonly pollMs?: number;
  /** Called whenever the observed status changes. */
  readonly onStatus?: (tx: TxResponse) => void;
}

export interface ModexApiClient {
  readonly baseUrl: string;
  status(): Promise<StatusResponse>;
  account(id: number): Promise<AccountResponse>;
  submitTx(body: TxBody): Promise<SubmitTxResponse>;
  tx(hash: Hex): Promise<TxResponse>;
  batch(n: number): Promise<BatchResponse>;
  submitOrder(body: OrderBody): Promise<SubmitOrderResponse>;
  /** DELETE /v1/orders/:hash with the owner's signature over core's cancelMessage. */
  cancelOrder(hash: Hex, signature: SignatureBody): Promise<OrderResponse>;
  order(hash: Hex): Promise<OrderResponse>;
  accountOrders(id: number, limit?: number): Promise<{ orders: OrderResponse[] }>;
  /** expiryMarginS: orders must be valid at least this long from now to be accepted. */
  markets(): Promise<{ markets: MarketResponse[]; expiryMarginS: number }>;
  book(market: string, depth?: number): Promise<BookResponse>;
  trades(market: string, limit?: number): Promise<{ market: string; trades: TradeResponse[] }>;
  /** GET /v1/prover: proof jobs by state, the prover's queue and workers, proof times, the autoscaling signal. */
  prover(): Promise<ProverResponse>;
  /** Polls GET /v1/txs/:hash until `until` (or rejected); rejects with an Error on timeout. */
  waitForTx(hash: Hex, opts?: WaitOptions): Promise<TxResponse>;
}

export interface ApiClientOptions {
  /** e.g. http://127.0.0.1:8080 */
  readonly baseUrl: string;
  /** Per-request timeout (default 10 s). */
  readonly timeoutMs?: number;
  /** Injected for tests; default global fetch. */
  readonly fetch?: typeof fetch;
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * How long a request may wait in total on `503 overloaded` answers, honouring each Retry-After,
   * before the error is thrown (default 300 s; 0: never wait). A refused request changed nothing,
   * so sending it again is safe.
   */
  readonly overloadWaitMs?: number;
}

const STATUS_ORDER: Record<TxStatus, number> = { accepted: 0, batched: 1, proven: 2, finalized: 3, rejected: 4 };

export function createApiClient(opts: ApiClientOptions): ModexApiClient {
  const baseUrl = opts.baseUrl.replace(/\/+$/, "");
  const doFetch = opts.fetch ?? fetch;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const overloadWaitMs = opts.overloadWaitMs ?? 300_000;

  /** The request, sent again after each `503 overloaded` while the waits fit overloadWaitMs. */
  async function call<T>(method: "GET" | "POST" | "DELETE", path: string, body?: unknown): Promise<T> {
    let waited = 0;
    for (;;) {
      try {
        return await callOnce<T>(method, path, body);
      } catch (e) {
        const retryMs = e instanceof ApiError && e.status === 503 && e.code === "overloaded" ? (e.retryAfterS ?? 1) * 1000 : null;
        if (retryMs === null || waited + retryMs > overloadWaitMs) throw e;
        waited += retryMs;
        await sleep(retryMs);
      }
    }
  }

  async function callOnce<T>(method: "GET" | "POST" | "DELETE", path: string, body?: unknown): Promise<T> {
    const url = baseUrl + path;
    let res: Response;
    try {
      res = await doFetch(url, {
        method,
        headers: body === undefined ? { accept: "application/json" } : { accept: "application/json", "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (e) {
      throw new ApiUnreachableError(baseUrl, fetchCause(e, timeoutMs));
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text === "" ? undefined : JSON.parse(text);
    } catch {
      throw new ApiError(res.status, "bad_response", `${method} ${path}: the API answered ${res.status} with non-JSON: ${text.slice(0, 200)}`, url);
    }
    if (!res.ok) {
      const err = (json as Partial<ApiErrorBody> | undefined)?.error;
      const retryAfter = Number(res.headers.get("retry-after"));
      throw new ApiError(res.status, err?.code ?? `http_${res.status}`, err?.message ?? `${method} ${path}: HTTP ${res.status} ${res.statusText}`, url, Number.isInteger(retryAfter) && retryAfter >= 0 ? retryAfter : undefined);
    }
    return json as T;
  }

  const client: ModexApiClient = {
    baseUrl,
    status: () => call("GET", "/v1/status"),
    account: (id) => call("GET", `/v1/accounts/${id}`),
    submitTx: (body) => call("POST", "/v1/txs", body),
    tx: (hash) => call("GET", `/v1/txs/${hash}`),
    batch: (n) => call("GET", `/v1/batches/${n}`),
    submitOrder: (body) => call("POST", "/v1/orders", body),
    cancelOrder: (hash, signature) => call("DELETE", `/v1/orders/${hash}`, { signature }),
    order: (hash) => call("GET", `/v1/orders/${hash}`),
    accountOrders: (id, limit = 100) => call("GET", `/v1/accounts/${id}/orders?limit=${limit}`),
    markets: () => call("GET", "/v1/markets"),
    book: (market, depth = 50) => call("GET", `/v1/markets/${encodeURIComponent(market)}/book?depth=${depth}`),
    trades: (market, limit = 100) => call("GET", `/v1/markets/${encodeURIComponent(market)}/trades?limit=${limit}`),
    prover: () => call("GET", "/v1/prover"),
    async waitForTx(hash, w = {}) {
      const until = STATUS_ORDER[w.until ?? "finalized"];
      const deadline = Date.now() + (w.timeoutMs ?? 600_000);
      let last: TxStatus | null = null;
      for (;;) {
        const tx = await client.tx(hash);
        if (tx.status !== last) {
          last = tx.status;
          w.onStatus?.(tx);
        }
        if (tx.status === "rejected" || STATUS_ORDER[tx.status] >= until) return tx;
        if (Date.now() >= deadline) throw new Error(`transaction ${hash} is still ${tx.status} after ${Math.round((w.timeoutMs ?? 600_000) / 1000)} s`);
        await sleep(w.pollMs ?? 1_000);
      }
    },
  };
  return client;
}

/** undici wraps the socket error in `cause`; that is the part worth showing. */
function fetchCause(e: unknown, timeoutMs: number): string {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err.name === "TimeoutError") return `no answer within ${timeoutMs} ms`;
  return err.cause?.code ?? err.cause?.message ?? err.message ?? String(e);
}
