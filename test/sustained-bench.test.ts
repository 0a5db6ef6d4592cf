/**
 * The pure parts of the sustained-load bench (bench/sustained.ts): the operation mix, the
 * boundedness rule, the noop share of proved constraints and the quantiles.
 */
import { isBounded, lcg, MIX_BLOCK, noopShare, planMix, quantile } from "../bench/sustained";

describe("sustained-load bench helpers", () => {
  test("the mix is exact per 20 operations: 14 fills, 4 transfers, 1 withdrawal, 1 deposit", () => {
    expect(MIX_BLOCK).toHaveLength(20);
    const kinds = planMix(100, lcg(1));
    expect(kinds).toHaveLength(100);
    for (let i = 0; i < 100; i += 20) {
      const block = kinds.slice(i, i + 20);
      const count = (k: string) => block.filter((x) => x === k).length;
      expect([count("fill"), count("transfer"), count("withdraw"), count("deposit")]).toEqual([14, 4, 1, 1]);
    }
    expect(planMix(7, lcg(1))).toEqual(planMix(7, lcg(1)));
    expect(planMix(20, lcg(1))).not.toEqual(planMix(20, lcg(2)));
  });

  test("bounded: the end of the step is not above its middle (windowed means, tolerance)", () => {
    const step = 100_000;
    const at = (f: (t: number) => number) => Array.from({ length: 51 }, (_, i) => ({ t: i * 2_000, backlog: f(i * 2_000) }));
    // A saw-tooth around a level: bounded.
    expect(isBounded(at((t) => 4 + ((t / 2_000) % 5)), step).bounded).toBe(true);
    // Growth of 0.2 ops/s: 4 more ops every 20 s, far past the tolerance of 1.
    const growing = isBounded(at((t) => t / 5_000), step);
    expect(growing.bounded).toBe(false);
    expect(growing.end!).toBeGreaterThan(growing.middle!);
    // Slow drift within the tolerance (max(3, 10 % of the middle)) still counts as bounded.
    expect(isBounded(at((t) => 50 + t / 50_000), step).bounded).toBe(true);
    // Draining: bounded.
    expect(isBounded(at((t) => Math.max(0, 40 - t / 2_000)), step).bounded).toBe(true);
    // No samples in a window: not shown bounded.
    expect(isBounded([{ t: 0, backlog: 0 }], step).bounded).toBe(false);
    // Growth of 5 operations over a 150 s step (the backlog of a step at 0.1/s on a loaded machine): unbounded.
    expect(isBounded(at((t) => 1 + Math.floor(t / 20_000)), step).bounded).toBe(false);
  });

  test("noop share: unused slots of each batch's shape weighted by each slot type's constraints, over the proved constraints", () => {
    const shape = { depositSlots: 2, l2Slots: 4, fillSlots: 1 };
    const trades = { depositSlots: 1, l2Slots: 2, fillSlots: 2 };
    const costs = { l2: 10, fill: 40, deposit: 5, batch: { "d2-n4-m1": 200, "d1-n2-m2": 150 } };
    // Full batch: no noop. Empty batch: 4·10 + 40 + 2·5 = 90 of 200.
    expect(noopShare(costs, [{ shape, l2: 4, fills: 1, deposits: 2 }]).share).toBe(0);
    expect(noopShare(costs, [{ shape, l2: 0, fills: 0, deposits: 0 }]).share).toBe(0.45);
    // One fill alone: 4·10 + 2·5 = 50 of 200; with a full batch beside it, 50 of 400.
    expect(noopShare(costs, [{ shape, l2: 0, fills: 1, deposits: 0 }, { shape, l2: 4, fills: 1, deposits: 2 }])).toEqual({ share: 0.125, noopConstraints: 50, provedConstraints: 400 });
    // Two fills in the trade shape: its two transfer slots and its L1 slot are noop, 2·10 + 5 of 150.
    expect(noopShare(costs, [{ shape: trades, l2: 0, fills: 2, deposits: 0 }])).toEqual({ share: 0.1667, noopConstraints: 25, provedConstraints: 150 });
    expect(noopShare(costs, []).share).toBeNull();
    expect(() => noopShare(costs, [{ shape: { depositSlots: 9, l2Slots: 0, fillSlots: 0 }, l2: 0, fills: 0, deposits: 0 }])).toThrow(/no constraint count for shape d9-n0-m0/);
  });

  test("quantiles by nearest rank", () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantile(xs, 0.5)).toBe(50);
    expect(quantile(xs, 0.99)).toBe(99);
    expect(quantile([3, 1, 2], 1)).toBe(3);
    expect(quantile([], 0.5)).toBeNull();
    expect(quantile([1, Infinity], 0.99)).toBe(Infinity);
  });
});
