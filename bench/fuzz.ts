/**
 * npm run bench -- --only fuzz: the witness-mutation fuzzer (test/fuzz) at length. 10,000 mutants of
 * random valid batches (1,000 with --quick), a seed from the clock unless MODEX_FUZZ_SEED sets one, so
 * each run explores anew and any finding is reproduced from the recorded seed.
 */
import { runFuzz, FUZZ_PARAMS, type FuzzReport } from "../test/fuzz/run";

export interface FuzzBench extends Omit<FuzzReport, "divergences"> {
  readonly mutantsPerSec: number;
  /** The first divergences found (all of them are a soundness bug). */
  readonly divergences: FuzzReport["divergences"];
  readonly reproduce: string;
}

export async function benchFuzz(o: { mutants: number; log: (o: object) => void }): Promise<FuzzBench> {
  const seed = process.env.MODEX_FUZZ_SEED ? Number(process.env.MODEX_FUZZ_SEED) : Date.now() % 2 ** 31;
  o.log({ msg: "bench.fuzz", mutants: o.mutants, seed, params: FUZZ_PARAMS });
  const r = await runFuzz({ mutants: o.mutants, seed, progress: (p) => (p.tried % 1000 === 0 ? o.log({ msg: "bench.fuzz.progress", ...p }) : undefined) });
  return {
    ...r,
    divergences: r.divergences.slice(0, 20),
    mutantsPerSec: Math.round((r.tried / r.seconds) * 10) / 10,
    reproduce: `MODEX_FUZZ_SEED=${seed} npm run bench -- --only fuzz`,
  };
}
