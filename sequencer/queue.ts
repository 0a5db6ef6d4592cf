/**
 * The L1 queue as the sequencer mirrors it, pure: each Enqueued event must extend the stored
 * chain by exactly one record, and its queueHash must equal core's queueHashNext over the record.
 * A mismatch means the sequencer and the contract disagree about the queue (reorg, wrong
 * contract, or a bug) and no batch built from it could ever be accepted.
 */
import { queueHashNext } from "../core/ops/deposit";
import type { EnqueuedEvent } from "./l1";

export interface QueueTip {
  /** Records stored so far = index of the next record. */
  readonly length: number;
  /** queueHash[length]: the hash after the last stored record (0 for an empty queue). */
  readonly hash: bigint;
}

export class QueueMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "QueueMismatchError";
  }
}

/**
 * The events that extend `tip`, checked, and the new tip. Events below `tip.length` were stored
 * already (an overlapping rescan) and are skipped; `knownHash(i)` returns queueHash[i + 1] of a stored record so
 * an overlap that disagrees is still caught.
 */
export function extendQueue(
  tip: QueueTip,
  events: readonly EnqueuedEvent[],
  knownHash: (index: number) => bigint | null,
): { fresh: EnqueuedEvent[]; tip: QueueTip } {
  let { length, hash } = tip;
  const fresh: EnqueuedEvent[] = [];
  for (const ev of events) {
    if (ev.index < length) {
      const known = knownHash(ev.index);
      if (known !== ev.queueHash) throw new QueueMismatchError(`queue record ${ev.index} changed on L1 (stored hash ${known}, L1 ${ev.queueHash})`);
      continue;
    }
    if (ev.index > length) throw new QueueMismatchError(`queue record ${length} missing: next event is ${ev.index}`);
    const expected = queueHashNext(hash, ev.record);
    if (expected !== ev.queueHash) {
      throw new QueueMismatchError(`queue record ${ev.index}: L1 hash ${ev.queueHash} != core queueHashNext ${expected}`);
    }
    fresh.push(ev);
    length += 1;
    hash = expected;
  }
  return { fresh, tip: { length, hash } };
}
