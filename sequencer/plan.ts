/**
 * Batch planning, pure: when to cut a batch, which pending txs go in, and how the pending set is
 * re-derived when something in it turns invalid. No I/O, no clocks (times are arguments).
 */
import { feeTokensFor } from "../core/batch";
import { ProtocolError } from "../core/errors";
import type { Params } from "../core/params";
import type { State } from "../core/state";
import type { BatchContext, L2Tx } from "../core/ops/types";
import { signerOf } from "../core/ops/signed";
import { PendingView } from "./pending";

export interface PendingTx {
  /** Acceptance order (the txs table's primary key). */
  readonly seq: number;
  readonly hash: `0x${string}`;
  readonly tx: L2Tx;
  readonly acceptedAt: number;
}

export interface Rejection {
  readonly item: PendingTx;
  readonly code: ProtocolError["code"];
  readonly message: string;
}

/**
 * The longest prefix of `pending` (acceptance order) with at most l2Slots txs whose fee tokens
 * core's feeTokensFor accepts (at most feeBuckets distinct tokens with a non-zero fee). A prefix,
 * not a subset: later txs may depend on earlier ones (nonces, received funds), so nothing is ever
 * reordered or skipped.
 */
export function takeBatchTxs(p: Params, pending: readonly PendingTx[]): PendingTx[] {
  const out: PendingTx[] = [];
  for (const item of pending) {
    if (out.length === p.l2Slots) break;
    try {
      feeTokensFor(p, [...out.map((o) => o.tx), item.tx]);
    } catch (e) {
      if (e instanceof ProtocolError && e.code === "fee_token_not_in_batch") break;
      throw e;
    }
    out.push(item);
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
): { valid: PendingTx[]; rejected: Rejection[] } {
  const view = new PendingView(state);
  const tainted = new Set<number>();
  const taint = (tx: L2Tx): void => {
    tainted.add(signerOf(tx));
    if (tx.type === "transfer") tainted.add(tx.to);
  };
  for (const item of pending) if (dropped.has(item.hash)) taint(item.tx);
  const valid: PendingTx[] = [];
  const rejected: Rejection[] = [];
  for (const item of pending) {
    if (dropped.has(item.hash)) continue;
    if (tainted.has(signerOf(item.tx))) {
      try {
        view.check(item.tx, ctx);
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

/** The pending view of txs already known valid in this order (no re-check, no signature work). */
export function pendingViewOf(state: State, pending: readonly PendingTx[]): PendingView {
  const view = new PendingView(state);
  for (const item of pending) view.apply(item.tx);
  return view;
}

/** Txs whose validUntil is before the batch timestamp: no batch can ever include them. */
export function expiredTxs(pending: readonly PendingTx[], timestamp: number): PendingTx[] {
  return pending.filter((item) => item.tx.validUntil < timestamp);
}

/** core's buildBatch prefixes an L2 failure with "operation i:"; i is the slot = index into the batch's txs. */
export function failedOperation(e: ProtocolError): number | null {
  const m = /^operation (\d+): /.exec(e.message);
  return m ? Number(m[1]) : null;
}

export interface CutInput {
  readonly params: Params;
  readonly now: number;
  readonly batchTimeoutMs: number;
  readonly pendingTxs: number;
  readonly oldestPendingAt: number | null;
  readonly unconsumedQueue: number;
  readonly oldestQueueAt: number | null;
}

/** Cut when a batch is full, or when the oldest waiting item has waited batchTimeoutMs. */
export function shouldCut(c: CutInput): boolean {
  if (c.pendingTxs >= c.params.l2Slots || c.unconsumedQueue >= c.params.depositSlots) return true;
  const oldest = Math.min(c.oldestPendingAt ?? Infinity, c.oldestQueueAt ?? Infinity);
  return oldest !== Infinity && c.now - oldest >= c.batchTimeoutMs;
}
