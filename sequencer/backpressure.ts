/**
 * Backpressure: the sequencer refuses new L2 work (503 with Retry-After) while its proving backlog,
 * in seconds of proving, is past a configured bound, instead of accepting what its provers cannot
 * finalize in time. Pure: the sequencer supplies the counts and the measured proof time.
 *
 * backlog seconds = batches still to prove × mean proof wall time / proofs the provers run at once.
 * Batches still to prove are the cut ones waiting for a proof and those the accepted operations not
 * yet cut will make (plan.ts batchesToCut). Before the first proof nothing is measured, and nothing
 * is refused. L1 operations (deposits, forced withdrawals) are never refused: they are on L1 already.
 */

export interface ProvingCapacity {
  /** Batches still to prove: cut and unproven, and those the pending operations will make. */
  readonly backlogBatches: number;
  /** Mean wall time of the recent proofs, in seconds; null before the first proof. */
  readonly proofS: number | null;
  /** Proofs the provers run at once (at least 1). */
  readonly workers: number;
}

/** What /v1/status shows. */
export interface BacklogView extends ProvingCapacity {
  /** Seconds of proving the backlog holds; null while no proof time is known. */
  readonly backlogS: number | null;
  /** The bound past which new work is refused. */
  readonly maxBacklogS: number;
  /** True while new L2 work is refused with 503. */
  readonly refusing: boolean;
}

export interface Overload {
  /** Seconds until the backlog is back under the bound at the measured rate (at least 1). */
  readonly retryAfterS: number;
  readonly message: string;
}

export function backlogSeconds(c: ProvingCapacity): number | null {
  if (c.proofS === null || !Number.isFinite(c.proofS) || c.proofS < 0) return null;
  return (Math.max(0, c.backlogBatches) * c.proofS) / Math.max(1, c.workers);
}

/** Why new work is refused now, or null when it is not. */
export function overload(c: ProvingCapacity, maxBacklogS: number): Overload | null {
  const s = backlogSeconds(c);
  if (s === null || s <= maxBacklogS) return null;
  const retryAfterS = Math.max(1, Math.ceil(s - maxBacklogS));
  const workers = Math.max(1, c.workers);
  return {
    retryAfterS,
    message:
      `proving backlog is ${short(s)} s (${c.backlogBatches} batches × ${short(c.proofS!)} s per proof / ${workers} worker${workers === 1 ? "" : "s"}), ` +
      `over this sequencer's bound of ${short(maxBacklogS)} s; retry after ${retryAfterS} s`,
  };
}

export function backlogView(c: ProvingCapacity, maxBacklogS: number): BacklogView {
  const s = backlogSeconds(c);
  return { ...c, backlogS: s === null ? null : Math.round(s * 1000) / 1000, maxBacklogS, refusing: overload(c, maxBacklogS) !== null };
}

function short(x: number): string {
  return String(Math.round(x * 100) / 100);
}
