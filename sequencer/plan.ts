/**
 * Batch planning, pure: when to cut a batch, which pending txs go in, and how the pending set is
 * re-derived when something in it turns invalid. No I/O, no clocks (times are arguments).
 */
import { feeTokensFor } from "../core/batch";
import { ProtocolError } from "../core/errors";
import type { Params } from "../core/params";
import type { SignatureCheck } from "../core/eddsa";
import type { State } from "../core/state";
import type { BatchContext, FillOp, L2Tx } from "../core/ops/types";
import { signerOf } from "../core/ops/signed";
import { PendingView, type Op } from "./pending";

export interface PendingTx {
  /** Acceptance order (the txs table's primary key). */
  readonly seq: number;
  readonly hash: `0x${string}`;
  /** A signed transfer/withdraw, or a fill made by the matching engine. */
  readonly tx: Op;
  readonly acceptedAt: number;
}

/** The accounts an operation reads and writes balances of (its signer/traders and receiver). */
export function accountsOf(op: Op): number[] {
  if (op.type === "fill") return [op.sell.account, op.buy.account];
  return op.type === "transfer" ? [op.from, op.to] : [op.account];
}

/** The accounts whose state an operation's validity depends on (who pays). */
function payersOf(op: Op): number[] {
  return op.type === "fill" ? [op.sell.account, op.buy.account] : [signerOf(op)];
}

/** The latest batch timestamp an operation can still be included at. */
export function validUntilOf(op: Op): number {
  return op.type === "fill" ? Math.min(op.sell.validUntil, op.buy.validUntil) : op.validUntil;
}

export function splitOps(ops: readonly Op[]): { txs: L2Tx[]; fills: FillOp[] } {
  const txs: L2Tx[] = [];
  const fills: FillOp[] = [];
  for (const op of ops) {
    if (op.type === "fill") fills.push(op);
    else txs.push(op);
  }
  return { txs, fills };
}

/**
 * The fewest batches that hold `txs` L2 transactions, `fills` fills and `queued` L1 records: each
 * slot type fills on its own. A lower bound (one transaction per signer per batch and the fee
 * buckets can split batches further), which is what an autoscaling signal should start from.
 */
export function batchesToCut(p: Params, c: { readonly txs: number; readonly fills: number; readonly queued: number }): number {
  return Math.max(Math.ceil(c.txs / p.l2Slots), Math.ceil(c.fills / p.fillSlots), Math.ceil(c.queued / p.depositSlots));
}

export interface Rejection {
  readonly item: PendingTx;
  readonly code: ProtocolError["code"];
  readonly message: string;
}

/**
 * The longest prefix of `pending` (acceptance order) that fits one batch: at most l2Slots txs and
 * fillSlots fills, fee tokens core's feeTokensFor accepts (at most feeBuckets distinct tokens with
 * a non-zero fee). A prefix, not a subset: later operations may depend on earlier ones (nonces,
 * received funds), so nothing is skipped. A batch runs its L2 slots before its fill slots, which
 * moves a tx ahead of the fills accepted before it; that is harmless unless the tx's signer is one
 * of those fills' traders (it may spend what a fill gave it, or take what a fill needs), so the
 * prefix ends there.
 */
export function takeBatchTxs(p: Params, pending: readonly PendingTx[]): PendingTx[] {
  const out: PendingTx[] = [];
  let txs = 0;
  let fills = 0;
  const traders = new Set<number>();
  for (const item of pending) {
    const op = item.tx;
    if (op.type === "fill") {
      if (fills === p.fillSlots) break;
    } else {
      if (txs === p.l2Slots) break;
      if (traders.has(signerOf(op))) break;
    }
    const { txs: t, fills: f } = splitOps([...out.map((o) => o.tx), op]);
    try {
      feeTokensFor(p, t, f);
    } catch (e) {
      if (e instanceof ProtocolError && e.code === "fee_token_not_in_batch") break;
      throw e;
    }
    out.push(item);
    if (op.type === "fill") {
      fills++;
      traders.add(op.sell.account).add(op.buy.account);
    } else txs++;
  }
  return out;
}

/**
 * Removes `dropped` from `pending` and re-checks what may have depended on it. Used only when a tx
 * had to be dropped (it expired, or buildBatch refused it). A later tx can only be invalidated by
 * a dropped one through its signer's account: the signer's nonce or balance (a missing earlier tx
 * of its own, or a missing credit to it). So txs whose signer is "tainted" (signer or receiver of
 * a dropped tx, transitively) are re-checked with core's rules; the others keep their effects
 * unchecked, which also spares their signature verification (the costly part).
 */
export function dropAndRecheck(
  state: State,
  pending: readonly PendingTx[],
  dropped: ReadonlySet<string>,
  ctx: BatchContext,
  verify?: SignatureCheck,
): { valid: PendingTx[]; rejected: Rejection[] } {
  const view = new PendingView(state);
  const tainted = new Set<number>();
  const taint = (op: Op): void => {
    for (const a of accountsOf(op)) tainted.add(a);
  };
  for (const item of pending) if (dropped.has(item.hash)) taint(item.tx);
  const valid: PendingTx[] = [];
  const rejected: Rejection[] = [];
  for (const item of pending) {
    if (dropped.has(item.hash)) continue;
    if (payersOf(item.tx).some((a) => tainted.has(a))) {
      try {
        view.check(item.tx, ctx, verify);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        rejected.push({ item, code: e.code, message: e.message });
        taint(item.tx);
        continue;
      }
    }
    view.apply(item.tx);
    valid.push(item);
  }
  return { valid, rejected };
}

/** The pending view of operations already known valid in this order (no re-check, no signature work). */
export function pendingViewOf(state: State, pending: readonly PendingTx[]): PendingView {
  const view = new PendingView(state);
  for (const item of pending) view.apply(item.tx);
  return view;
}

/** Operations whose validUntil (a fill: either order's) is before the batch timestamp: no batch can ever include them. */
export function expiredTxs(pending: readonly PendingTx[], timestamp: number): PendingTx[] {
  return pending.filter((item) => validUntilOf(item.tx) < timestamp);
}

/**
 * Which chosen operation core's buildBatch refused: it prefixes an L2 failure with "operation i:"
 * (i = index among the batch's txs) and a fill failure with "fill i:" (index among its fills).
 * Returns the index into `chosen` (acceptance order), or null.
 */
export function failedOperation(e: ProtocolError, chosen: readonly PendingTx[]): number | null {
  const m = /^(operation|fill) (\d+): /.exec(e.message);
  if (!m) return null;
  const wantFill = m[1] === "fill";
  let k = Number(m[2]);
  for (let i = 0; i < chosen.length; i++) {
    if ((chosen[i].tx.type === "fill") !== wantFill) continue;
    if (k-- === 0) return i;
  }
  return null;
}

export interface CutInput {
  readonly params: Params;
  readonly now: number;
  readonly batchTimeoutMs: number;
  /** Pending operations: txs and fills. */
  readonly pendingTxs: number;
  /** Of which fills. */
  readonly pendingFills?: number;
  readonly oldestPendingAt: number | null;
  readonly unconsumedQueue: number;
  readonly oldestQueueAt: number | null;
  /** Unconsumed forced withdrawals: each has an L1 deadline, so they are cut at once. */
  readonly forcedQueued?: number;
  /** Every prover is proving a batch already cut: a batch cut now would only wait for one. */
  readonly proversBusy?: boolean;
}

/**
 * Cut when a batch's txs, fills or L1 slots are full, when a forced withdrawal is queued (it has an
 * L1 deadline), or when the oldest waiting item has waited batchTimeoutMs and a prover is free.
 * While every prover is busy the timeout waits: a batch cut then would wait for a prover anyway,
 * and what arrives meanwhile would go into batches of its own; cut when a prover frees up, one
 * batch carries it all (PERFORMANCE.md, Sustained load: one operation per proof otherwise).
 */
export function shouldCut(c: CutInput): boolean {
  if ((c.forcedQueued ?? 0) > 0) return true;
  const fills = c.pendingFills ?? 0;
  if (c.pendingTxs - fills >= c.params.l2Slots || fills >= c.params.fillSlots || c.unconsumedQueue >= c.params.depositSlots) return true;
  if (c.proversBusy) return false;
  const oldest = Math.min(c.oldestPendingAt ?? Infinity, c.oldestQueueAt ?? Infinity);
  return oldest !== Infinity && c.now - oldest >= c.batchTimeoutMs;
}
