/**
 * Typed client of the sequencer's HTTP API (/v1), and the request/response shapes it speaks.
 * Fetch only, no sequencer code: the CLI, the demo and tests use it against a running node.
 * The shapes mirror sequencer/views.ts and sequencer/wire.ts (test/cli.test.ts checks that).
 */

export type Hex = `0x${string}`;

export type TxStatus = "accepted" | "batched" | "proven" | "finalized" | "rejected";
export type BatchStatus = "built" | "proving" | "proven" | "submitted" | "finalized" | "failed";

/** EdDSA-Poseidon signature, components as decimal strings. */
export interface SignatureBody {
  readonly r8x: string;
  readonly r8y: string;
  readonly s: string;
}

/** Small integers are JSON integers; amounts and fees are decimal strings in base units. */
interface TxBodyCommon {
  readonly token: number;
  readonly amount: string;
  readonly fee: string;
  readonly nonce: number;
  readonly validUntil: number;
  readonly signature: SignatureBody;
}

export interface TransferTxBody extends TxBodyCommon {
  readonly type: "transfer";
  readonly from: number;
  readonly to: number;
}

export interface WithdrawTxBody extends TxBodyCommon {
  readonly type: "withdraw";
  readonly account: number;
}

/** POST /v1/txs body. */
export type TxBody = TransferTxBody | WithdrawTxBody;

/** GET /v1/status */
export interface StatusResponse {
  readonly chainId: number;
  readonly rollupAddress: Hex;
  readonly stateRoot: Hex;
  readonly latestBatch: number;
  readonly finalizedBatch: number;
  readonly finalizedRoot: Hex;
  readonly pendingTxs: number;
  readonly queue: { readonly length: number; readonly consumed: number };
  readonly params: {
    readonly accountLevels: number;
    readonly balanceLevels: number;
    readonly orderLevels: number;
    readonly depositSlots: number;
    readonly l2Slots: number;
    readonly feeBuckets: number;
  };
  readonly prover: { readonly pending: number; readonly proving: number[] };
  /** Latest L1 block seen; `timestamp` in seconds. */
  readonly l1: { readonly block: string; readonly timestamp: number };
  readonly halted: { readonly reason: string; readonly batch: number | null; readonly at: number } | null;
}

/** GET /v1/accounts/:id. Balances by token id, decimal strings; zero balances omitted. */
export interface AccountResponse {
  readonly id: number;
  readonly registered: boolean;
  readonly ax: string;
  readonly ay: string;
  /** As of the latest built batch. */
  readonly nonce: number;
  /** After the accepted, not yet batched transactions: the nonce the next transaction must use. */
  readonly pendingNonce: number;
  readonly balances: Record<string, string>;
  readonly pendingBalances: Record<string, string>;
}

/** 202 from POST /v1/txs. */
export interface SubmitTxResponse {
  readonly hash: Hex;
  readonly status: "accepted";
}

/** GET /v1/txs/:hash: the body as submitted plus its progress. Times in ms since the epoch. */
export type TxResponse = TxBody & {
  readonly hash: Hex;
  readonly status: TxStatus;
  readonly reason?: { readonly code: string; readonly message: string };
  readonly batch?: number;
  readonly slot?: number;
  readonly timestamps: {
    readonly acceptedAt: number;
    readonly batchedAt?: number;
    readonly provenAt?: number;
    readonly finalizedAt?: number;
    readonly rejectedAt?: number;
  };
};

/** GET /v1/batches/:n. Roots and hashes are 32-byte hex; times in ms since the epoch. */
export interface BatchResponse {
  readonly number: number;
  readonly status: BatchStatus;
  /** Batch timestamp (seconds, L1 time). */
  readonly timestamp: number;
  readonly oldRoot: Hex;
  readonly newRoot: Hex;
  readonly publicInput: Hex;
  readonly queueHashBefore: Hex;
  readonly queueHashAfter: Hex;
  readonly queueStart: number;
  readonly depositCount: number;
  readonly feeTokens: number[];
  readonly txs: Hex[];
  readonly l1TxHash?: Hex;
  readonly error?: string;
  readonly timings: Readonly<Record<string, number>>;
}

/** Every API error response. */
export interface ApiErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}

/** The API answered with an error status. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly url: string;
  constructor(status: number, code: string, message: string, url: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.url = url;
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
}

const STATUS_ORDER: Record<TxStatus, number> = { accepted: 0, batched: 1, proven: 2, finalized: 3, rejected: 4 };

export function createApiClient(opts: ApiClientOptions): ModexApiClient {
  const baseUrl = opts.baseUrl.replace(/\/+$/, "");
  const doFetch = opts.fetch ?? fetch;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));

  async function call<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
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
      throw new ApiError(res.status, err?.code ?? `http_${res.status}`, err?.message ?? `${method} ${path}: HTTP ${res.status} ${res.statusText}`, url);
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
