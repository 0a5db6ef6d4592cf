/** Provers for sequencer tests that never reach L1. */
import type { ProofJob, Prover } from "../../prover/types";

/** A prover that takes every job and never answers: batches stay "proving" and nothing is submitted. */
export function stalledProver(): Prover & { readonly jobs: ProofJob[] } {
  const jobs: ProofJob[] = [];
  return {
    jobs,
    get pending() {
      return jobs.length;
    },
    prove(job: ProofJob) {
      jobs.push(job);
      return new Promise(() => undefined);
    },
    close: async () => undefined,
  };
}
