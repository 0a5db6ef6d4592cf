/**
 * GET /metrics: the sequencer's status and the prover view in the Prometheus text exposition
 * format 0.0.4. Every metric family has one # HELP and one # TYPE line, then its samples; a value
 * that is not a finite number is left out (a series is absent, never NaN). Series that need the
 * prover's live status (queue, workers) are absent while modex_prover_up is 0.
 */
import { servesNone, type ProverWorkerStatus } from "../prover/types";
import { PROOF_JOB_STATES, type ProverView, type StatusView } from "./views";

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const WORKER_STATES: readonly ProverWorkerStatus["state"][] = ["idle", "busy", "starting", "draining", "stopping"];

type Labels = Readonly<Record<string, string>>;
type Sample = readonly [Labels, number];

interface Family {
  readonly name: string;
  readonly type: "gauge" | "counter";
  readonly help: string;
  readonly samples: readonly Sample[];
}

export function renderMetrics(status: StatusView, view: ProverView): string {
  const live = view.live;
  const one = (v: number): Sample[] => [[{}, v]];
  const families: Family[] = [
    { name: "modex_batches_latest", type: "gauge", help: "Number of the latest built batch.", samples: one(status.latestBatch) },
    { name: "modex_batches_finalized", type: "gauge", help: "Number of the latest batch finalized on L1.", samples: one(status.finalizedBatch) },
    { name: "modex_pending_txs", type: "gauge", help: "Accepted transactions not yet in a batch.", samples: one(status.pendingTxs) },
    { name: "modex_halted", type: "gauge", help: "1 when the sequencer halted on an error it cannot resolve alone, else 0.", samples: one(status.halted ? 1 : 0) },
    { name: "modex_overloaded", type: "gauge", help: "1 while new L2 work is refused with 503 because the proving backlog is past its bound, else 0.", samples: one(status.proving.refusing ? 1 : 0) },
    { name: "modex_proving_backlog_max_seconds", type: "gauge", help: "The proving backlog (seconds) past which new L2 work is refused.", samples: one(status.proving.maxBacklogS) },
    // Both need a measured proof time: no sample before the first proof.
    {
      name: "modex_proving_backlog_seconds",
      type: "gauge",
      help: "Seconds of proving the backlog holds: batches still to prove x mean proof time / workers.",
      samples: status.proving.backlogS === null ? [] : one(status.proving.backlogS),
    },
    {
      name: "modex_proving_capacity_batches_per_hour",
      type: "gauge",
      help: "Batches the provers finish per hour at the measured proof time: workers / mean proof time x 3600.",
      samples: status.proving.proofS ? one(Math.round(((Math.max(1, status.proving.workers) * 3600) / status.proving.proofS) * 1000) / 1000) : [],
    },
    {
      name: "modex_proof_jobs",
      type: "gauge",
      help: "Proof jobs in the sequencer's database, by state.",
      samples: PROOF_JOB_STATES.map((s) => [{ state: s }, view.jobs[s] ?? 0] as const),
    },
    {
      name: "modex_prover_info",
      type: "gauge",
      help: "Always 1; the labels name the prover mode, circuit hash and Groth16 backend the sequencer uses.",
      samples: [[{ mode: view.mode, circuit_hash: view.circuitHash ?? "", backend: view.backend ?? "" }, 1]],
    },
    { name: "modex_forced_withdrawals_pending", type: "gauge", help: "Forced withdrawals on L1 that no finalized batch has processed yet.", samples: one(status.forced.pending) },
    ...(status.forced.blocksLeft !== null
      ? [{ name: "modex_forced_deadline_blocks_left", type: "gauge" as const, help: "L1 blocks until the oldest unprocessed forced withdrawal's deadline (past it, anyone may freeze the rollup).", samples: one(status.forced.blocksLeft) }]
      : []),
    { name: "modex_prover_up", type: "gauge", help: "1 when the prover's live status (queue, workers) could be read, else 0.", samples: one(live ? 1 : 0) },
  ];
  if (live) {
    const byWorker = new Map<string, { done: number; failed: number }>();
    for (const w of live.workers) {
      const acc = byWorker.get(w.id) ?? { done: 0, failed: 0 };
      byWorker.set(w.id, { done: acc.done + w.jobsDone, failed: acc.failed + w.jobsFailed });
    }
    const workers = [...byWorker].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    families.push(
      { name: "modex_prover_queued", type: "gauge", help: "Jobs waiting for a prover worker.", samples: one(live.queued) },
      { name: "modex_prover_leased", type: "gauge", help: "Jobs a prover worker holds.", samples: one(live.leased) },
      {
        name: "modex_prover_workers",
        type: "gauge",
        help: "Prover workers, by state.",
        samples: WORKER_STATES.map((s) => [{ state: s }, live.workers.filter((w) => w.state === s).length] as const),
      },
      {
        name: "modex_prover_workers_circuit_mismatch",
        type: "gauge",
        help: "Prover workers that serve none of the sequencer's circuits (they refuse its jobs).",
        samples: one(live.workers.filter((w) => servesNone(w, live.circuits ?? [view.circuitHash ?? live.circuitHash])).length),
      },
      {
        name: "modex_prover_worker_jobs_done_total",
        type: "counter",
        help: "Jobs a prover worker proved since it started.",
        samples: workers.map(([id, c]) => [{ worker: id }, c.done] as const),
      },
      {
        name: "modex_prover_worker_jobs_failed_total",
        type: "counter",
        help: "Jobs that failed on a prover worker since it started.",
        samples: workers.map(([id, c]) => [{ worker: id }, c.failed] as const),
      },
    );
  }
  const t = view.proofTimes;
  const stats: [string, number | null][] = [
    ["mean", t.meanMs],
    ["p50", t.p50Ms],
    ["p90", t.p90Ms],
    ["max", t.maxMs],
  ];
  families.push(
    {
      name: "modex_proof_seconds",
      type: "gauge",
      help: "Proof time (lease to proof received) over the latest 50 jobs that have one, in seconds; absent until one is known.",
      samples: stats.filter((s): s is [string, number] => s[1] !== null).map(([stat, ms]) => [{ stat }, ms / 1000] as const),
    },
    { name: "modex_proof_samples", type: "gauge", help: "Jobs the modex_proof_seconds statistics are computed over.", samples: one(t.count) },
    {
      name: "modex_proof_attempt_failures",
      type: "gauge",
      help: "Failed proof attempts recorded on the most recent proof jobs.",
      samples: one(view.recent.reduce((n, j) => n + j.errors.length, 0)),
    },
    { name: "modex_prover_workers_needed", type: "gauge", help: "Prover workers that keep up with the batch rate and drain the backlog (autoscaling signal).", samples: one(view.autoscale.workersNeeded) },
    { name: "modex_proving_backlog_batches", type: "gauge", help: "Batches still to prove: proof jobs queued or leased, and the batches the operations not yet cut will make.", samples: one(view.autoscale.backlogBatches) },
    { name: "modex_batches_per_hour", type: "gauge", help: "Batches cut per hour over the autoscaling window.", samples: one(view.autoscale.batchesPerHour) },
  );
  return families.map(renderFamily).join("");
}

function renderFamily(f: Family): string {
  const lines = [`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`];
  const seen = new Set<string>();
  for (const [labels, value] of f.samples) {
    if (typeof value !== "number" || !Number.isFinite(value)) continue;
    const l = renderLabels(labels);
    if (seen.has(l)) continue;
    seen.add(l);
    lines.push(`${f.name}${l} ${formatValue(value)}`);
  }
  return lines.join("\n") + "\n";
}

function renderLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  return `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`;
}

/** Label values: backslash, double quote and line feed are escaped. */
export function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** HELP text: backslash and line feed are escaped. */
function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function formatValue(v: number): string {
  return Object.is(v, -0) ? "0" : String(v);
}
