/**
 * The witness-mutation fuzzer (issue: soundness). From valid batches built by core, mutants of the
 * batch circuit's private inputs are judged (judge.ts): rejected by the circuit, rejected by the
 * contract, accepted with exactly core's outcome, or accepted-divergent. The target is 0 of the last.
 */
import type { Params } from "../../core";
import { PubdataModel } from "./witness-model";
import { FuzzScenario, Rng } from "./scenario";
import { pickMutator } from "./mutators";
import { judge, type Verdict } from "./judge";

/** The fuzzer's parameters: the test config's trees with 3 L1 slots, so slot layouts can have gaps. */
export const FUZZ_PARAMS: Params = { accountLevels: 2, balanceLevels: 1, orderLevels: 1, depositSlots: 3, l2Slots: 2, fillSlots: 1, feeBuckets: 2 };

export interface FuzzOptions {
  readonly mutants: number;
  readonly seed: number;
  readonly params?: Params;
  /** Mutants per base batch before a new one is built. */
  readonly perBatch?: number;
  readonly progress?: (o: { tried: number; divergent: number }) => void;
}

export interface Divergence {
  readonly labels: readonly string[];
  readonly reason: string;
}

export interface FuzzReport {
  readonly seed: number;
  readonly params: Params;
  readonly baseBatches: number;
  readonly tried: number;
  readonly rejectedByCircuit: number;
  readonly rejectedByContract: number;
  readonly acceptedEquivalent: number;
  readonly acceptedDivergent: number;
  /** Rejections by the circom template whose constraint failed. */
  readonly rejectedAt: Record<string, number>;
  /** Mutants by the mutator that made them (first label word). */
  readonly byMutator: Record<string, { tried: number; accepted: number }>;
  readonly divergences: Divergence[];
  readonly seconds: number;
}

export async function runFuzz(o: FuzzOptions, loaded?: PubdataModel): Promise<FuzzReport> {
  const t0 = performance.now();
  const params = o.params ?? FUZZ_PARAMS;
  const model = loaded ?? (await PubdataModel.load(params));
  const rng = new Rng(o.seed);
  const world = new FuzzScenario(params, rng);
  world.setup(6);
  const perBatch = o.perBatch ?? 20;
  const counts = { "rejected-circuit": 0, "rejected-contract": 0, "accepted-equivalent": 0, "accepted-divergent": 0 };
  const rejectedAt: Record<string, number> = {};
  const byMutator: Record<string, { tried: number; accepted: number }> = {};
  const divergences: Divergence[] = [];
  let baseBatches = 0;
  let tried = 0;
  while (tried < o.mutants) {
    const base = world.next();
    baseBatches++;
    // The unmutated batch itself must be accepted with core's outcome.
    const control = await judge(model, world.shadow, base, base.batch.circuitInput);
    if (control.kind !== "accepted-equivalent") throw new Error(`a valid batch was not accepted as core built it: ${JSON.stringify(control)}`);
    for (let m = 0; m < perBatch && tried < o.mutants; m++) {
      const input = structuredClone(base.batch.circuitInput);
      const labels: string[] = [];
      const steps = 1 + (rng.chance(0.25) ? rng.int(3) : 0);
      for (let s = 0; s < steps; s++) {
        const label = pickMutator(rng)({ base, shadow: world.shadow, rng }, input);
        if (label) labels.push(label);
      }
      if (labels.length === 0) continue;
      tried++;
      const v: Verdict = await judge(model, world.shadow, base, input);
      counts[v.kind]++;
      const key = labels[0].split(" ")[0];
      const mk = (byMutator[key] ??= { tried: 0, accepted: 0 });
      mk.tried++;
      if (v.kind === "accepted-equivalent" || v.kind === "accepted-divergent") mk.accepted++;
      if (v.kind === "rejected-circuit") rejectedAt[v.template] = (rejectedAt[v.template] ?? 0) + 1;
      if (v.kind === "accepted-divergent") divergences.push({ labels, reason: v.reason });
      if (o.progress && tried % 100 === 0) o.progress({ tried, divergent: counts["accepted-divergent"] });
    }
    world.advance();
  }
  return {
    seed: o.seed,
    params,
    baseBatches,
    tried,
    rejectedByCircuit: counts["rejected-circuit"],
    rejectedByContract: counts["rejected-contract"],
    acceptedEquivalent: counts["accepted-equivalent"],
    acceptedDivergent: counts["accepted-divergent"],
    rejectedAt,
    byMutator,
    divergences,
    seconds: Math.round((performance.now() - t0) / 100) / 10,
  };
}
