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

  test("noop share: unused slots weighted by each slot type's constraints, over the proved constraints", () => {
    const p = { l2Slots: 4, fillSlots: 1, depositSlots: 2 };
    const costs = { l2: 10, fill: 40, deposit: 5, batch: 200 };
    // Full batch: no noop. Empty batch: 4·10 + 40 + 2·5 = 90 of 200.
    expect(noopShare(p, costs, [{ l2: 4, fills: 1, deposits: 2 }]).share).toBe(0);
    expect(noopShare(p, costs, [{ l2: 0, fills: 0, deposits: 0 }]).share).toBe(0.45);
    // One fill alone: 4·10 + 2·5 = 50 of 200; with a full batch beside it, 50 of 400.
    expect(noopShare(p, costs, [{ l2: 0, fills: 1, deposits: 0 }, { l2: 4, fills: 1, deposits: 2 }])).toEqual({ share: 0.125, noopConstraints: 50, provedConstraints: 400 });
    expect(noopShare(p, costs, []).share).toBeNull();
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
