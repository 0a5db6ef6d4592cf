/** Provers for sequencer tests that never reach L1. */
import type { ProofJob, Prover } from "../../prover/types";

/**
 * A prover that takes every job and never answers: batches stay "proving" and nothing is submitted.
 * With `workers`, its status reports that many idle workers, so the sequencer counts on that many
 * proofs at once (it cuts on its timeout only while fewer batches wait for proofs); without, one.
 */
export function stalledProver(o: { workers?: number } = {}): Prover & { readonly jobs: ProofJob[] } {
  const jobs: ProofJob[] = [];
  const prover: Prover & { readonly jobs: ProofJob[] } = {
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
  if (o.workers === undefined) return prover;
  const workers = Array.from({ length: o.workers }, (_, i) => ({
    id: String(i), host: "test", pid: i, state: "idle" as const, circuitHash: "stalled", backend: "none", concurrency: 1, batches: [], jobsDone: 0, jobsFailed: 0, startedAt: 0,
  }));
  return Object.assign(prover, { status: async () => ({ mode: "embedded" as const, circuitHash: "stalled", backend: "none", queued: 0, leased: jobs.length, workers }) });
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
