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

/**
 * A prover whose every job fails the way a deterministic proof error does: the job is leased to
 * `worker`, the attempt is reported failed without a retry, and the promise rejects with `error`.
 */
export function failingProver(worker: string, error: string): Prover {
  return {
    pending: 0,
    prove(job, opts) {
      opts?.onEvent?.({ type: "leased", batchNumber: job.batchNumber, worker, attempt: 1 });
      opts?.onEvent?.({ type: "attempt_failed", batchNumber: job.batchNumber, worker, attempt: 1, error, willRetry: false });
      return Promise.reject(new Error(`batch ${job.batchNumber}: ${error}`));
    },
    close: async () => undefined,
  };
}
