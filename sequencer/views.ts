/**
 * The JSON shapes the API returns, and pure builders from stored rows and core views.
 * Roots, hashes and the public input are 0x-hex of 32 bytes; amounts and keys are decimal strings;
 * times are ms since the epoch.
 */
import type { BacklogView } from "./backpressure";
import { fieldToHex } from "../core/field";
import { shapeKey, type Params } from "../core/params";
import type { AccountView } from "../core/state";
import type { BatchRow, BatchStatus, BatchTimings, Hex, OrderRow, OrderStatus, TradeWithStatus, TxRow, TxStatus } from "./store";
import type { WireOp, WireOrder } from "./wire";

export interface TxAccepted {
  readonly hash: Hex;
  readonly status: "accepted";
}

export interface HaltInfo {
  readonly reason: string;
  readonly batch: number | null;
  readonly at: number;
}

export interface StatusView {
  readonly chainId: number;
  readonly rollupAddress: Hex;
  /** Root after the latest built batch. */
  readonly stateRoot: Hex;
  readonly latestBatch: number;
  readonly finalizedBatch: number;
  readonly finalizedRoot: Hex;
  readonly pendingTxs: number;
  readonly queue: { readonly length: number; readonly consumed: number };
  readonly params: Params;
  readonly prover: { readonly pending: number; readonly proving: number[] };
  /** The proving backlog in seconds and whether new L2 work is refused for it (503; sequencer/backpressure.ts). */
  readonly proving: BacklogView;
  readonly l1: { readonly block: string; readonly timestamp: number };
  /**
   * Forced withdrawals waiting on L1 (PROTOCOL.md §6): how many, and the oldest one's deadline block.
   * A batch must process it by then, or anyone may freeze the rollup.
   */
  readonly forced: { readonly pending: number; readonly oldestQueueIndex: number | null; readonly deadlineBlock: string | null; readonly blocksLeft: number | null };
  /** Set when the sequencer stopped cutting/submitting because of an error it cannot resolve alone. */
  readonly halted: HaltInfo | null;
}

export interface AccountInfo {
  readonly id: number;
  readonly registered: boolean;
  readonly ax: string;
  readonly ay: string;
  /** As of the latest built batch. */
  readonly nonce: number;
  /** After the accepted, unbatched txs. */
  readonly pendingNonce: number;
  readonly balances: Record<string, string>;
  readonly pendingBalances: Record<string, string>;
}

export type TxInfo = WireOp & {
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

export interface BatchInfo {
  readonly number: number;
  readonly status: BatchStatus;
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
  /** The batch's shape, d<D>-n<N>-m<M> (PROTOCOL.md §5.5); absent for batches stored before shapes (the first). */
  readonly shape?: string;
  readonly l1TxHash?: Hex;
  /** submitBatch's gas, decimal string, once finalized by this sequencer. */
  readonly gasUsed?: string;
  /** The prover worker that produced the proof. */
  readonly worker?: string;
  readonly error?: string;
  /** Numbers only: durations in ms, instants in ms since the epoch, and proof attempts. */
  readonly timings: Omit<BatchTimings, "worker" | "gasUsed"> & {
    readonly builtAt: number;
    readonly provingAt?: number;
    readonly provenAt?: number;
    readonly submittedAt?: number;
    readonly finalizedAt?: number;
    readonly failedAt?: number;
  };
}

/** Drops null/undefined fields so optional members are absent rather than null. */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined)) as T;
}

function balancesJson(m: ReadonlyMap<number, bigint>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [token, v] of [...m].sort((a, b) => a[0] - b[0])) if (v !== 0n) out[String(token)] = v.toString();
  return out;
}

export function accountInfo(batched: AccountView, pending: AccountView): AccountInfo {
  return {
    id: batched.id,
    registered: batched.registered,
    ax: batched.ax.toString(),
    ay: batched.ay.toString(),
    nonce: Number(batched.nonce),
    pendingNonce: Number(pending.nonce),
    balances: balancesJson(batched.balances),
    pendingBalances: balancesJson(pending.balances),
  };
}

export function txInfo(r: TxRow): TxInfo {
  return {
    hash: r.hash,
    ...r.body,
    status: r.status,
    ...defined({
      reason: r.reasonCode !== null ? { code: r.reasonCode, message: r.reason ?? "" } : undefined,
      batch: r.batch ?? undefined,
      slot: r.slot ?? undefined,
    }),
    timestamps: defined({
      acceptedAt: r.acceptedAt,
      batchedAt: r.batchedAt ?? undefined,
      provenAt: r.provenAt ?? undefined,
      finalizedAt: r.finalizedAt ?? undefined,
      rejectedAt: r.rejectedAt ?? undefined,
    }),
  };
}

export function batchInfo(r: BatchRow): BatchInfo {
  const { worker, gasUsed, ...timings } = r.timings;
  return {
    number: r.number,
    status: r.status,
    timestamp: r.timestamp,
    oldRoot: r.oldRoot,
    newRoot: r.newRoot,
    publicInput: fieldToHex(BigInt(r.publicInput)),
    queueHashBefore: r.queueHashBefore,
    queueHashAfter: r.queueHashAfter,
    queueStart: r.queueStart,
    depositCount: r.depositCount,
    feeTokens: r.feeTokens,
    txs: r.txHashes,
    ...defined({ shape: r.shape ? shapeKey(r.shape) : undefined, l1TxHash: r.l1TxHash ?? undefined, gasUsed, worker, error: r.error ?? undefined }),
    timings: defined({
      ...timings,
      builtAt: r.builtAt,
      provingAt: r.provingAt ?? undefined,
      provenAt: r.provenAt ?? undefined,
      submittedAt: r.submittedAt ?? undefined,
      finalizedAt: r.finalizedAt ?? undefined,
      failedAt: r.failedAt ?? undefined,
    }),
  };
}

// ---------------------------------------------------------------- trading

export interface OrderAccepted {
  readonly hash: Hex;
  readonly status: OrderStatus;
  readonly filled: string;
  readonly remaining: string;
  /** The fill operations this order made on arrival (GET /v1/txs/:hash follows each to its batch). */
  readonly fills: Hex[];
}

export interface MarketInfo {
  readonly id: string;
  readonly base: number;
  readonly quote: number;
  readonly makerFeeBips: number;
  readonly takerFeeBips: number;
}

export interface BookLevelInfo {
  readonly price: string;
  readonly priceNum: string;
  readonly priceDen: string;
  /** Remaining base amount at this price. */
  readonly amount: string;
  readonly orders: number;
}

export interface BookInfo {
  readonly market: string;
  readonly bids: BookLevelInfo[];
  readonly asks: BookLevelInfo[];
}

export interface TradeInfo {
  readonly trade: number;
  readonly market: string;
  readonly price: string;
  readonly baseAmount: string;
  readonly quoteAmount: string;
  readonly takerSide: "buy" | "sell";
  readonly makerHash: Hex;
  readonly takerHash: Hex;
  readonly makerAccount: number;
  readonly takerAccount: number;
  readonly sellFee: string;
  readonly buyFee: string;
  readonly time: number;
  /** The fill operation that settles the trade, and where it is in its life. */
  readonly fillHash: Hex;
  readonly status: TxStatus;
  readonly batch?: number;
}

export interface OrderFillInfo extends TradeInfo {
  /** This order's role in the trade. */
  readonly role: "maker" | "taker";
  /** The fee this order paid (in quote when it sold, in base when it bought). */
  readonly fee: string;
}

export type OrderInfo = WireOrder & {
  readonly hash: Hex;
  readonly market: string;
  readonly timeInForce: OrderRow["timeInForce"];
  /** quoteAmount / amount, as a decimal. */
  readonly price: string;
  readonly status: OrderStatus;
  readonly reason?: string;
  readonly filled: string;
  readonly remaining: string;
  readonly acceptedAt: number;
  readonly updatedAt: number;
  readonly fills: OrderFillInfo[];
};

export function tradeInfo(t: TradeWithStatus): TradeInfo {
  return {
    trade: t.seq,
    market: t.market,
    price: t.price,
    baseAmount: t.baseAmount.toString(),
    quoteAmount: t.quoteAmount.toString(),
    takerSide: t.takerSide,
    makerHash: t.makerHash,
    takerHash: t.takerHash,
    makerAccount: t.makerAccount,
    takerAccount: t.takerAccount,
    sellFee: t.sellFee.toString(),
    buyFee: t.buyFee.toString(),
    time: t.at,
    fillHash: t.fillHash,
    status: t.status,
    ...defined({ batch: t.batch ?? undefined }),
  };
}

/** quoteAmount / amount with 18 fraction digits, trailing zeros trimmed (the exact ratio is in the order). */
export function decimalRatio(num: bigint, den: bigint, digits = 18): string {
  const scaled = (num * 10n ** BigInt(digits)) / den;
  const int = scaled / 10n ** BigInt(digits);
  const frac = (scaled % 10n ** BigInt(digits)).toString().padStart(digits, "0").replace(/0+$/, "");
  return frac ? `${int}.${frac}` : int.toString();
}

export function orderInfo(r: OrderRow, trades: readonly TradeWithStatus[]): OrderInfo {
  const amount = BigInt(r.body.amount);
  return {
    hash: r.hash,
    market: r.market,
    ...r.body,
    timeInForce: r.timeInForce,
    price: decimalRatio(BigInt(r.body.quoteAmount), amount),
    status: r.status,
    ...defined({ reason: r.reason ?? undefined }),
    filled: r.filled.toString(),
    remaining: (amount - r.filled).toString(),
    acceptedAt: r.acceptedAt,
    updatedAt: r.updatedAt,
    fills: trades.map((t) => {
      const role = t.makerHash === r.hash ? "maker" : "taker";
      const fee = r.body.side === "sell" ? t.sellFee : t.buyFee;
      return { ...tradeInfo(t), role, fee: fee.toString() };
    }),
  };
}

// ---------------------------------------------------------------- prover (operator view)

/**
 * A batch's proof job, as persisted by the sequencer:
 * queued → leased → proven → verified → submitted → finalized, or failed (attempts exhausted, or
 * the submission reverted). A job whose worker dies goes back to queued with its attempt counted.
 */
export type ProofJobState = "queued" | "leased" | "proven" | "verified" | "submitted" | "finalized" | "failed";

export const PROOF_JOB_STATES: readonly ProofJobState[] = ["queued", "leased", "proven", "verified", "submitted", "finalized", "failed"];

export interface ProofJobError {
  /** ms since epoch. */
  readonly at: number;
  readonly attempt: number;
  readonly worker: string | null;
  readonly error: string;
}

export interface ProofJobInfo {
  readonly batch: number;
  readonly state: ProofJobState;
  /** Attempts started (leases taken), across restarts. */
  readonly attempts: number;
  /** Worker of the current or the successful attempt. */
  readonly worker: string | null;
  /** Latest error, if any attempt failed. */
  readonly error: string | null;
  readonly errors: readonly ProofJobError[];
  /** ms since epoch for each state reached (null: not yet). */
  readonly queuedAt: number;
  readonly leasedAt: number | null;
  readonly provenAt: number | null;
  readonly verifiedAt: number | null;
  readonly submittedAt: number | null;
  readonly finalizedAt: number | null;
  /**
   * witnessMs/proveMs/verifyMs: the worker's stages; waitMs: queued → last lease; proofWallMs: last
   * lease → proof received; acceptVerifyMs: the sequencer's own check of the proof; submitMs:
   * submitBatch sent → receipt.
   */
  readonly timings: Readonly<Record<string, number>>;
}

/** Recent proof times (lease → proof received) over the last proven jobs. */
export interface ProofTimeStats {
  readonly count: number;
  readonly meanMs: number | null;
  readonly p50Ms: number | null;
  readonly p90Ms: number | null;
  readonly maxMs: number | null;
}

/** How many workers keep up with the current batch rate (an autoscaling signal). */
export interface AutoscaleSignal {
  readonly workersNeeded: number;
  /** Batches cut per hour over the window. */
  readonly batchesPerHour: number;
  readonly windowS: number;
  /** Mean proof time used (s), null when no proof is known yet. */
  readonly meanProofS: number | null;
  /** Batches still to prove: jobs queued or leased, and those the pending operations will make. */
  readonly backlogBatches: number;
  /** Operations accepted and in no batch yet. */
  readonly pendingOperations: number;
  /** One line: how the number was reached. */
  readonly reason: string;
}

export interface ProverView {
  readonly mode: "embedded" | "cluster" | "disabled";
  readonly circuitHash: string | null;
  readonly backend: string | null;
  /** Jobs by state, from the sequencer's database. */
  readonly jobs: Readonly<Record<ProofJobState, number>>;
  /** Live view of the prover (queue and workers); null when it cannot be asked. */
  readonly live: import("../prover/types").ProverStatus | null;
  readonly liveError: string | null;
  readonly proofTimes: ProofTimeStats;
  readonly autoscale: AutoscaleSignal;
  /** Most recent jobs first. */
  readonly recent: readonly ProofJobInfo[];
  /** Most recent jobs with a failed attempt, newest first. */
  readonly failures: readonly ProofJobInfo[];
}
