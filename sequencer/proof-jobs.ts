/**
 * The proof-job lifecycle table: one row per batch handed to the prover, persisted with the rest
 * of the sequencer's state (same SQLite database, same transactions as the batch's own status).
 *
 *   queued → leased → proven → verified → submitted → finalized      (or failed)
 *
 * A failed attempt (worker died, stalled, proof rejected) puts the job back to queued with the
 * error recorded; attempts count leases across restarts.
 */
import type Database from "better-sqlite3";
import type { ProofJobError, ProofJobInfo, ProofJobState } from "./views";
import { PROOF_JOB_STATES } from "./views";

/** Errors kept per job: the newest ones (an endlessly failing job must not grow its row without bound). */
const MAX_ERRORS = 20;

export const PROOF_JOBS_SCHEMA = `
CREATE TABLE IF NOT EXISTS proof_jobs (
  batch        INTEGER PRIMARY KEY,
  state        TEXT NOT NULL CHECK (state IN ('queued', 'leased', 'proven', 'verified', 'submitted', 'finalized', 'failed')),
  attempts     INTEGER NOT NULL DEFAULT 0,
  worker       TEXT,
  error        TEXT,
  errors       TEXT NOT NULL DEFAULT '[]',           -- JSON ProofJobError[], newest last
  timings      TEXT NOT NULL DEFAULT '{}',           -- JSON Record<string, number>
  queued_at    INTEGER NOT NULL,
  leased_at    INTEGER,
  proven_at    INTEGER,
  verified_at  INTEGER,
  submitted_at INTEGER,
  finalized_at INTEGER
);
CREATE INDEX IF NOT EXISTS proof_jobs_state ON proof_jobs (state, batch);
`;

interface JobDbRow {
  batch: number;
  state: ProofJobState;
  attempts: number;
  worker: string | null;
  error: string | null;
  errors: string;
  timings: string;
  queued_at: number;
  leased_at: number | null;
  proven_at: number | null;
  verified_at: number | null;
  submitted_at: number | null;
  finalized_at: number | null;
}

const toInfo = (r: JobDbRow): ProofJobInfo => ({
  batch: r.batch,
  state: r.state,
  attempts: r.attempts,
  worker: r.worker,
  error: r.error,
  errors: JSON.parse(r.errors) as ProofJobError[],
  queuedAt: r.queued_at,
  leasedAt: r.leased_at,
  provenAt: r.proven_at,
  verifiedAt: r.verified_at,
  submittedAt: r.submitted_at,
  finalizedAt: r.finalized_at,
  timings: JSON.parse(r.timings) as Record<string, number>,
});

export class ProofJobs {
  private readonly st;

  constructor(private readonly db: Database.Database) {
    this.st = {
      get: db.prepare<[number], JobDbRow>("SELECT * FROM proof_jobs WHERE batch = ?"),
      // A job that exists (restart, retry after a failure) goes back to queued; its history stays.
      queue: db.prepare(`INSERT INTO proof_jobs (batch, state, queued_at) VALUES (@batch, 'queued', @at)
        ON CONFLICT (batch) DO UPDATE SET state = 'queued', queued_at = @at WHERE state IN ('queued', 'leased', 'proven', 'failed')`),
      lease: db.prepare("UPDATE proof_jobs SET state = 'leased', attempts = attempts + 1, worker = @worker, leased_at = @at WHERE batch = @batch AND state IN ('queued', 'leased')"),
      attemptFailed: db.prepare("UPDATE proof_jobs SET state = CASE WHEN state IN ('queued', 'leased', 'proven') THEN @next ELSE state END, error = @error, errors = @errors WHERE batch = @batch"),
      // Timings are merged in SQL (json_patch): each stage adds its own fields.
      proven: db.prepare("UPDATE proof_jobs SET state = 'proven', worker = @worker, proven_at = @at, timings = json_patch(timings, @timings) WHERE batch = @batch AND state IN ('queued', 'leased')"),
      verified: db.prepare("UPDATE proof_jobs SET state = 'verified', verified_at = @at, timings = json_patch(timings, @timings) WHERE batch = @batch AND state IN ('queued', 'leased', 'proven')"),
      submitted: db.prepare("UPDATE proof_jobs SET state = 'submitted', submitted_at = @at WHERE batch = @batch AND state IN ('verified', 'submitted')"),
      finalized: db.prepare("UPDATE proof_jobs SET state = 'finalized', finalized_at = @at, timings = json_patch(timings, @timings) WHERE batch = @batch"),
      failed: db.prepare("UPDATE proof_jobs SET state = 'failed', error = @error WHERE batch = @batch"),
      reset: db.prepare("UPDATE proof_jobs SET state = @state WHERE batch = @batch"),
      latest: db.prepare<[number], JobDbRow>("SELECT * FROM proof_jobs ORDER BY batch DESC LIMIT ?"),
      counts: db.prepare<[], { state: ProofJobState; n: number }>("SELECT state, COUNT(*) AS n FROM proof_jobs GROUP BY state"),
    };
  }

  get(batch: number): ProofJobInfo | null {
    const r = this.st.get.get(batch);
    return r ? toInfo(r) : null;
  }

  /** The batch waits for a worker (new job, or back in line after a restart or a failure). */
  queued(batch: number, at: number): void {
    this.st.queue.run({ batch, at });
  }

  leased(batch: number, worker: string, at: number): void {
    this.st.lease.run({ batch, worker, at });
  }

  /** An attempt ended without an accepted proof; `retry`: the job waits for another attempt. */
  attemptFailed(batch: number, e: Omit<ProofJobError, "at">, at: number, retry: boolean): void {
    const job = this.get(batch);
    if (!job) return;
    const errors = [...job.errors, { at, ...e }].slice(-MAX_ERRORS);
    this.st.attemptFailed.run({ batch, next: retry ? "queued" : "failed", error: e.error, errors: JSON.stringify(errors) });
  }

  proven(batch: number, worker: string, timings: Record<string, number>, at: number): void {
    this.st.proven.run({ batch, worker, at, timings: JSON.stringify(timings) });
  }

  verified(batch: number, timings: Record<string, number>, at: number): void {
    this.st.verified.run({ batch, at, timings: JSON.stringify(timings) });
  }

  submitted(batch: number, at: number): void {
    this.st.submitted.run({ batch, at });
  }

  /** A batch adopted from L1 has no job row: nothing is updated. */
  finalized(batch: number, timings: Record<string, number>, at: number): void {
    this.st.finalized.run({ batch, at, timings: JSON.stringify(timings) });
  }

  failed(batch: number, error: string): void {
    this.st.failed.run({ batch, error });
  }

  /** After a restart: a verified job whose batch is proven again waits for submission. */
  reset(batch: number, state: ProofJobState): void {
    this.st.reset.run({ batch, state });
  }

  /** Newest first. */
  latest(limit: number): ProofJobInfo[] {
    return this.st.latest.all(limit).map(toInfo);
  }

  counts(): Record<ProofJobState, number> {
    const out = Object.fromEntries(PROOF_JOB_STATES.map((s) => [s, 0])) as Record<ProofJobState, number>;
    for (const r of this.st.counts.all()) out[r.state] = r.n;
    return out;
  }
}
