/**
 * The sequencer: accepts signed L2 txs, mirrors the L1 queue, cuts batches with core's STF,
 * has them proven (several at once) and submits them to the Rollup strictly in order.
 *
 * Life of a tx:    accepted (durable before 202) → batched → proven → finalized   (or rejected)
 * Life of a batch: built → proving → proven → submitted → finalized               (or failed)
 *
 * Concurrency model (one Node thread): acceptance and the core of batch cutting are synchronous,
 * so a tx is checked and appended to the pending set atomically with respect to cuts. Acceptance
 * first verifies the signature on a worker thread (stateless; sequencer/verify-pool.ts), then runs
 * core's rules, the write and the append in one synchronous step. The other async steps are L1 I/O
 * and proving; every continuation checks `stopped` before touching the
 * store, and cuts are serialized. SQLite is the source of truth: on start the in-memory core State
 * is rebuilt by replaying every stored batch (asserting its root), and pending txs and unconsumed
 * queue records are reloaded, so a crash at any point loses nothing that was acknowledged.
 */
import type { Address } from "viem";
import { buildBatch, type BatchResult, type CircuitInput } from "../core/batch";
import { QUEUE_FORCED_EXIT, type BatchContext } from "../core/ops/types";
import { ProtocolError } from "../core/errors";
import { initCrypto } from "../core/eddsa";
import { fieldToHex, fromHex, toHex } from "../core/field";
import { publicSignalsOf } from "../core/pubdata";
import { txHash } from "../core/message";
import { txMessage } from "../core/ops/signed";
import { paramsKey, shapeKey, shapesOf, validateParams, withShape, type Params, type Shape } from "../core/params";
import { BATCH_OVERHEAD_CONSTRAINTS, chooseShape, shapeCostsFor, type ShapeCircuit, type ShapeCost } from "./shapes";
import { State } from "../core/state";
import type { ProofJob, Prover, ProverEvent, ProverStatus } from "../prover/types";
import { buildProverView, proofTimeStats } from "./prover-view";
import { backlogView, overload, type ProvingCapacity } from "./backpressure";
import { createProofVerifier, type ProofVerifier } from "../prover/verify";
import { ApiError, fromProtocolError, notFound } from "./errors";
import {
  batchRoot,
  chainState,
  connectRollup,
  contractPublicInputs,
  decodeRevert,
  enqueuedEvents,
  formatRevert,
  latestBlock,
  maxTimestampLag as readMaxTimestampLag,
  nextBlockTime,
  oldestForcedRequest,
  type ForcedRequestInfo,
  checkRollupParams,
  sendSubmitBatch,
  type L1,
  type L1Options,
  type SubmitArgs,
} from "./l1";
import { errorMessage, jsonLogger, type LogFn } from "./log";
import type { PendingView } from "./pending";
import { batchesToCut, dropAndRecheck, expiredTxs, failedOperation, pendingViewOf, shouldCut, splitOps, takeBatchTxs, validUntilOf, type PendingTx, type Rejection } from "./plan";
import { extendQueue, QueueMismatchError, type QueueTip } from "./queue";
import { Store, type BatchRow, type BatchTimings, type Hex, type QueueRow, type TradeWithStatus, type TxRejection } from "./store";
import type { MarketConfig } from "./matching";
import type { BookSnapshot, StreamEvent, StreamSource } from "./stream";
import { TradingDesk, validateMarkets } from "./trading";
import { marketsFromTokens, rollupTokens } from "./markets";
import {
  accountInfo, batchInfo, txInfo,
  type AccountInfo, type BatchInfo, type BookInfo, type HaltInfo, type MarketInfo, type OrderAccepted, type OrderInfo, type ProverView, type StatusView, type TradeInfo, type TxAccepted, type TxInfo,
} from "./views";
import { parseStoredOp, parseTx, txToWire } from "./wire";
import { signerOf } from "../core/ops/signed";
import { createVerifierPool, defaultVerifierPoolSize, preverify, signatureCheck, VerifiedSignatures, type VerifierPool, type Verified } from "./verify-pool";
import type { Signature } from "../core/eddsa";

/** Proof jobs read for proof-time figures (the latest 50 with a proof time are among them) and the operator view. */
const RECENT_JOBS = 200;

/** Blocks before a forced withdrawal's deadline at which the sequencer warns (once per request). */
const FORCED_WARN_BLOCKS = 10;

/** Why a sequencer of a frozen rollup stops: nothing it builds can finalize any more. */
const FROZEN_REASON = (batch: number): string =>
  `the rollup is frozen at batch ${batch} (a forced withdrawal passed its deadline unprocessed): no batch can finalize; users exit with modex exit`;

export interface SequencerOptions {
  readonly params: Params;
  /** SQLite file (created if missing). */
  readonly db: string;
  readonly l1: L1Options;
  readonly prover: Prover;
  /** Cut a batch when the oldest waiting tx or queue record has waited this long (default 2 000 ms). */
  readonly batchTimeoutMs?: number;
  readonly log?: LogFn;
  /**
   * false: batches are built and stored but never handed to the prover (nor submitted). For tests
   * of acceptance/persistence/cutting without proving keys, and for a sequencer whose proofs are
   * produced elsewhere. Default true.
   */
  readonly proving?: boolean;
  /** Acceptance answers 429 beyond this many unbatched txs (default 100 000). */
  readonly maxPendingTxs?: number;
  /** Do not cut while this many batches wait for proofs (default 8): bounds memory held by circuit inputs. */
  readonly maxUnprovenBatches?: number;
  /**
   * Refuse new L2 work with 503 + Retry-After while the proving backlog exceeds this many seconds of
   * proving (sequencer/backpressure.ts). Only with proving on, once a proof time is known. Default:
   * half of expiryMarginS: what is accepted under the bound reaches a batch (cutting waits for the
   * proofs ahead of it) before it, or an order it matched, can expire: each had at least
   * expiryMarginS to live when accepted. A fill voided by expiry in the backlog is what this prevents.
   */
  readonly maxBacklogS?: number;
  /** Proof attempts per batch before it is marked failed (default 3). */
  readonly maxProveAttempts?: number;
  /**
   * Markets of the order books: a list, or "auto" for one per ERC-20 the rollup has, quoted in
   * token 1 (sequencer/markets.ts). Default none: payments only.
   */
  readonly markets?: readonly MarketConfig[] | "auto";
  /**
   * The acceptance margin (PROTOCOL.md §3, default 120 s): a transfer, withdrawal or order is accepted,
   * and an order matched, only while clock + expiryMarginS ≤ its validUntil, so that what is accepted
   * reaches a batch before it expires, whatever the batch timeout and a short backlog.
   */
  readonly expiryMarginS?: number;
  /**
   * Worker threads that verify signatures before the synchronous acceptance step (default
   * max(1, cpus − 1); 0: verify on the main thread inside the step, as core's checks do).
   */
  readonly signatureWorkers?: number;
  /** Verification key every proof is checked against before it is accepted (default: the prover's artifacts' vkey). */
  readonly vkeyPath?: string;
  /**
   * Each shape's circuit (PROTOCOL.md §5.5): its constraints, measured at compile (what choosing a
   * shape weighs, sequencer/shapes.ts; default estimated from the slot counts), the circuit hash its
   * proof jobs name and the verification key its proofs are checked against (default for the first
   * shape: the prover's circuit and vkeyPath; another shape without them cannot be proven here).
   */
  readonly shapeCircuits?: readonly ShapeCircuit[];
}

export interface Sequencer {
  readonly params: Params;
  readonly chainId: number;
  readonly rollup: Address;
  /** Starts L1 polling, batch cutting, proving and submission. */
  start(): Promise<void>;
  /** Stops all loops, waits for the running step, closes the database. Proofs in flight are abandoned (redone on restart). */
  stop(): Promise<void>;
  /**
   * Validates, verifies the signature (on a worker thread), then checks against the pending state
   * and persists in one synchronous step. Rejects with ApiError.
   */
  submitTx(body: unknown): Promise<TxAccepted>;
  status(): StatusView;
  /** The operator's view of proving: job lifecycle, queue, workers, proof times, autoscaling signal. */
  proverView(): Promise<ProverView>;
  /** Throws ApiError 404 for ids outside the account tree. */
  account(id: number): AccountInfo;
  tx(hash: Hex): TxInfo | null;
  batch(n: number): BatchInfo | null;
  /** Validates, verifies the signature (on a worker thread), then checks, matches and persists in one synchronous step. Rejects with ApiError. */
  submitOrder(body: unknown): Promise<OrderAccepted>;
  /** Cancels an open order with a signature of its owner (verified on a worker thread). Rejects with ApiError. */
  cancelOrder(hash: Hex, body: unknown): Promise<OrderInfo>;
  order(hash: Hex): OrderInfo | null;
  accountOrders(id: number, limit: number): OrderInfo[];
  markets(): MarketInfo[];
  /** An operation is accepted (an order matched) only while clock + expiryMarginS ≤ its validUntil. */
  readonly expiryMarginS: number;
  /** null for an unknown market. */
  book(market: string, depth: number): BookInfo | null;
  trades(market: string, limit: number): TradeInfo[] | null;
  /** The live stream: book levels, trades, order and fill status changes. */
  readonly stream: StreamSource;
  /** Cuts a batch now if anything is waiting (ignores the timeout); resolves to its number or null. */
  cutBatch(): Promise<number | null>;
  /** Reads L1 once: latest block, new queue records. */
  pollL1(): Promise<void>;
}

interface ProofTask {
  readonly circuitInput: CircuitInput;
  /** The batch's public inputs (decimal): the proof's public signals must be exactly these. */
  readonly publicSignals: readonly string[];
  /** Which circuit proves it. */
  readonly shape: Shape;
  attempts: number;
}

const DEFAULTS = { batchTimeoutMs: 2_000, pollIntervalMs: 500, maxLogRange: 5_000, maxPendingTxs: 100_000, maxUnprovenBatches: 8, maxProveAttempts: 3, expiryMarginS: 120 };
/** How often resting orders are checked for expiry. */
const EXPIRE_INTERVAL_MS = 1_000;
/** Retry delay after a transient L1 error in the submission loop. */
const SUBMIT_RETRY_MS = 2_000;

export async function createSequencer(opts: SequencerOptions): Promise<Sequencer> {
  validateParams(opts.params);
  const log = opts.log ?? jsonLogger();
  const l1 = await connectRollup(opts.l1);
  await checkDeployment(l1, opts.params);
  await initCrypto();
  const markets = opts.markets === "auto" ? marketsFromTokens(await rollupTokens(l1)) : (opts.markets ?? []);
  validateMarkets(opts.params, markets);
  const store = new Store(opts.db);
  try {
    checkMeta(store, l1, opts.params);
    const seq = new SequencerImpl({ ...opts, markets }, log, l1, store);
    await seq.init();
    return seq;
  } catch (e) {
    store.close();
    throw e;
  }
}

/** The contract must be built for these parameters and start from core's genesis root. */
async function checkDeployment(l1: L1, p: Params): Promise<void> {
  // Trees, fee buckets and every batch shape, in order (PROTOCOL.md §5.5).
  await checkRollupParams(l1, p);
  const genesis = await batchRoot(l1, 0);
  const expected = new State(p).root;
  if (genesis !== expected) throw new Error(`Rollup genesis root ${fieldToHex(genesis)} != empty state root ${fieldToHex(expected)}`);
}

/** A database belongs to one (chain, rollup, params): refuse to mix. */
function checkMeta(store: Store, l1: L1, p: Params): void {
  // The shape list joins the key only when there is more than one: a one-shape database keeps its key.
  const shapes = shapesOf(p);
  const params = shapes.length > 1 ? `${paramsKey(p)}+${shapes.map(shapeKey).join(",")}` : paramsKey(p);
  const want: Record<string, string> = { chainId: String(l1.chainId), rollup: l1.rollup.toLowerCase(), params };
  for (const [k, v] of Object.entries(want)) {
    const have = store.getMeta(k);
    if (have === null) store.setMeta(k, v);
    else if (have !== v) throw new Error(`database belongs to ${k} ${have}, not ${v}`);
  }
}

class SequencerImpl implements Sequencer {
  readonly params: Params;
  readonly chainId: number;
  readonly rollup: Address;

  private readonly state: State;
  private readonly genesisRoot: Hex;
  /** Every shape with its proving cost, in the deployment's order. */
  private readonly shapeCosts: readonly ShapeCost[];
  /** The deployment's first shape: batches stored before shapes, and the prover's own circuit and vkey by default. */
  private readonly firstShape: Shape;
  /**
   * The params with, per slot type, the most any shape has: when a type counts as full (a cut is
   * due) and how many batches a backlog makes (a lower bound: no one shape need have every maximum).
   */
  private readonly cutParams: Params;
  private readonly batchTimeoutMs: number;
  private readonly proving: boolean;
  private readonly maxPendingTxs: number;
  private readonly maxUnprovenBatches: number;
  private readonly maxBacklogS: number;
  /** Proofs the prover runs at once, from its last status (refreshed at most every 5 s). */
  private proverWorkers = 1;
  private workersCheckedAt = 0;
  /** Capacity is recomputed at most every 100 ms: counting the pending operations is O(n). */
  private capacityCache: { at: number; value: ProvingCapacity } | null = null;
  /** Signatures verified at acceptance: a cut re-checks pending operations without verifying them again. */
  private readonly verifiedSigs = new VerifiedSignatures();
  private readonly maxProveAttempts: number;
  private readonly pollIntervalMs: number;
  private readonly maxLogRange: number;

  /** Accepted, unbatched txs in acceptance order, and the view they define. */
  private pending: PendingTx[] = [];
  private view: PendingView;
  /** Queue records stored but not consumed by a built batch, in order. */
  private unconsumed: QueueRow[] = [];
  private queueTip: QueueTip = { length: 0, hash: 0n };
  private consumed = 0;
  /** queueHash[consumed]: the next batch's queueHashBefore. */
  private consumedHash = 0n;
  private lastBatch = 0;
  private lastBatchTs = 0;
  private finalized = 0;
  private l1Block = 0n;
  /** The oldest unprocessed forced withdrawal on L1, refreshed while one waits (null: none). */
  private forced: ForcedRequestInfo | null = null;
  private forcedWarned: number | null = null;
  private l1Time = 0;
  /** The contract's maxTimestampLag (s): a batch older than this at submission can never finalize. */
  private maxTimestampLag = 0;
  /** The batch whose submission waits for the chain's clock (logged once). */
  private waitingForChainTime: number | null = null;
  private scannedBlock: bigint;

  /** Built batches whose proof is still to come (inputs kept for retries), and those with the prover now. */
  private readonly toProve = new Map<number, ProofTask>();
  private readonly inProver = new Set<number>();
  private halted: HaltInfo | null = null;
  /** Proof verifiers by shape key, loaded on first use. */
  private readonly verifiers = new Map<string, Promise<ProofVerifier>>();

  private started = false;
  private stopped = false;
  private cutChain: Promise<unknown> = Promise.resolve();
  private pollChain: Promise<unknown> = Promise.resolve();
  private cutScheduled = false;
  private cutting = false;
  private pollRunning: Promise<void> | null = null;
  private submitRunning: Promise<void> | null = null;
  private pumpRequested = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly desk: TradingDesk;
  private readonly listeners = new Set<(e: StreamEvent) => void>();
  private lastExpireAt = 0;
  /** Signature workers: created on start or the first submission; null when disabled or stopped. */
  private pool: VerifierPool | null | undefined = undefined;
  readonly stream: StreamSource;

  constructor(
    private readonly opts: SequencerOptions,
    private readonly log: LogFn,
    private readonly l1: L1,
    private readonly store: Store,
  ) {
    this.params = opts.params;
    this.shapeCosts = shapeCostsFor(opts.params, opts.shapeCircuits);
    const shapes = shapesOf(opts.params);
    this.firstShape = shapes[0];
    this.cutParams = {
      ...opts.params,
      depositSlots: Math.max(...shapes.map((x) => x.depositSlots)),
      l2Slots: Math.max(...shapes.map((x) => x.l2Slots)),
      fillSlots: Math.max(...shapes.map((x) => x.fillSlots)),
    };
    this.chainId = l1.chainId;
    this.rollup = l1.rollup;
    this.state = new State(opts.params);
    this.genesisRoot = fieldToHex(this.state.root);
    this.view = pendingViewOf(this.state, []);
    this.batchTimeoutMs = opts.batchTimeoutMs ?? DEFAULTS.batchTimeoutMs;
    this.proving = opts.proving ?? true;
    this.maxPendingTxs = opts.maxPendingTxs ?? DEFAULTS.maxPendingTxs;
    this.maxUnprovenBatches = opts.maxUnprovenBatches ?? DEFAULTS.maxUnprovenBatches;
    this.maxBacklogS = opts.maxBacklogS ?? (opts.expiryMarginS ?? DEFAULTS.expiryMarginS) / 2;
    if (!(this.maxBacklogS >= 0)) throw new Error(`maxBacklogS must be a number of seconds ≥ 0, got ${this.maxBacklogS}`);
    this.maxProveAttempts = opts.maxProveAttempts ?? DEFAULTS.maxProveAttempts;
    this.pollIntervalMs = opts.l1.pollIntervalMs ?? DEFAULTS.pollIntervalMs;
    this.maxLogRange = opts.l1.maxLogRange ?? DEFAULTS.maxLogRange;
    const scanned = store.getMeta("scannedBlock");
    this.scannedBlock = scanned !== null ? BigInt(scanned) : (opts.l1.fromBlock ?? 0n) - 1n;
    this.desk = new TradingDesk({
      params: this.params,
      domain: { chainId: this.chainId, rollup: this.rollup },
      markets: opts.markets === "auto" || !opts.markets ? [] : opts.markets,
      expiryMarginS: opts.expiryMarginS ?? DEFAULTS.expiryMarginS,
      store,
      log,
      view: () => this.view,
      context: () => this.acceptanceContext(),
      now: () => this.clock(),
      appendOps: (items) => {
        this.pending.push(...items);
        if (items.some((i) => i.tx.type === "fill") && this.pendingFills(this.cutParams.fillSlots) >= this.cutParams.fillSlots) this.scheduleCut();
      },
      emit: (e) => this.emit(e),
      fatal: (reason) => this.halt(reason, null),
      preverify: (account, message, sig) => this.preverify(account, message, sig),
      verifiedSignatures: this.verifiedSigs,
    });
    this.stream = {
      onEvent: (listener) => {
        this.listeners.add(listener);
        return () => this.listeners.delete(listener);
      },
      bookSnapshot: (market, depth): BookSnapshot | null => this.desk.book(market, depth),
      marketIds: () => this.desk.marketIds(),
    };
  }

  /**
   * The sequencer's one clock (PROTOCOL.md §3), in seconds: the wall clock, never behind the previous
   * batch's timestamp nor the latest L1 block's (a chain whose clock runs ahead). It dates batches and
   * judges every operation's expiry: transfers, withdrawals and orders alike.
   */
  private clock(): number {
    return Math.max(Math.floor(Date.now() / 1000), this.l1Time, this.lastBatchTs);
  }

  /** Core's checks for an operation accepted now: the earliest batch it can land in is dated by the clock. */
  private acceptanceContext(): BatchContext {
    return { chainId: this.chainId, rollup: this.rollup, timestamp: this.clock() };
  }

  /** An operation is accepted only while it stays valid for the acceptance margin (orders: the engine's same rule). */
  private checkNotExpiring(validUntil: number): void {
    const now = this.clock();
    const margin = this.expiryMarginS;
    if (now + margin > validUntil) {
      throw new ApiError(422, "expired", `validUntil ${validUntil} is less than the acceptance margin (${margin} s) after the sequencer's clock ${now}`);
    }
  }

  private verifierPool(): VerifierPool | null {
    if (this.stopped) return null;
    if (this.pool === undefined) {
      const size = this.opts.signatureWorkers ?? defaultVerifierPoolSize();
      this.pool = size > 0 ? createVerifierPool({ size, log: this.log }) : null;
    }
    return this.pool;
  }

  /** Verifies a signature under `account`'s key off the main thread, ahead of the synchronous acceptance step. */
  private preverify(account: number, message: () => bigint, sig: Signature): Promise<Verified | null> {
    return preverify(this.verifierPool(), this.view, account, message, sig);
  }

  /** Operations (L2 and L1) in no batch yet, and the fewest batches that will hold them. */
  private uncut(): { operations: number; batches: number } {
    const fills = this.pendingFills();
    const txs = this.pending.length - fills;
    const queued = this.unconsumed.length;
    return { operations: txs + fills + queued, batches: batchesToCut(this.cutParams, { txs, fills, queued }) };
  }

  /** Fills among the pending operations, counted up to `limit` (the hot path only asks whether a batch's worth waits). */
  private pendingFills(limit = Infinity): number {
    let n = 0;
    for (const p of this.pending) if (p.tx.type === "fill" && ++n >= limit) break;
    return n;
  }

  private emit(e: StreamEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.log({ level: "error", msg: "stream.listener_failed", error: errorMessage(err) });
      }
    }
  }

  // ---------------------------------------------------------------- startup

  /** Rebuilds memory from the store: replays batches, reloads the queue and the pending txs. */
  async init(): Promise<void> {
    const t0 = performance.now();
    this.loadQueue();
    const replayed = this.replay();
    this.loadPending();
    const latest = await latestBlock(this.l1);
    this.l1Block = latest.number;
    this.l1Time = latest.timestamp;
    this.maxTimestampLag = await readMaxTimestampLag(this.l1);
    this.restoreBook();
    const chain = await chainState(this.l1);
    if (chain.frozen) this.halt(FROZEN_REASON(chain.batchNumber), null);
    if (chain.batchNumber > this.lastBatch) {
      this.halt(`L1 has ${chain.batchNumber} finalized batches, this database only ${this.lastBatch}`, null);
    }
    this.log({
      msg: "sequencer.init",
      chainId: this.chainId,
      rollup: this.rollup,
      params: paramsKey(this.params),
      batches: replayed,
      finalized: this.finalized,
      pendingTxs: this.pending.length,
      queue: { length: this.queueTip.length, consumed: this.consumed },
      l1Batch: chain.batchNumber,
      ms: Math.round(performance.now() - t0),
    });
  }

  private loadQueue(): void {
    const length = this.store.queueLength();
    const last = length > 0 ? this.store.queueRecord(length - 1) : null;
    if (length > 0 && (!last || last.index !== length - 1)) throw new Error("queue table is not contiguous");
    this.queueTip = { length, hash: last?.queueHash ?? 0n };
  }

  /** Replays every stored batch through core's buildBatch; the recomputed roots must match the stored ones. */
  private replay(): number {
    const rows = this.store.batchesFrom(1);
    for (const row of rows) {
      if (row.number !== this.lastBatch + 1) throw new Error(`batch ${this.lastBatch + 1} missing from the database`);
      if (row.queueStart !== this.consumed) throw new Error(`batch ${row.number} starts at queue record ${row.queueStart}, expected ${this.consumed}`);
      const deposits = this.store.queueRange(row.queueStart, row.queueStart + row.depositCount);
      if (deposits.length !== row.depositCount) throw new Error(`batch ${row.number}: queue records missing`);
      const { txs, fills } = splitOps(row.txHashes.map((h) => {
        const t = this.store.getTx(h);
        if (!t) throw new Error(`batch ${row.number}: tx ${h} missing`);
        return parseStoredOp(t.body, this.params);
      }));
      if (BigInt(row.queueHashBefore) !== this.consumedHash) throw new Error(`batch ${row.number}: queueHashBefore mismatch`);
      const r = buildBatch(this.state, {
        chainId: this.chainId,
        rollup: this.rollup,
        timestamp: row.timestamp,
        queueHashBefore: this.consumedHash,
        deposits: deposits.map((d) => d.record),
        txs,
        fills,
        feeTokens: row.feeTokens,
        shape: this.shapeOfRow(row),
      });
      if (fieldToHex(r.newRoot) !== row.newRoot || r.publicInput.toString() !== row.publicInput) {
        throw new Error(`replay of batch ${row.number} gives root ${fieldToHex(r.newRoot)}, stored ${row.newRoot}: core and database disagree`);
      }
      this.lastBatch = row.number;
      this.lastBatchTs = row.timestamp;
      this.consumed += row.depositCount;
      this.consumedHash = r.queueHashAfter;
      this.resumeBatch(row, r);
    }
    this.unconsumed = this.store.queueRange(this.consumed, this.queueTip.length);
    return rows.length;
  }

  /** A stored batch's shape: rows from before shapes have none and are of the deployment's first. */
  private shapeOfRow(row: BatchRow): Shape {
    return row.shape ?? this.firstShape;
  }

  /** Where a replayed batch picks up: finalized stays, unproven is proven again, failed is retried. */
  private resumeBatch(row: BatchRow, r: BatchResult): void {
    switch (row.status) {
      case "finalized":
        this.finalized = row.number;
        return;
      case "failed":
        // A restart is the operator's retry: resubmit with the stored proof, or prove again.
        this.log({ level: "warn", msg: "batch.retry_after_restart", batch: row.number, error: row.error });
        this.store.resetBatch(row.number, row.proof ? "proven" : "built");
        if (row.proof) this.store.jobs.reset(row.number, "verified");
        if (!row.proof && this.proving) this.toProve.set(row.number, { circuitInput: r.circuitInput, publicSignals: r.publicSignals.map(String), shape: r.shape, attempts: 0 });
        return;
      case "built":
      case "proving":
        // Circuit inputs are only kept when this process proves (they are the bulk of a batch's memory).
        if (this.proving) this.toProve.set(row.number, { circuitInput: r.circuitInput, publicSignals: r.publicSignals.map(String), shape: r.shape, attempts: 0 });
        return;
      case "proven":
      case "submitted":
        return;
    }
  }

  private loadPending(): void {
    this.pending = this.store.txsWithStatus("accepted").map((t) => ({
      seq: t.seq,
      hash: t.hash,
      tx: parseStoredOp(t.body, this.params),
      acceptedAt: t.acceptedAt,
    }));
    // Each was checked against exactly this sequence when accepted; expiry is rechecked at the cut.
    this.view = pendingViewOf(this.state, this.pending);
  }

  /** The order books as they were: open orders rest again, against the pending view. */
  private restoreBook(): void {
    if (!this.desk.tradingEnabled) return;
    const r = this.desk.restore();
    this.log({ msg: "book.restored", open: r.open, closedOnRestore: r.dropped });
  }

  async start(): Promise<void> {
    if (this.started) return;
    if (this.stopped) throw new Error("sequencer was stopped");
    this.started = true;
    const pool = this.verifierPool();
    this.log({ msg: "sequencer.start", proving: this.proving, batchTimeoutMs: this.batchTimeoutMs, signatureWorkers: pool?.size ?? 0 });
    await this.adoptFinalizedOnL1();
    if (this.stopped) return;
    this.pollLoop();
    this.tickLoop();
    if (this.proving) {
      for (const n of [...this.toProve.keys()].sort((a, b) => a - b)) this.prove(n);
      this.pumpSubmissions();
    }
  }

  /**
   * Batches of ours that L1 already has (sent before a crash, or by another instance of this
   * database) are marked finalized without proving or sending anything again.
   */
  private async adoptFinalizedOnL1(): Promise<void> {
    const chain = await chainState(this.l1);
    for (let n = this.finalized + 1; n <= Math.min(chain.batchNumber, this.lastBatch) && !this.stopped; n++) {
      const row = this.store.getBatch(n);
      if (!row) throw new Error(`batch ${n} missing from the database`);
      if (!(await this.adopt(row))) return;
    }
  }

  /** L1 has batch `row.number`: mark ours finalized if the roots agree, else halt. Returns whether adopted. */
  private async adopt(row: BatchRow): Promise<boolean> {
    const root = fieldToHex(await batchRoot(this.l1, row.number));
    if (this.stopped) return false;
    if (root !== row.newRoot) {
      this.store.markFailed(row.number, `L1 batch ${row.number} has root ${root}, ours is ${row.newRoot}`, Date.now());
      this.halt(`L1 conflict: batch ${row.number} on L1 has root ${root}, ours ${row.newRoot}`, row.number);
      return false;
    }
    this.toProve.delete(row.number);
    this.inProver.delete(row.number);
    this.finalize(row, row.l1TxHash, { ...row.timings }, true);
    return true;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const pool = this.pool;
    this.pool = null;
    await pool?.close();
    await Promise.allSettled([this.cutChain, this.pollChain, this.pollRunning, this.submitRunning]);
    this.store.close();
    this.log({ msg: "sequencer.stop", pendingTxs: this.pending.length, latestBatch: this.lastBatch, finalized: this.finalized });
  }

  private later(ms: number, fn: () => void): void {
    if (this.stopped) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped) fn();
    }, ms);
    this.timers.add(t);
  }

  private halt(reason: string, batch: number | null): void {
    if (this.halted) return;
    this.halted = { reason, batch, at: Date.now() };
    this.log({ level: "error", msg: "sequencer.halted", reason, batch });
  }

  // ---------------------------------------------------------------- acceptance

  async submitTx(body: unknown): Promise<TxAccepted> {
    this.admitTx();
    const tx = parseTx(body, this.params);
    const message = txMessage(tx, { chainId: this.chainId, rollup: this.rollup });
    const hash = txHash(message);
    this.admitTxHash(hash);
    const verified = await this.preverify(signerOf(tx), () => message, tx.signature);
    // From here on synchronous: the checks against the pending view, the write and the append are atomic.
    this.admitTx();
    this.admitTxHash(hash);
    return this.acceptTx(tx, hash, verified);
  }

  private admitTx(): void {
    if (this.stopped) throw new ApiError(500, "internal", "sequencer is stopped");
    const broken = this.desk.brokenReason;
    if (broken) throw new ApiError(500, "internal", `acceptance is stopped: ${broken}; restart the sequencer`);
    this.admitLoad();
  }

  /** 503 while the proving backlog is past maxBacklogS (sequencer/backpressure.ts). */
  private admitLoad(): void {
    if (!this.proving) return;
    const o = overload(this.capacity(), this.maxBacklogS);
    if (o) throw new ApiError(503, "overloaded", o.message, o.retryAfterS);
  }

  private capacity(): ProvingCapacity {
    const now = performance.now();
    if (this.capacityCache && now - this.capacityCache.at < 100) return this.capacityCache.value;
    this.refreshProverWorkers();
    // The same mean proof time as the operator view's (prover-view.ts proofTimeStats).
    const meanMs = proofTimeStats(this.store.jobs.latest(RECENT_JOBS)).meanMs;
    const value: ProvingCapacity = {
      backlogBatches: this.toProve.size + this.uncut().batches,
      proofS: meanMs === null ? null : meanMs / 1000,
      workers: this.proverWorkers,
    };
    this.capacityCache = { at: now, value };
    return value;
  }

  /** Every proof the provers run at once is taken by a batch already cut (and not yet proven). */
  private proversBusy(): boolean {
    if (!this.proving) return false;
    this.refreshProverWorkers();
    return this.toProve.size >= this.proverWorkers;
  }

  /** Workers ready to prove (idle or busy), by concurrency, from the prover's status; in the background. */
  private refreshProverWorkers(): void {
    const prover = this.opts.prover;
    if (!this.proving || !prover.status || Date.now() - this.workersCheckedAt < 5_000) return;
    this.workersCheckedAt = Date.now();
    prover.status().then(
      (st) => {
        const n = st.workers.filter((w) => w.state === "idle" || w.state === "busy").reduce((a, w) => a + Math.max(1, w.concurrency), 0);
        this.proverWorkers = Math.max(1, n);
      },
      () => undefined,
    );
  }

  private admitTxHash(hash: Hex): void {
    if (this.store.hasTx(hash)) throw new ApiError(409, "duplicate", `transaction ${hash} was already received`);
    if (this.pending.length >= this.maxPendingTxs) throw new ApiError(429, "too_many_pending", `${this.pending.length} transactions are waiting for a batch; retry later`);
  }

  /** The synchronous step: core's rules (the signature as verified ahead), the reserve, the durable write, the append. */
  private acceptTx(tx: ReturnType<typeof parseTx>, hash: Hex, verified: Verified | null): TxAccepted {
    this.checkNotExpiring(tx.validUntil);
    try {
      this.view.check(tx, this.acceptanceContext(), signatureCheck(verified, this.verifiedSigs));
    } catch (e) {
      if (e instanceof ProtocolError) throw fromProtocolError(e);
      throw e;
    }
    // Open orders hold part of the balance: a transfer or withdrawal may only spend the rest.
    const signer = signerOf(tx);
    const free = this.view.balance(signer, tx.token) - this.desk.reserved(signer, tx.token);
    if (free < tx.amount + tx.fee) {
      throw new ApiError(422, "insufficient_balance", `balance ${this.view.balance(signer, tx.token)} less ${this.desk.reserved(signer, tx.token)} reserved by open orders < amount ${tx.amount} + fee ${tx.fee}`);
    }
    const acceptedAt = Date.now();
    let seq: number;
    try {
      seq = this.store.insertTx(hash, txToWire(tx), acceptedAt);
    } catch (e) {
      if ((e as { code?: string }).code === "SQLITE_CONSTRAINT_UNIQUE") throw new ApiError(409, "duplicate", `transaction ${hash} was already received`);
      throw e;
    }
    this.pending.push({ seq, hash, tx, acceptedAt });
    this.view.apply(tx);
    this.log({ level: "debug", msg: "tx.accepted", hash, type: tx.type, seq });
    if (this.pending.length >= this.cutParams.l2Slots) this.scheduleCut();
    return { hash, status: "accepted" };
  }

  // ---------------------------------------------------------------- L1 queue

  private pollLoop(): void {
    this.pollRunning = this.pollL1()
      .catch((e) => this.log({ level: "warn", msg: "l1.poll_failed", error: errorMessage(e) }))
      .finally(() => {
        this.pollRunning = null;
        this.later(this.pollIntervalMs, () => this.pollLoop());
      });
  }

  pollL1(): Promise<void> {
    const run = this.pollChain.then(() => this.pollNow());
    this.pollChain = run.catch(() => undefined);
    return run;
  }

  private async pollNow(): Promise<void> {
    if (this.stopped) return;
    const latest = await latestBlock(this.l1);
    if (this.stopped) return;
    this.l1Block = latest.number;
    this.l1Time = latest.timestamp;
    while (this.scannedBlock < latest.number && !this.stopped) {
      const from = this.scannedBlock + 1n;
      const to = from + BigInt(this.maxLogRange) - 1n < latest.number ? from + BigInt(this.maxLogRange) - 1n : latest.number;
      const events = await enqueuedEvents(this.l1, from, to);
      if (this.stopped) return;
      let ext: ReturnType<typeof extendQueue>;
      try {
        ext = extendQueue(this.queueTip, events, (i) => this.store.queueRecord(i)?.queueHash ?? null);
      } catch (e) {
        if (e instanceof QueueMismatchError) this.halt(e.message, null);
        throw e;
      }
      const seenAt = Date.now();
      const rows = ext.fresh.map((ev) => ({ ...ev, seenAt }));
      this.store.appendQueue(rows, Number(to));
      this.queueTip = ext.tip;
      this.scannedBlock = to;
      for (const r of rows) this.unconsumed.push({ ...r, batch: null });
      if (rows.length > 0) {
        this.log({ msg: "l1.enqueued", records: rows.map((r) => ({ index: r.index, kind: r.record.kind, accountId: r.record.accountId, token: r.record.token, amount: r.record.amount })), block: Number(to) });
        if (this.unconsumed.length >= this.cutParams.depositSlots) this.scheduleCut();
      }
    }
    await this.refreshForced();
  }

  private forcedQueued(): number {
    return this.unconsumed.filter((r) => r.record.kind === QUEUE_FORCED_EXIT).length;
  }

  /**
   * While a forced withdrawal waits, track its deadline (a batch must process it by that block, or
   * anyone may freeze the rollup), warn once when a quarter of the window is left, and cut at once.
   */
  private async refreshForced(): Promise<void> {
    if (this.forcedQueued() === 0 && this.forced === null) return;
    const f = await oldestForcedRequest(this.l1);
    if (this.stopped) return;
    this.forced = f;
    if (!f) return;
    const left = Number(f.deadline - this.l1Block);
    if (left <= FORCED_WARN_BLOCKS && this.forcedWarned !== f.forcedId) {
      this.forcedWarned = f.forcedId;
      this.log({ level: "warn", msg: "l1.forced_deadline_near", forcedId: f.forcedId, queueIndex: f.queueIndex, deadlineBlock: Number(f.deadline), blocksLeft: left, pending: f.pending });
    }
    if (this.forcedQueued() > 0) this.scheduleCut();
  }

  // ---------------------------------------------------------------- batch cutting

  private tickLoop(): void {
    if (this.started && !this.stopped && Date.now() - this.lastExpireAt >= EXPIRE_INTERVAL_MS) {
      this.lastExpireAt = Date.now();
      try {
        this.desk.expire();
      } catch (e) {
        this.log({ level: "error", msg: "book.expire_failed", error: errorMessage(e) });
      }
    }
    this.maybeCut();
    this.later(Math.max(20, Math.min(250, Math.floor(this.batchTimeoutMs / 4))), () => this.tickLoop());
  }

  private scheduleCut(): void {
    if (this.cutScheduled || !this.started) return;
    this.cutScheduled = true;
    setImmediate(() => {
      this.cutScheduled = false;
      this.maybeCut();
    });
  }

  private maybeCut(): void {
    if (!this.started || this.stopped || this.halted || this.cutting) return;
    if (this.proving && this.toProve.size >= this.maxUnprovenBatches) return;
    const due = shouldCut({
      params: this.cutParams,
      now: Date.now(),
      batchTimeoutMs: this.batchTimeoutMs,
      pendingTxs: this.pending.length,
      pendingFills: this.pendingFills(),
      oldestPendingAt: this.pending[0]?.acceptedAt ?? null,
      unconsumedQueue: this.unconsumed.length,
      oldestQueueAt: this.unconsumed[0]?.seenAt ?? null,
      forcedQueued: this.forcedQueued(),
      proversBusy: this.proversBusy(),
    });
    if (!due) return;
    this.cutting = true;
    void this.cutBatch()
      .catch((e) => this.log({ level: "error", msg: "batch.cut_failed", error: errorMessage(e) }))
      .finally(() => {
        this.cutting = false;
        // A backlog (full batches waiting) is cut back to back.
        const c = this.cutParams;
        if (this.pending.length >= c.l2Slots || this.pendingFills(c.fillSlots) >= c.fillSlots || this.unconsumed.length >= c.depositSlots) this.scheduleCut();
      });
  }

  cutBatch(): Promise<number | null> {
    const run = this.cutChain.then(() => this.cutNow());
    this.cutChain = run.catch(() => undefined);
    return run;
  }

  private async cutNow(): Promise<number | null> {
    if (this.stopped || this.halted) return null;
    if (this.pending.length === 0 && this.unconsumed.length === 0) return null;
    const latest = await latestBlock(this.l1);
    if (this.stopped || this.halted) return null;
    this.l1Block = latest.number;
    this.l1Time = latest.timestamp;
    // From here on synchronous: no tx is accepted while the batch is chosen, built and stored.
    // Dated by the clock (≥ the previous batch's timestamp, as the contract requires); the submission
    // waits, if it must, until the chain's block.timestamp reaches it (submitOne).
    const timestamp = this.clock();
    const ctx: BatchContext = { chainId: this.chainId, rollup: this.rollup, timestamp };
    const rejections: Rejection[] = [];
    const drop = (dropped: readonly Rejection[]): void => {
      // Whatever came after a dropped tx may have depended on it: re-check what it touched.
      rejections.push(...dropped);
      const r = dropAndRecheck(this.state, this.pending, new Set(dropped.map((d) => d.item.hash)), ctx, this.verifiedSigs.check);
      rejections.push(...r.rejected);
      this.pending = r.valid;
    };
    const expired = expiredTxs(this.pending, timestamp);
    if (expired.length > 0) {
      drop(expired.map((item) => ({ item, code: "expired" as const, message: `validUntil ${validUntilOf(item.tx)} is before the batch timestamp ${timestamp}` })));
    }

    // Queue records that must go now rule out shapes without L1 slots (sequencer/shapes.ts).
    const oldestQueued = this.unconsumed[0];
    const queueDue = this.forcedQueued() > 0 || (oldestQueued !== undefined && Date.now() - oldestQueued.seenAt >= this.batchTimeoutMs);
    let shape: Shape;
    let deposits: QueueRow[];
    let chosen: PendingTx[];
    let result: BatchResult;
    let buildMs: number;
    for (;;) {
      const pick = this.pickShape(queueDue);
      if (!pick) {
        this.finishRejections(rejections);
        return null;
      }
      ({ shape, chosen, deposits } = pick);
      const t0 = performance.now();
      try {
        result = buildBatch(this.state, {
          chainId: this.chainId,
          rollup: this.rollup,
          timestamp,
          queueHashBefore: this.consumedHash,
          deposits: deposits.map((d) => d.record),
          ...splitOps(chosen.map((c) => c.tx)),
          verify: this.verifiedSigs.check,
          shape,
        });
        buildMs = performance.now() - t0;
        break;
      } catch (e) {
        const i = e instanceof ProtocolError ? failedOperation(e, chosen) : null;
        if (e instanceof ProtocolError && i !== null && chosen[i]) {
          // The pending check runs core's own rules, but on the state without the queue records this
          // batch consumes first: a forced exit (kind 3) can empty a balance a pending tx spends.
          // Otherwise it should not happen. Either way: drop the tx, keep going.
          const forced = deposits.some((d) => d.record.kind === QUEUE_FORCED_EXIT);
          this.log({ level: forced ? "warn" : "error", msg: "batch.tx_refused_by_core", hash: chosen[i].hash, code: e.code, error: e.message });
          drop([{ item: chosen[i], code: e.code, message: e.message }]);
          continue;
        }
        this.finishRejections(rejections);
        this.halt(`cannot build batch ${this.lastBatch + 1}: ${errorMessage(e)}`, this.lastBatch + 1);
        throw e;
      }
    }

    const number = this.lastBatch + 1;
    const builtAt = Date.now();
    try {
      this.store.commitBatch(
        {
          number,
          timestamp,
          queueStart: this.consumed,
          depositCount: deposits.length,
          ...batchOps(chosen, shape.l2Slots),
          shape,
          feeTokens: result.feeTokens,
          oldRoot: fieldToHex(result.oldRoot),
          newRoot: fieldToHex(result.newRoot),
          queueHashBefore: fieldToHex(result.queueHashBefore),
          queueHashAfter: fieldToHex(result.queueHashAfter),
          publicInput: result.publicInput.toString(),
          pubdata: toHex(result.pubdata),
          builtAt,
          timings: { buildMs: Math.round(buildMs * 10) / 10 },
        },
        rejections.map(toTxRejection),
      );
    } catch (e) {
      // The in-memory state already contains the batch and cannot be rolled back. Stop here; a
      // restart replays the database, which does not contain it.
      this.halt(`could not store batch ${number}: ${errorMessage(e)}; restart the sequencer`, number);
      throw e;
    }
    this.lastBatch = number;
    this.lastBatchTs = timestamp;
    this.pending = this.pending.slice(chosen.length);
    this.unconsumed = this.unconsumed.slice(deposits.length);
    this.consumed += deposits.length;
    this.consumedHash = result.queueHashAfter;
    this.view = pendingViewOf(this.state, this.pending);
    this.logRejections(rejections);
    this.desk.fillsChanged(this.store.tradesOfBatch(number), "batched");
    this.log({
      msg: "batch.built",
      batch: number,
      shape: shapeKey(shape),
      txs: chosen.length,
      deposits: deposits.length,
      rejected: rejections.length,
      timestamp,
      newRoot: fieldToHex(result.newRoot),
      buildMs: Math.round(buildMs),
    });
    if (this.proving) {
      this.toProve.set(number, { circuitInput: result.circuitInput, publicSignals: result.publicSignals.map(String), shape: result.shape, attempts: 0 });
      this.prove(number);
    }
    return number;
  }

  /** The shape to cut and what it takes: sequencer/shapes.ts chooseShape over what each shape would carry. */
  private pickShape(queueDue: boolean): { shape: Shape; chosen: PendingTx[]; deposits: QueueRow[] } | null {
    const loads = this.shapeCosts.map((cost) => {
      const chosen = takeBatchTxs(withShape(this.params, cost.shape), this.pending);
      const deposits = this.unconsumed.slice(0, cost.shape.depositSlots);
      return { cost, chosen, deposits, operations: chosen.length, records: deposits.length };
    });
    const best = chooseShape({ loads, pendingOperations: this.pending.length, queuedRecords: this.unconsumed.length, queueDue, batchOverhead: BATCH_OVERHEAD_CONSTRAINTS });
    if (!best) return null;
    const load = loads.find((l) => l.cost === best.cost);
    return load ? { shape: load.cost.shape, chosen: load.chosen, deposits: load.deposits } : null;
  }

  private finishRejections(rejections: readonly Rejection[]): void {
    if (rejections.length === 0) return;
    this.store.rejectTxs(rejections.map(toTxRejection), Date.now());
    this.view = pendingViewOf(this.state, this.pending);
    this.logRejections(rejections);
  }

  /**
   * Logs the rejections a cut stored and voids the fills among them (PROTOCOL.md §4.7): their orders
   * take the amounts back. Runs after the rejections are committed and with the pending view that no
   * longer holds them, so a crash in between leaves an order closed, never filled twice.
   */
  private logRejections(rejections: readonly Rejection[]): void {
    const voided: TradeWithStatus[] = [];
    for (const r of rejections) {
      this.log({ level: "warn", msg: "tx.rejected", hash: r.item.hash, code: r.code, reason: r.message });
      if (r.item.tx.type === "fill") {
        // A fill the engine made could not be batched (e.g. an order expired during a long backlog).
        this.log({ level: "error", msg: "fill.rejected", hash: r.item.hash, code: r.code, reason: r.message });
        const t = this.store.tradeOfFill(r.item.hash);
        if (t) voided.push(t);
      }
    }
    if (voided.length === 0) return;
    this.desk.fillsChanged(voided, "rejected");
    this.desk.voidFills(voided);
  }

  // ---------------------------------------------------------------- proving

  private prove(n: number): void {
    const task = this.toProve.get(n);
    if (!task || this.inProver.has(n) || this.stopped) return;
    this.inProver.add(n);
    task.attempts += 1;
    const queuedAt = Date.now();
    this.store.markProving(n, queuedAt);
    this.store.jobs.queued(n, queuedAt);
    const t0 = performance.now();
    let leasedAt = t0;
    /** The worker of the prover's last, unretried attempt: the rejection that follows is recorded once, below, with it. */
    let lastWorker: string | null = null;
    this.log({ msg: "batch.proving", batch: n, attempt: task.attempts, proverPending: this.opts.prover.pending });
    const onEvent = (e: ProverEvent): void => {
      if (this.stopped || this.toProve.get(n) !== task) return;
      if (e.type === "leased") {
        leasedAt = performance.now();
        this.store.jobs.leased(n, e.worker, Date.now());
        this.log({ msg: "proof_job.leased", batch: n, worker: e.worker, attempt: e.attempt });
        return;
      }
      this.log({ level: "warn", msg: "proof_job.attempt_failed", batch: n, worker: e.worker, attempt: e.attempt, willRetry: e.willRetry, error: e.error });
      if (e.willRetry) this.store.jobs.attemptFailed(n, { attempt: e.attempt, worker: e.worker, error: e.error }, Date.now(), true);
      else lastWorker = e.worker;
    };
    // Through a resolved promise: a prover that throws synchronously fails this attempt, not the cut.
    Promise.resolve()
      .then(() => this.opts.prover.prove(this.proofJob(n, task), { onEvent }))
      .then(async (res) => {
        // Stopped, or L1 turned out to have the batch already: nothing to record.
        if (this.stopped || this.toProve.get(n) !== task) return;
        const receivedAt = performance.now();
        const worker = String(res.worker);
        this.store.jobs.proven(n, worker, { waitMs: Math.round(leasedAt - t0), proofWallMs: Math.round(receivedAt - leasedAt), witnessMs: res.timings.witnessMs, proveMs: res.timings.proveMs, verifyMs: res.timings.verifyMs }, Date.now());
        // Whoever produced it, the proof is only accepted once it verifies under our own key.
        const verifier = await this.proofVerifier(task.shape);
        const rejected = await verifier.check(res.proof, res.publicSignals, task.publicSignals);
        if (this.stopped || this.toProve.get(n) !== task) return;
        if (rejected !== null) throw new ProofRejected(`proof of batch ${n} from worker ${worker} rejected: ${rejected}`, worker);
        const acceptVerifyMs = Math.round((performance.now() - receivedAt) * 10) / 10;
        const row = this.store.getBatch(n);
        const timings: BatchTimings = {
          ...row?.timings,
          witnessMs: res.timings.witnessMs,
          proveMs: res.timings.proveMs,
          verifyMs: res.timings.verifyMs,
          provingWallMs: Math.round(performance.now() - t0),
          worker,
          proveAttempts: task.attempts,
        };
        this.store.markProven(n, res.proof, timings, Date.now(), { acceptVerifyMs });
        this.desk.fillsChanged(this.store.tradesOfBatch(n), "proven");
        this.inProver.delete(n);
        this.toProve.delete(n);
        this.log({ msg: "batch.proven", batch: n, acceptVerifyMs, ...timings });
        this.pumpSubmissions();
        this.scheduleCut();
      })
      .catch((e: unknown) => {
        if (this.stopped || this.toProve.get(n) !== task) return;
        this.inProver.delete(n);
        const error = errorMessage(e);
        const retry = task.attempts < this.maxProveAttempts;
        this.store.jobs.attemptFailed(n, { attempt: task.attempts, worker: e instanceof ProofRejected ? e.worker : lastWorker, error }, Date.now(), retry);
        if (retry) {
          const delay = 1_000 * 2 ** (task.attempts - 1);
          this.log({ level: "warn", msg: "batch.prove_failed", batch: n, attempt: task.attempts, retryInMs: delay, error });
          this.store.noteBatchError(n, `proof attempt ${task.attempts}: ${error}`, { ...this.store.getBatch(n)?.timings, proveAttempts: task.attempts });
          this.later(delay, () => this.prove(n));
        } else {
          this.toProve.delete(n);
          this.store.markFailed(n, `proving failed ${task.attempts} times: ${error}`, Date.now());
          this.halt(`batch ${n} could not be proven: ${error}`, n);
        }
      });
  }

  /** The verification key every proof is checked against: the operator's, else the prover's circuit's. */
  /** The shape's circuit as configured (shapeCircuits), if it is. */
  private circuitOf(shape: Shape): ShapeCircuit | undefined {
    const key = shapeKey(shape);
    return this.opts.shapeCircuits?.find((c) => shapeKey(c.shape) === key);
  }

  /** The job for batch n: a shape other than the first names its circuit, so the prover picks the right keys. */
  private proofJob(n: number, task: ProofTask): ProofJob {
    const job = { batchNumber: n, circuitInput: task.circuitInput, publicSignals: task.publicSignals };
    const circuitHash = this.circuitOf(task.shape)?.circuitHash;
    if (circuitHash) return { ...job, circuitHash };
    if (shapeKey(task.shape) !== shapeKey(this.firstShape)) throw new Error(`no circuit is configured for shape ${shapeKey(task.shape)} (shapeCircuits)`);
    return job;
  }

  private proofVerifier(shape: Shape): Promise<ProofVerifier> {
    const key = shapeKey(shape);
    let v = this.verifiers.get(key);
    if (!v) {
      v = (async () => {
        const first = key === shapeKey(this.firstShape);
        const vkeyPath = this.circuitOf(shape)?.vkeyPath ?? (first ? (this.opts.vkeyPath ?? this.opts.prover.artifacts?.vkeyPath) : undefined);
        if (!vkeyPath) throw new Error(`no verification key for shape ${key}: the sequencer accepts no proof it cannot verify (set vkeyPath or shapeCircuits)`);
        return createProofVerifier(vkeyPath);
      })();
      this.verifiers.set(key, v);
      // A failed load (missing file) is retried on the next proof rather than cached.
      v.catch(() => this.verifiers.delete(key));
    }
    return v;
  }

  // ---------------------------------------------------------------- submission

  /** Submits proven batches in order, one at a time. */
  private pumpSubmissions(): void {
    if (!this.started || this.stopped || this.halted || !this.proving) return;
    if (this.submitRunning) {
      // The running loop may already have looked past the batch that just became ready.
      this.pumpRequested = true;
      return;
    }
    this.pumpRequested = false;
    this.submitRunning = (async () => {
      while (!this.stopped && !this.halted) {
        const row = this.store.getBatch(this.finalized + 1);
        if (!row || (row.status !== "proven" && row.status !== "submitted")) return;
        const waitMs = await this.submitOne(row);
        if (waitMs !== null) {
          this.later(waitMs, () => this.pumpSubmissions());
          return;
        }
      }
    })()
      .catch((e) => {
        // RPC trouble and the like: try again later; contract reverts halt inside submitOne.
        this.log({ level: "warn", msg: "batch.submit_error", batch: this.finalized + 1, error: errorMessage(e), retryInMs: SUBMIT_RETRY_MS });
        this.later(SUBMIT_RETRY_MS, () => this.pumpSubmissions());
      })
      .finally(() => {
        this.submitRunning = null;
        if (this.pumpRequested) this.pumpSubmissions();
      });
  }

  /**
   * Sends batch `row` (or adopts it, or halts). Returns null when done with it, or how long to wait
   * (ms) before trying again: the chain's block.timestamp has not reached the batch's timestamp yet.
   */
  private async submitOne(row: BatchRow): Promise<number | null> {
    const n = row.number;
    const chain = await chainState(this.l1);
    if (this.stopped) return null;
    if (chain.frozen) {
      this.halt(FROZEN_REASON(chain.batchNumber), n);
      return null;
    }
    if (chain.batchNumber >= n) {
      // Already on L1 (e.g. sent before a crash, receipt never recorded): adopt it if it is ours.
      await this.adopt(row);
      return null;
    }
    if (chain.batchNumber < n - 1) {
      this.halt(`L1 is at batch ${chain.batchNumber}, but batch ${n - 1} is finalized in the database`, n);
      return null;
    }
    if (row.status === "submitted" && row.l1TxHash) {
      // Sent by an earlier run and not yet seen on chain: wait for it before sending a second one.
      const receipt = await this.l1.clients.publicClient.waitForTransactionReceipt({ hash: row.l1TxHash, timeout: 60_000 }).catch(() => null);
      if (this.stopped) return null;
      if (receipt?.status === "success") return null; // the next round sees it in batchNumber
    }
    if (!row.proof) throw new Error(`batch ${n} has no proof`);
    // The contract takes a batch only while timestamp ≤ block.timestamp ≤ timestamp + maxTimestampLag.
    const chainTime = await nextBlockTime(this.l1);
    if (this.stopped) return null;
    if (row.timestamp > chainTime) return this.waitForChainTime(n, row.timestamp, chainTime);
    if (row.timestamp + this.maxTimestampLag < chainTime) {
      const reason = `batch ${n} is dated ${row.timestamp}, more than maxTimestampLag (${this.maxTimestampLag} s) before the chain's time ${chainTime}: the contract refuses it (TimestampTooOld), and every batch built on it; proving fell behind by more than the lag, and the batch must be rebuilt with a new timestamp`;
      this.store.markFailed(n, reason, Date.now());
      this.log({ level: "error", msg: "batch.too_old", batch: n, timestamp: row.timestamp, chainTime, maxTimestampLag: this.maxTimestampLag });
      this.halt(reason, n);
      return null;
    }
    const args: SubmitArgs = { newRoot: BigInt(row.newRoot), timestamp: row.timestamp, depositCount: row.depositCount, pubdata: row.pubdata, proof: row.proof };
    const t0 = performance.now();
    let hash: Hex;
    try {
      hash = await sendSubmitBatch(this.l1, withShape(this.params, this.shapeOfRow(row)), args);
    } catch (e) {
      const revert = decodeRevert(e);
      if (!revert) throw e;
      if (this.stopped) return null;
      // The simulation's block was older than the batch after all: wait for the chain's clock.
      if (revert.errorName === "TimestampInFuture") return this.waitForChainTime(n, row.timestamp, Number(revert.args[1]));
      await this.failSubmission(row, args, formatRevert(revert));
      return null;
    }
    if (this.stopped) return null;
    this.store.markSubmitted(n, hash, Date.now());
    this.log({ msg: "batch.submitted", batch: n, l1TxHash: hash });
    const receipt = await this.l1.clients.publicClient.waitForTransactionReceipt({ hash });
    if (this.stopped) return null;
    if (receipt.status !== "success") {
      // Passed simulation, reverted on chain: the L1 state changed in between (e.g. someone else's batch).
      await this.failSubmission(row, args, `submitBatch reverted on chain in block ${receipt.blockNumber} (tx ${hash})`);
      return null;
    }
    this.finalize(row, hash, { ...row.timings, submitMs: Math.round(performance.now() - t0), gasUsed: receipt.gasUsed.toString() }, false);
    return null;
  }

  /** The chain's clock is behind batch `n`'s timestamp: log it once, retry when it should have caught up (1–5 s). */
  private waitForChainTime(n: number, timestamp: number, chainTime: number): number {
    if (this.waitingForChainTime !== n) {
      this.waitingForChainTime = n;
      this.log({ msg: "batch.waiting_for_l1_time", batch: n, timestamp, chainTime });
    }
    return 1_000 * Math.min(Math.max(timestamp - chainTime, 1), 5);
  }

  private async failSubmission(row: BatchRow, args: SubmitArgs, reason: string): Promise<void> {
    let detail = reason;
    if (reason.startsWith("InvalidProof")) {
      // Tell a wrong proof apart from a public-input disagreement between core and the contract.
      const onChain = await contractPublicInputs(this.l1, withShape(this.params, this.shapeOfRow(row)), args).catch(() => null);
      const ours = publicSignalsOf(fromHex(row.pubdata));
      if (onChain !== null && onChain.join(",") !== ours.join(",")) detail += `; contract public inputs [${onChain.join(", ")}] != ours [${ours.join(", ")}]`;
    }
    if (this.stopped) return;
    this.store.markFailed(row.number, detail, Date.now());
    this.log({ level: "error", msg: "batch.submit_reverted", batch: row.number, error: detail });
    this.halt(`submitBatch ${row.number} reverted: ${detail}`, row.number);
  }

  private finalize(row: BatchRow, l1TxHash: Hex | null, timings: BatchTimings, alreadyOnChain: boolean): void {
    this.store.markFinalized(row.number, l1TxHash, timings, Date.now());
    this.desk.fillsChanged(this.store.tradesOfBatch(row.number), "finalized");
    this.finalized = row.number;
    this.log({ msg: "batch.finalized", batch: row.number, l1TxHash, alreadyOnChain, txs: row.txHashes.length, ...timings });
  }

  // ---------------------------------------------------------------- reads

  status(): StatusView {
    const finalizedRow = this.finalized > 0 ? this.store.getBatch(this.finalized) : null;
    return {
      chainId: this.chainId,
      rollupAddress: this.rollup,
      stateRoot: fieldToHex(this.state.root),
      latestBatch: this.lastBatch,
      finalizedBatch: this.finalized,
      finalizedRoot: finalizedRow?.newRoot ?? this.genesisRoot,
      pendingTxs: this.pending.length,
      queue: { length: this.queueTip.length, consumed: this.consumed },
      params: { ...this.params },
      prover: { pending: this.opts.prover.pending, proving: [...this.inProver].sort((a, b) => a - b) },
      l1: { block: this.l1Block.toString(), timestamp: this.l1Time },
      proving: backlogView(this.proving ? this.capacity() : { backlogBatches: 0, proofS: null, workers: 1 }, this.maxBacklogS),
      forced: this.forced
        ? { pending: this.forced.pending, oldestQueueIndex: this.forced.queueIndex, deadlineBlock: this.forced.deadline.toString(), blocksLeft: Number(this.forced.deadline - this.l1Block) }
        : { pending: 0, oldestQueueIndex: null, deadlineBlock: null, blocksLeft: null },
      halted: this.halted,
    };
  }

  async proverView(): Promise<ProverView> {
    let live: ProverStatus | null = null;
    let liveError: string | null = null;
    const prover = this.opts.prover;
    if (this.proving && prover.status) {
      try {
        // Bounded by the prover itself (the cluster prover gives Redis 2 s).
        live = await prover.status();
      } catch (e) {
        liveError = errorMessage(e);
      }
    }
    if (this.stopped) throw new ApiError(500, "internal", "sequencer is stopped");
    return buildProverView({
      mode: !this.proving ? "disabled" : (live?.mode ?? "embedded"),
      circuitHash: live?.circuitHash ?? prover.artifacts?.circuitHash ?? null,
      backend: live?.backend ?? null,
      counts: this.store.jobs.counts(),
      jobs: this.store.jobs.latest(RECENT_JOBS),
      batchBuiltAt: this.store.batchBuiltTimes(200),
      live,
      liveError,
      now: Date.now(),
      uncut: this.uncut(),
    });
  }

  account(id: number): AccountInfo {
    if (!Number.isSafeInteger(id) || id < 0 || id >= this.state.accountCapacity) {
      throw notFound(`account ${id} is outside the account tree (0..${this.state.accountCapacity - 1})`);
    }
    return accountInfo(this.state.account(id), this.view.account(id));
  }

  tx(hash: Hex): TxInfo | null {
    const r = this.store.getTx(hash);
    return r ? txInfo(r) : null;
  }

  batch(n: number): BatchInfo | null {
    const r = this.store.getBatch(n);
    return r ? batchInfo(r) : null;
  }

  // ---------------------------------------------------------------- trading

  submitOrder(body: unknown): Promise<OrderAccepted> {
    // Checked before the signature is verified and again in the desk's synchronous step.
    return this.desk.submitOrder(body, () => {
      if (this.stopped) throw new ApiError(500, "internal", "sequencer is stopped");
      if (this.pending.length >= this.maxPendingTxs) throw new ApiError(429, "too_many_pending", `${this.pending.length} operations are waiting for a batch; retry later`);
      this.admitLoad();
    });
  }

  cancelOrder(hash: Hex, body: unknown): Promise<OrderInfo> {
    return this.desk.cancelOrder(hash, body, () => {
      if (this.stopped) throw new ApiError(500, "internal", "sequencer is stopped");
    });
  }

  order(hash: Hex): OrderInfo | null {
    return this.desk.order(hash);
  }

  accountOrders(id: number, limit: number): OrderInfo[] {
    if (!Number.isSafeInteger(id) || id < 0 || id >= this.state.accountCapacity) {
      throw notFound(`account ${id} is outside the account tree (0..${this.state.accountCapacity - 1})`);
    }
    return this.desk.accountOrders(id, limit);
  }

  get expiryMarginS(): number {
    return this.opts.expiryMarginS ?? DEFAULTS.expiryMarginS;
  }

  markets(): MarketInfo[] {
    return this.desk.markets();
  }

  book(market: string, depth: number): BookInfo | null {
    return this.desk.book(market, depth);
  }

  trades(market: string, limit: number): TradeInfo[] | null {
    return this.desk.trades(market, limit);
  }
}

/** A batch's operations in execution order (its L2 txs, then its fills) with their circuit slots. */
function batchOps(chosen: readonly PendingTx[], l2Slots: number): { txHashes: Hex[]; slots: number[] } {
  const txs = chosen.filter((c) => c.tx.type !== "fill");
  const fills = chosen.filter((c) => c.tx.type === "fill");
  return { txHashes: [...txs, ...fills].map((c) => c.hash), slots: [...txs.map((_, i) => i), ...fills.map((_, j) => l2Slots + j)] };
}

/** A proof that came back but failed the sequencer's own verification. */
class ProofRejected extends Error {
  constructor(message: string, readonly worker: string) {
    super(message);
    this.name = "ProofRejected";
  }
}

function toTxRejection(r: Rejection): TxRejection {
  return { hash: r.item.hash, code: r.code, message: r.message };
}
