/** Backpressure arithmetic (sequencer/backpressure.ts): when new work is refused, and for how long. */
import { backlogSeconds, backlogView, overload } from "../sequencer/backpressure";

describe("backpressure (pure)", () => {
  test("backlog seconds = batches × mean proof time / workers; unknown before the first proof", () => {
    expect(backlogSeconds({ backlogBatches: 10, proofS: 3, workers: 2 })).toBe(15);
    expect(backlogSeconds({ backlogBatches: 10, proofS: 3, workers: 0 })).toBe(30);
    expect(backlogSeconds({ backlogBatches: 0, proofS: 3, workers: 1 })).toBe(0);
    expect(backlogSeconds({ backlogBatches: 5, proofS: null, workers: 1 })).toBeNull();
    expect(backlogSeconds({ backlogBatches: 5, proofS: NaN, workers: 1 })).toBeNull();
  });

  test("refused only past the bound, with the time until the backlog is back under it", () => {
    expect(overload({ backlogBatches: 200, proofS: 3, workers: 1 }, 600)).toBeNull(); // exactly at the bound
    const o = overload({ backlogBatches: 201, proofS: 3, workers: 1 }, 600);
    expect(o).toEqual({ retryAfterS: 3, message: "proving backlog is 603 s (201 batches × 3 s per proof / 1 worker), over this sequencer's bound of 600 s; retry after 3 s" });
    expect(overload({ backlogBatches: 1, proofS: 0.25, workers: 4 }, 0)?.retryAfterS).toBe(1);
    expect(overload({ backlogBatches: 10_000, proofS: null, workers: 1 }, 0)).toBeNull();
  });

  test("the status view", () => {
    expect(backlogView({ backlogBatches: 3, proofS: 2.5, workers: 2 }, 1)).toEqual({ backlogBatches: 3, proofS: 2.5, workers: 2, backlogS: 3.75, maxBacklogS: 1, refusing: true });
    expect(backlogView({ backlogBatches: 0, proofS: null, workers: 1 }, 600)).toEqual({ backlogBatches: 0, proofS: null, workers: 1, backlogS: null, maxBacklogS: 600, refusing: false });
  });
});
