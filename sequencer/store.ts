/**
 * The sequencer's durable state in SQLite (better-sqlite3, synchronous API).
 *
 * Durability: WAL journal with synchronous=FULL, so every committed transaction is on disk when
 * its statement returns. The acceptance path commits the tx row before the API answers 202,
 * hence no accepted transaction is lost, across process crashes or power loss. The other writes
 * are rare (one per batch step, one per L1 poll with new records), so FULL costs nothing there.
 * Order requests are the exception (one per order, at thousands per second): they commit with
 * synchronous=NORMAL and the desk answers only when `durable` resolves, after an fsync of the WAL
 * that one group of commits shares (sequencer/wal-sync.ts), so an acknowledged order is as durable
 * as under FULL and an fsync no longer blocks the event loop once per order.
 *
 * Every multi-row change (a batch and the statuses of its txs and queue records; queue records and
 * the scanned-block cursor) is one SQLite transaction: a crash leaves either all of it or none.
 * Values: bigints as decimal TEXT, roots/hashes as 0x-hex TEXT, times as ms since the epoch.
 */
import * as nodePath from "node:path";
import Database from "better-sqlite3";
import type { Groth16Proof } from "../prover/types";
import type { QueueRecord } from "../core/ops/types";
import type { WireOp, WireOrder } from "./wire";
import { PROOF_JOBS_SCHEMA, ProofJobs } from "./proof-jobs";
import { WalSync } from "./wal-sync";
import { parseShapeKey, shapeKey, type Shape } from "../core/params";

export type Hex = `0x${string}`;
export type TxStatus = "accepted" | "batched" | "proven" | "finalized" | "rejected";
export type BatchStatus = "built" | "proving" | "proven" | "submitted" | "finalized" | "failed";

export interface TxRow {
  readonly seq: number;
  readonly hash: Hex;
  readonly body: WireOp;
  readonly status: TxStatus;
  readonly reasonCode: string | null;
  readonly reason: string | null;
  readonly batch: number | null;
  readonly slot: number | null;
  readonly acceptedAt: number;
  readonly batchedAt: number | null;
  readonly provenAt: number | null;
  readonly finalizedAt: number | null;
  readonly rejectedAt: number | null;
}

/** Durations and worker info collected along a batch's life (all optional). */
export interface BatchTimings {
  buildMs?: number;
  witnessMs?: number;
  proveMs?: number;
  verifyMs?: number;
  /** Wall time from hand-over to the prover until the verified proof came back. */
  provingWallMs?: number;
  worker?: string;
  submitMs?: number;
  gasUsed?: string;
  proveAttempts?: number;
}

export interface BatchRow {
  readonly number: number;
  readonly status: BatchStatus;
  readonly timestamp: number;
  readonly queueStart: number;
  readonly depositCount: number;
  readonly txHashes: Hex[];
  readonly feeTokens: number[];
  readonly oldRoot: Hex;
  readonly newRoot: Hex;
  readonly queueHashBefore: Hex;
  readonly queueHashAfter: Hex;
  /** Decimal string (a field element < 2^253). */
  readonly publicInput: string;
  readonly pubdata: Hex;
  /** The batch's shape (PROTOCOL.md §5.5); null for batches stored before shapes: the deployment's first. */
  readonly shape: Shape | null;
  readonly proof: Groth16Proof | null;
  readonly l1TxHash: Hex | null;
  readonly error: string | null;
  readonly timings: BatchTimings;
  readonly builtAt: number;
  readonly provingAt: number | null;
  readonly provenAt: number | null;
  readonly submittedAt: number | null;
  readonly finalizedAt: number | null;
  readonly failedAt: number | null;
}

export interface QueueRow {
  readonly index: number;
  readonly record: QueueRecord;
  readonly sender: Hex;
  /** queueHash[index + 1], as the contract emitted it. */
  readonly queueHash: bigint;
  readonly blockNumber: number;
  readonly txHash: Hex;
  readonly logIndex: number;
  readonly seenAt: number;
  /** The batch that consumed it, once one did. */
  readonly batch: number | null;
}

export interface NewBatch {
  readonly number: number;
  readonly timestamp: number;
  readonly queueStart: number;
  readonly depositCount: number;
  /** The batch's operations in execution order: its L2 txs, then its fills. */
  readonly txHashes: readonly Hex[];
  /** The circuit slot of each: L2 slot i, or l2Slots + j for fill slot j. */
  readonly slots: readonly number[];
  readonly feeTokens: readonly number[];
  readonly oldRoot: Hex;
  readonly newRoot: Hex;
  readonly queueHashBefore: Hex;
  readonly queueHashAfter: Hex;
  readonly publicInput: string;
  readonly pubdata: Hex;
  readonly shape: Shape;
  readonly builtAt: number;
  readonly timings: BatchTimings;
}

export interface TxRejection {
  readonly hash: Hex;
  readonly code: string;
  readonly message: string;
}

/**
 * 3: proof_jobs (sequencer/proof-jobs.ts); 4: batches.shape. Older databases are upgraded in place:
 * the table and the column are added.
 */
const SCHEMA_VERSION = 4;

export type OrderStatus = "open" | "partially_filled" | "filled" | "cancelled" | "expired" | "rejected";

/** An order accepted into the book (rejected orders are answered, never stored). */
export interface OrderRow {
  readonly hash: Hex;
  /** The engine's acceptance sequence (time priority). */
  readonly seq: number;
  readonly market: string;
  readonly account: number;
  readonly body: WireOrder;
  readonly timeInForce: "gtc" | "ioc" | "post_only";
  readonly status: OrderStatus;
  readonly reason: string | null;
  readonly filled: bigint;
  readonly acceptedAt: number;
  readonly updatedAt: number;
}

export interface NewOrder {
  readonly hash: Hex;
  readonly seq: number;
  readonly market: string;
  readonly body: WireOrder;
  readonly timeInForce: OrderRow["timeInForce"];
  readonly acceptedAt: number;
}

export interface OrderUpdate {
  readonly hash: Hex;
  readonly status: OrderStatus;
  readonly reason: string | null;
  readonly filled: bigint;
}

/** One trade: the engine's match, stored with the fill operation that settles it. */
export interface TradeRow {
  readonly seq: number;
  readonly market: string;
  readonly fillHash: Hex;
  readonly makerHash: Hex;
  readonly takerHash: Hex;
  readonly makerAccount: number;
  readonly takerAccount: number;
  readonly takerSide: "buy" | "sell";
  readonly price: string;
  readonly baseAmount: bigint;
  readonly quoteAmount: bigint;
  readonly sellFee: bigint;
  readonly buyFee: bigint;
  readonly at: number;
}

/** A trade with the lifecycle of its fill operation. */
export interface TradeWithStatus extends TradeRow {
  readonly status: TxStatus;
  readonly batch: number | null;
}

/** What one accepted order request changes, written in one transaction. */
export interface OrderWrite {
  readonly order: NewOrder | null;
  readonly fills: readonly { readonly hash: Hex; readonly body: WireOp; readonly trade: TradeRow }[];
  readonly updates: readonly OrderUpdate[];
  readonly at: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS txs (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,  -- acceptance order
  hash         TEXT NOT NULL UNIQUE,
  type         TEXT NOT NULL CHECK (type IN ('transfer', 'withdraw', 'fill')),
  body         TEXT NOT NULL,                      -- canonical wire JSON (sequencer/wire.ts)
  status       TEXT NOT NULL CHECK (status IN ('accepted', 'batched', 'proven', 'finalized', 'rejected')),
  reason_code  TEXT,
  reason       TEXT,
  batch        INTEGER,
  slot         INTEGER,
  accepted_at  INTEGER NOT NULL,
  batched_at   INTEGER,
  proven_at    INTEGER,
  finalized_at INTEGER,
  rejected_at  INTEGER
);
CREATE INDEX IF NOT EXISTS txs_status ON txs (status, seq);
CREATE INDEX IF NOT EXISTS txs_batch ON txs (batch, slot);
CREATE TABLE IF NOT EXISTS batches (
  number            INTEGER PRIMARY KEY,
  status            TEXT NOT NULL CHECK (status IN ('built', 'proving', 'proven', 'submitted', 'finalized', 'failed')),
  timestamp         INTEGER NOT NULL,
  queue_start       INTEGER NOT NULL,
  deposit_count     INTEGER NOT NULL,
  tx_hashes         TEXT NOT NULL,                 -- JSON array, slot order
  fee_tokens        TEXT NOT NULL,                 -- JSON array
  old_root          TEXT NOT NULL,
  new_root          TEXT NOT NULL,
  queue_hash_before TEXT NOT NULL,
  queue_hash_after  TEXT NOT NULL,
  public_input      TEXT NOT NULL,
  pubdata           TEXT NOT NULL,
  shape             TEXT,                          -- d<D>-n<N>-m<M>; NULL: stored before shapes (the deployment's first)
  proof             TEXT,
  l1_tx_hash        TEXT,
  error             TEXT,
  timings           TEXT NOT NULL DEFAULT '{}',
  built_at          INTEGER NOT NULL,
  proving_at        INTEGER,
  proven_at         INTEGER,
  submitted_at      INTEGER,
  finalized_at      INTEGER,
  failed_at         INTEGER
);
CREATE TABLE IF NOT EXISTS orders (
  hash          TEXT PRIMARY KEY,
  seq           INTEGER NOT NULL UNIQUE,             -- the engine's acceptance order
  market        TEXT NOT NULL,
  account       INTEGER NOT NULL,
  body          TEXT NOT NULL,                       -- canonical wire JSON of the signed order
  time_in_force TEXT NOT NULL,
  status        TEXT NOT NULL,
  reason        TEXT,
  filled        TEXT NOT NULL,
  valid_until   INTEGER NOT NULL,
  accepted_at   INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_open ON orders (status, seq);
CREATE INDEX IF NOT EXISTS orders_account ON orders (account, seq);
CREATE TABLE IF NOT EXISTS trades (
  seq           INTEGER PRIMARY KEY,                 -- the engine's trade sequence
  market        TEXT NOT NULL,
  fill_hash     TEXT NOT NULL UNIQUE REFERENCES txs (hash),
  maker_hash    TEXT NOT NULL,
  taker_hash    TEXT NOT NULL,
  maker_account INTEGER NOT NULL,
  taker_account INTEGER NOT NULL,
  taker_side    TEXT NOT NULL,
  price         TEXT NOT NULL,
  base_amount   TEXT NOT NULL,
  quote_amount  TEXT NOT NULL,
  sell_fee      TEXT NOT NULL,
  buy_fee       TEXT NOT NULL,
  at            INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS trades_market ON trades (market, seq);
CREATE INDEX IF NOT EXISTS trades_maker ON trades (maker_hash);
CREATE INDEX IF NOT EXISTS trades_taker ON trades (taker_hash);
CREATE TABLE IF NOT EXISTS queue (
  idx          INTEGER PRIMARY KEY,
  kind         INTEGER NOT NULL,
  account_id   INTEGER NOT NULL,
  token        INTEGER NOT NULL,
  amount       TEXT NOT NULL,
  ax           TEXT NOT NULL,
  ay           TEXT NOT NULL,
  sender       TEXT NOT NULL,
  queue_hash   TEXT NOT NULL,
  block_number INTEGER NOT NULL,
  tx_hash      TEXT NOT NULL,
  log_index    INTEGER NOT NULL,
  seen_at      INTEGER NOT NULL,
  batch        INTEGER
);
`;

interface TxDbRow {
  seq: number;
  hash: string;
  body: string;
  status: TxStatus;
  reason_code: string | null;
  reason: string | null;
  batch: number | null;
  slot: number | null;
  accepted_at: number;
  batched_at: number | null;
  proven_at: number | null;
  finalized_at: number | null;
  rejected_at: number | null;
}

interface BatchDbRow {
  number: number;
  shape: string | null;
  status: BatchStatus;
  timestamp: number;
  queue_start: number;
  deposit_count: number;
  tx_hashes: string;
  fee_tokens: string;
  old_root: string;
  new_root: string;
  queue_hash_before: string;
  queue_hash_after: string;
  public_input: string;
  pubdata: string;
  proof: string | null;
  l1_tx_hash: string | null;
  error: string | null;
  timings: string;
  built_at: number;
  proving_at: number | null;
  proven_at: number | null;
  submitted_at: number | null;
  finalized_at: number | null;
  failed_at: number | null;
}

interface QueueDbRow {
  idx: number;
  kind: number;
  account_id: number;
  token: number;
  amount: string;
  ax: string;
  ay: string;
  sender: string;
  queue_hash: string;
  block_number: number;
  tx_hash: string;
  log_index: number;
  seen_at: number;
  batch: number | null;
}

const toTx = (r: TxDbRow): TxRow => ({
  seq: r.seq,
  hash: r.hash as Hex,
  body: JSON.parse(r.body) as WireOp,
  status: r.status,
  reasonCode: r.reason_code,
  reason: r.reason,
  batch: r.batch,
  slot: r.slot,
  acceptedAt: r.accepted_at,
  batchedAt: r.batched_at,
  provenAt: r.proven_at,
  finalizedAt: r.finalized_at,
  rejectedAt: r.rejected_at,
});

const toBatch = (r: BatchDbRow): BatchRow => ({
  number: r.number,
  status: r.status,
  timestamp: r.timestamp,
  queueStart: r.queue_start,
  depositCount: r.deposit_count,
  txHashes: JSON.parse(r.tx_hashes) as Hex[],
  feeTokens: JSON.parse(r.fee_tokens) as number[],
  oldRoot: r.old_root as Hex,
  newRoot: r.new_root as Hex,
  queueHashBefore: r.queue_hash_before as Hex,
  queueHashAfter: r.queue_hash_after as Hex,
  publicInput: r.public_input,
  pubdata: r.pubdata as Hex,
  shape: r.shape === null ? null : parseShapeKey(r.shape),
  proof: r.proof === null ? null : (JSON.parse(r.proof) as Groth16Proof),
  l1TxHash: r.l1_tx_hash as Hex | null,
  error: r.error,
  timings: JSON.parse(r.timings) as BatchTimings,
  builtAt: r.built_at,
  provingAt: r.proving_at,
  provenAt: r.proven_at,
  submittedAt: r.submitted_at,
  finalizedAt: r.finalized_at,
  failedAt: r.failed_at,
});

const toQueue = (r: QueueDbRow): QueueRow => ({
  index: r.idx,
  record: {
    kind: r.kind as QueueRecord["kind"],
    accountId: r.account_id,
    token: r.token,
    amount: BigInt(r.amount),
    ax: BigInt(r.ax),
    ay: BigInt(r.ay),
  },
  sender: r.sender as Hex,
  queueHash: BigInt(r.queue_hash),
  blockNumber: r.block_number,
  txHash: r.tx_hash as Hex,
  logIndex: r.log_index,
  seenAt: r.seen_at,
  batch: r.batch,
});

interface OrderDbRow {
  hash: string;
  seq: number;
  market: string;
  account: number;
  body: string;
  time_in_force: string;
  status: OrderStatus;
  reason: string | null;
  filled: string;
  valid_until: number;
  accepted_at: number;
  updated_at: number;
}

const toOrder = (r: OrderDbRow): OrderRow => ({
  hash: r.hash as Hex,
  seq: r.seq,
  market: r.market,
  account: r.account,
  body: JSON.parse(r.body) as WireOrder,
  timeInForce: r.time_in_force as OrderRow["timeInForce"],
  status: r.status,
  reason: r.reason,
  filled: BigInt(r.filled),
  acceptedAt: r.accepted_at,
  updatedAt: r.updated_at,
});

interface TradeDbRow {
  seq: number;
  market: string;
  fill_hash: string;
  maker_hash: string;
  taker_hash: string;
  maker_account: number;
  taker_account: number;
  taker_side: string;
  price: string;
  base_amount: string;
  quote_amount: string;
  sell_fee: string;
  buy_fee: string;
  at: number;
  status: TxStatus;
  batch: number | null;
}

const toTrade = (r: TradeDbRow): TradeWithStatus => ({
  seq: r.seq,
  market: r.market,
  fillHash: r.fill_hash as Hex,
  makerHash: r.maker_hash as Hex,
  takerHash: r.taker_hash as Hex,
  makerAccount: r.maker_account,
  takerAccount: r.taker_account,
  takerSide: r.taker_side as "buy" | "sell",
  price: r.price,
  baseAmount: BigInt(r.base_amount),
  quoteAmount: BigInt(r.quote_amount),
  sellFee: BigInt(r.sell_fee),
  buyFee: BigInt(r.buy_fee),
  at: r.at,
  status: r.status,
  batch: r.batch,
});

const TRADE_SELECT = "SELECT t.*, x.status AS status, x.batch AS batch FROM trades t JOIN txs x ON x.hash = t.fill_hash";

type Statements = ReturnType<typeof prepare>;

/** The prepared statements, typed by inference: private to this module. */
// eslint-disable-next-line @typescript-eslint/explicit-function-return-type
function prepare(db: Database.Database) {
  return {
    metaGet: db.prepare<[string], { value: string }>("SELECT value FROM meta WHERE key = ?"),
    metaSet: db.prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
    txInsert: db.prepare(
      "INSERT INTO txs (hash, type, body, status, accepted_at) VALUES (@hash, @type, @body, 'accepted', @acceptedAt)",
    ),
    txGet: db.prepare<[string], TxDbRow>("SELECT * FROM txs WHERE hash = ?"),
    txExists: db.prepare<[string], { one: number }>("SELECT 1 AS one FROM txs WHERE hash = ?"),
    txsByStatus: db.prepare<[TxStatus], TxDbRow>("SELECT * FROM txs WHERE status = ? ORDER BY seq"),
    txsOfBatch: db.prepare<[number], TxDbRow>("SELECT * FROM txs WHERE batch = ? ORDER BY slot"),
    txCount: db.prepare<[TxStatus], { n: number }>("SELECT COUNT(*) AS n FROM txs WHERE status = ?"),
    txBatch: db.prepare(
      "UPDATE txs SET status = 'batched', batch = @batch, slot = @slot, batched_at = @at WHERE hash = @hash AND status = 'accepted'",
    ),
    txReject: db.prepare(
      "UPDATE txs SET status = 'rejected', reason_code = @code, reason = @message, rejected_at = @at WHERE hash = @hash AND status = 'accepted'",
    ),
    txsProven: db.prepare("UPDATE txs SET status = 'proven', proven_at = @at WHERE batch = @batch AND status = 'batched'"),
    txsFinalized: db.prepare(
      "UPDATE txs SET status = 'finalized', finalized_at = @at WHERE batch = @batch AND status IN ('batched', 'proven')",
    ),
    batchInsert: db.prepare(`INSERT INTO batches (number, status, timestamp, queue_start, deposit_count, tx_hashes, fee_tokens,
        old_root, new_root, queue_hash_before, queue_hash_after, public_input, pubdata, shape, timings, built_at)
      VALUES (@number, 'built', @timestamp, @queueStart, @depositCount, @txHashes, @feeTokens,
        @oldRoot, @newRoot, @queueHashBefore, @queueHashAfter, @publicInput, @pubdata, @shape, @timings, @builtAt)`),
    batchGet: db.prepare<[number], BatchDbRow>("SELECT * FROM batches WHERE number = ?"),
    batchesFrom: db.prepare<[number], BatchDbRow>("SELECT * FROM batches WHERE number >= ? ORDER BY number"),
    batchLatest: db.prepare<[], { n: number | null }>("SELECT MAX(number) AS n FROM batches"),
    batchBuiltTimes: db.prepare<[number], { built_at: number }>("SELECT built_at FROM batches ORDER BY number DESC LIMIT ?"),
    batchLatestWith: db.prepare<[BatchStatus], { n: number | null }>("SELECT MAX(number) AS n FROM batches WHERE status = ?"),
    batchesWith: db.prepare<[BatchStatus], BatchDbRow>("SELECT * FROM batches WHERE status = ? ORDER BY number"),
    batchProving: db.prepare("UPDATE batches SET status = 'proving', proving_at = @at, error = NULL WHERE number = @number AND status IN ('built', 'proving')"),
    batchReset: db.prepare("UPDATE batches SET status = @status WHERE number = @number"),
    batchProven: db.prepare(
      "UPDATE batches SET status = 'proven', proof = @proof, proven_at = @at, timings = @timings, error = NULL WHERE number = @number",
    ),
    batchSubmitted: db.prepare(
      "UPDATE batches SET status = 'submitted', l1_tx_hash = @l1TxHash, submitted_at = @at WHERE number = @number",
    ),
    batchFinalized: db.prepare(
      "UPDATE batches SET status = 'finalized', l1_tx_hash = COALESCE(@l1TxHash, l1_tx_hash), finalized_at = @at, timings = @timings, error = NULL WHERE number = @number",
    ),
    batchFailed: db.prepare("UPDATE batches SET status = 'failed', error = @error, failed_at = @at WHERE number = @number"),
    batchError: db.prepare("UPDATE batches SET error = @error, timings = @timings WHERE number = @number"),
    queueInsert: db.prepare(`INSERT INTO queue (idx, kind, account_id, token, amount, ax, ay, sender, queue_hash, block_number, tx_hash, log_index, seen_at)
      VALUES (@idx, @kind, @accountId, @token, @amount, @ax, @ay, @sender, @queueHash, @blockNumber, @txHash, @logIndex, @seenAt)`),
    queueRange: db.prepare<[number, number], QueueDbRow>("SELECT * FROM queue WHERE idx >= ? AND idx < ? ORDER BY idx"),
    queueGet: db.prepare<[number], QueueDbRow>("SELECT * FROM queue WHERE idx = ?"),
    queueLength: db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM queue"),
    queueConsume: db.prepare("UPDATE queue SET batch = @batch WHERE idx >= @from AND idx < @to"),
    orderInsert: db.prepare(`INSERT INTO orders (hash, seq, market, account, body, time_in_force, status, filled, valid_until, accepted_at, updated_at)
      VALUES (@hash, @seq, @market, @account, @body, @timeInForce, 'open', '0', @validUntil, @acceptedAt, @acceptedAt)`),
    orderUpdate: db.prepare("UPDATE orders SET status = @status, reason = @reason, filled = @filled, updated_at = @at WHERE hash = @hash"),
    orderGet: db.prepare<[string], OrderDbRow>("SELECT * FROM orders WHERE hash = ?"),
    orderExists: db.prepare<[string], { one: number }>("SELECT 1 AS one FROM orders WHERE hash = ?"),
    ordersOpen: db.prepare<[], OrderDbRow>("SELECT * FROM orders WHERE status IN ('open', 'partially_filled') ORDER BY seq"),
    ordersRetired: db.prepare<[number], OrderDbRow>("SELECT * FROM orders WHERE status NOT IN ('open', 'partially_filled') AND valid_until >= ? ORDER BY seq"),
    ordersOfAccount: db.prepare<[number, number], OrderDbRow>("SELECT * FROM orders WHERE account = ? ORDER BY seq DESC LIMIT ?"),
    ordersMaxSeq: db.prepare<[], { n: number | null }>("SELECT MAX(seq) AS n FROM orders"),
    tradeInsert: db.prepare(`INSERT INTO trades (seq, market, fill_hash, maker_hash, taker_hash, maker_account, taker_account, taker_side, price,
        base_amount, quote_amount, sell_fee, buy_fee, at)
      VALUES (@seq, @market, @fillHash, @makerHash, @takerHash, @makerAccount, @takerAccount, @takerSide, @price,
        @baseAmount, @quoteAmount, @sellFee, @buyFee, @at)`),
    tradesOfMarket: db.prepare<[string, number], TradeDbRow>(`${TRADE_SELECT} WHERE t.market = ? ORDER BY t.seq DESC LIMIT ?`),
    tradesOfOrder: db.prepare<[string, string], TradeDbRow>(`${TRADE_SELECT} WHERE t.maker_hash = ? OR t.taker_hash = ? ORDER BY t.seq`),
    tradeOfFill: db.prepare<[string], TradeDbRow>(`${TRADE_SELECT} WHERE t.fill_hash = ?`),
    tradesOfBatch: db.prepare<[number], TradeDbRow>(`${TRADE_SELECT} WHERE x.batch = ? ORDER BY t.seq`),
    tradesMaxSeq: db.prepare<[], { n: number | null }>("SELECT MAX(seq) AS n FROM trades"),
  };
}

export class Store {
  private readonly db: Database.Database;
  private readonly st: Statements;
  /** The proof-job lifecycle of each batch. */
  readonly jobs: ProofJobs;
  /** Group fsync of the WAL for order requests; null for a database without a WAL file (in memory). */
  private readonly walSync: WalSync | null;
  private readonly syncNormal: Database.Statement;
  private readonly syncFull: Database.Statement;

  constructor(path: string) {
    this.db = new Database(path);
    const mode = this.db.pragma("journal_mode = WAL", { simple: true });
    this.db.pragma("synchronous = FULL");
    this.syncNormal = this.db.prepare("PRAGMA synchronous = NORMAL");
    this.syncFull = this.db.prepare("PRAGMA synchronous = FULL");
    this.walSync = mode === "wal" && path !== "" && path !== ":memory:" ? new WalSync(`${nodePath.resolve(path)}-wal`) : null;
    this.db.pragma("busy_timeout = 5000");
    const version = this.db.pragma("user_version", { simple: true }) as number;
    if (version !== 0 && version !== 2 && version !== 3 && version !== SCHEMA_VERSION) {
      this.db.close();
      throw new Error(`${path}: schema version ${version}, this sequencer knows ${SCHEMA_VERSION}`);
    }
    // Version 3 → 4: batches gain their shape (older rows keep NULL: the deployment's first shape).
    if (version === 2 || version === 3) {
      const cols = this.db.prepare<[], { name: string }>("PRAGMA table_info(batches)").all();
      if (!cols.some((c) => c.name === "shape")) this.db.exec("ALTER TABLE batches ADD COLUMN shape TEXT");
    }
    this.db.exec(SCHEMA);
    this.db.exec(PROOF_JOBS_SCHEMA);
    this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    this.st = prepare(this.db);
    this.jobs = new ProofJobs(this.db);
  }

  close(): void {
    this.walSync?.close();
    if (this.db.open) this.db.close();
  }

  // ---------------------------------------------------------------- meta

  getMeta(key: string): string | null {
    return this.st.metaGet.get(key)?.value ?? null;
  }

  setMeta(key: string, value: string): void {
    this.st.metaSet.run(key, value);
  }

  // ---------------------------------------------------------------- txs

  /** Durable on return (synchronous=FULL). Throws SQLITE_CONSTRAINT_UNIQUE on a duplicate hash. */
  insertTx(hash: Hex, body: WireOp, acceptedAt: number): number {
    const r = this.st.txInsert.run({ hash, type: body.type, body: JSON.stringify(body), acceptedAt });
    return Number(r.lastInsertRowid);
  }

  hasTx(hash: Hex): boolean {
    return this.st.txExists.get(hash) !== undefined;
  }

  getTx(hash: Hex): TxRow | null {
    const r = this.st.txGet.get(hash);
    return r ? toTx(r) : null;
  }

  txsWithStatus(status: TxStatus): TxRow[] {
    return this.st.txsByStatus.all(status).map(toTx);
  }

  txsOfBatch(batch: number): TxRow[] {
    return this.st.txsOfBatch.all(batch).map(toTx);
  }

  countTxs(status: TxStatus): number {
    return this.st.txCount.get(status)?.n ?? 0;
  }

  rejectTxs(rejections: readonly TxRejection[], at: number): void {
    this.db.transaction(() => {
      for (const r of rejections) this.st.txReject.run({ hash: r.hash, code: r.code, message: r.message, at });
    })();
  }

  // ---------------------------------------------------------------- orders and trades

  /**
   * Everything one order request changed, in one transaction: the new order, the fills it made
   * (each an operation in the txs table, in order, with its trade), and the new status and
   * filled amount of every order it touched. Returns the txs seq of each fill, and `durable`, which
   * resolves once the transaction is on stable storage (rejects if the flush failed): committed
   * with synchronous=NORMAL, made durable by a WAL fsync shared with the other commits of its group.
   * Nothing may acknowledge the request before `durable` resolves.
   */
  writeOrderRequest(w: OrderWrite): { seqs: number[]; durable: Promise<void> } {
    if (!this.walSync) return { seqs: this.writeOrderRows(w), durable: Promise.resolve() };
    this.syncNormal.run();
    let seqs: number[];
    try {
      seqs = this.writeOrderRows(w);
    } finally {
      this.syncFull.run();
    }
    return { seqs, durable: this.walSync.sync() };
  }

  private writeOrderRows(w: OrderWrite): number[] {
    return this.db.transaction(() => {
      if (w.order) {
        const o = w.order;
        this.st.orderInsert.run({ hash: o.hash, seq: o.seq, market: o.market, account: o.body.account, body: JSON.stringify(o.body), timeInForce: o.timeInForce, validUntil: o.body.validUntil, acceptedAt: o.acceptedAt });
      }
      const seqs = w.fills.map((f) => {
        const r = this.st.txInsert.run({ hash: f.hash, type: "fill", body: JSON.stringify(f.body), acceptedAt: w.at });
        const t = f.trade;
        this.st.tradeInsert.run({
          ...t,
          baseAmount: t.baseAmount.toString(),
          quoteAmount: t.quoteAmount.toString(),
          sellFee: t.sellFee.toString(),
          buyFee: t.buyFee.toString(),
        });
        return Number(r.lastInsertRowid);
      });
      for (const u of w.updates) this.st.orderUpdate.run({ hash: u.hash, status: u.status, reason: u.reason, filled: u.filled.toString(), at: w.at });
      return seqs;
    })();
  }

  updateOrders(updates: readonly OrderUpdate[], at: number): void {
    if (updates.length === 0) return;
    this.db.transaction(() => {
      for (const u of updates) this.st.orderUpdate.run({ hash: u.hash, status: u.status, reason: u.reason, filled: u.filled.toString(), at });
    })();
  }

  /** Whether an order with this hash was ever stored (the duplicate check: no row is read). */
  hasOrder(hash: Hex): boolean {
    return this.st.orderExists.get(hash) !== undefined;
  }

  getOrder(hash: Hex): OrderRow | null {
    const r = this.st.orderGet.get(hash);
    return r ? toOrder(r) : null;
  }

  /** Open and partially filled orders, in acceptance order (the book to restore). */
  openOrders(): OrderRow[] {
    return this.st.ordersOpen.all().map(toOrder);
  }

  /** Closed orders that are still valid on-chain at `now` (seconds): their hashes must stay refused. */
  retiredOrders(now: number): OrderRow[] {
    return this.st.ordersRetired.all(now).map(toOrder);
  }

  ordersOfAccount(account: number, limit: number): OrderRow[] {
    return this.st.ordersOfAccount.all(account, limit).map(toOrder);
  }

  maxOrderSeq(): number {
    return this.st.ordersMaxSeq.get()?.n ?? 0;
  }

  maxTradeSeq(): number {
    return this.st.tradesMaxSeq.get()?.n ?? 0;
  }

  /** Newest first. */
  tradesOfMarket(market: string, limit: number): TradeWithStatus[] {
    return this.st.tradesOfMarket.all(market, limit).map(toTrade);
  }

  tradesOfOrder(hash: Hex): TradeWithStatus[] {
    return this.st.tradesOfOrder.all(hash, hash).map(toTrade);
  }

  tradeOfFill(fillHash: Hex): TradeWithStatus | null {
    const r = this.st.tradeOfFill.get(fillHash);
    return r ? toTrade(r) : null;
  }

  tradesOfBatch(batch: number): TradeWithStatus[] {
    return this.st.tradesOfBatch.all(batch).map(toTrade);
  }

  // ---------------------------------------------------------------- batches

  /** Records a built batch, its txs (batched, in slot order), txs rejected while cutting it, and the queue records it consumes. */
  commitBatch(b: NewBatch, rejections: readonly TxRejection[]): void {
    this.db.transaction(() => {
      this.st.batchInsert.run({
        ...b,
        txHashes: JSON.stringify(b.txHashes),
        feeTokens: JSON.stringify(b.feeTokens),
        shape: shapeKey(b.shape),
        timings: JSON.stringify(b.timings),
      });
      b.txHashes.forEach((hash, i) => {
        const r = this.st.txBatch.run({ hash, batch: b.number, slot: b.slots[i], at: b.builtAt });
        if (r.changes !== 1) throw new Error(`tx ${hash} is not an accepted tx`);
      });
      for (const r of rejections) this.st.txReject.run({ hash: r.hash, code: r.code, message: r.message, at: b.builtAt });
      if (b.depositCount > 0) this.st.queueConsume.run({ batch: b.number, from: b.queueStart, to: b.queueStart + b.depositCount });
    })();
  }

  getBatch(n: number): BatchRow | null {
    const r = this.st.batchGet.get(n);
    return r ? toBatch(r) : null;
  }

  /** Batches numbered `from` and up, in order. */
  batchesFrom(from: number): BatchRow[] {
    return this.st.batchesFrom.all(from).map(toBatch);
  }

  batchesWithStatus(status: BatchStatus): BatchRow[] {
    return this.st.batchesWith.all(status).map(toBatch);
  }

  latestBatch(): number {
    return this.st.batchLatest.get()?.n ?? 0;
  }

  /** Highest finalized batch number (0 = genesis). Batches finalize in order. */
  finalizedBatch(): number {
    return this.st.batchLatestWith.get("finalized")?.n ?? 0;
  }

  markProving(n: number, at: number): void {
    this.st.batchProving.run({ number: n, at });
  }

  /** Puts a batch back into `status` (restart: failed/proving batches are retried). */
  resetBatch(n: number, status: BatchStatus): void {
    this.st.batchReset.run({ number: n, status });
  }

  /** The proof is verified and stored: batch and txs proven, job verified, in one transaction. */
  markProven(n: number, proof: Groth16Proof, timings: BatchTimings, at: number, jobTimings: Record<string, number> = {}): void {
    this.db.transaction(() => {
      this.st.batchProven.run({ number: n, proof: JSON.stringify(proof), timings: JSON.stringify(timings), at });
      this.st.txsProven.run({ batch: n, at });
      this.jobs.verified(n, jobTimings, at);
    })();
  }

  markSubmitted(n: number, l1TxHash: Hex, at: number): void {
    this.db.transaction(() => {
      this.st.batchSubmitted.run({ number: n, l1TxHash, at });
      this.jobs.submitted(n, at);
    })();
  }

  markFinalized(n: number, l1TxHash: Hex | null, timings: BatchTimings, at: number): void {
    this.db.transaction(() => {
      this.st.batchFinalized.run({ number: n, l1TxHash, timings: JSON.stringify(timings), at });
      this.st.txsFinalized.run({ batch: n, at });
      this.jobs.finalized(n, timings.submitMs !== undefined ? { submitMs: timings.submitMs } : {}, at);
    })();
  }

  markFailed(n: number, error: string, at: number): void {
    this.db.transaction(() => {
      this.st.batchFailed.run({ number: n, error, at });
      this.jobs.failed(n, error);
    })();
  }

  /** Build times (ms since epoch) of the latest `limit` batches, newest first. */
  batchBuiltTimes(limit: number): number[] {
    return this.st.batchBuiltTimes.all(limit).map((r) => r.built_at);
  }

  /** Records a transient error (e.g. a failed proof attempt) without changing the status. */
  noteBatchError(n: number, error: string, timings: BatchTimings): void {
    this.st.batchError.run({ number: n, error, timings: JSON.stringify(timings) });
  }

  // ---------------------------------------------------------------- L1 queue

  /** Appends queue records and advances the scanned-block cursor in one transaction. */
  appendQueue(rows: readonly Omit<QueueRow, "batch">[], scannedBlock: number): void {
    this.db.transaction(() => {
      for (const q of rows) {
        this.st.queueInsert.run({
          idx: q.index,
          kind: q.record.kind,
          accountId: q.record.accountId,
          token: q.record.token,
          amount: q.record.amount.toString(),
          ax: q.record.ax.toString(),
          ay: q.record.ay.toString(),
          sender: q.sender,
          queueHash: q.queueHash.toString(),
          blockNumber: q.blockNumber,
          txHash: q.txHash,
          logIndex: q.logIndex,
          seenAt: q.seenAt,
        });
      }
      this.st.metaSet.run("scannedBlock", String(scannedBlock));
    })();
  }

  /** Records [from, to) in index order. */
  queueRange(from: number, to: number): QueueRow[] {
    return this.st.queueRange.all(from, to).map(toQueue);
  }

  queueRecord(index: number): QueueRow | null {
    const r = this.st.queueGet.get(index);
    return r ? toQueue(r) : null;
  }

  queueLength(): number {
    return this.st.queueLength.get()?.n ?? 0;
  }
}
