/**
 * `modex prover ...`: the operators' commands for the prover pool.
 *   status   the pool as the sequencer sees it (GET /v1/prover)
 *   worker   a cluster prover worker (prover/cluster-worker.ts, loaded only when run: it pulls in bullmq)
 */
import type { ProofJobInfo, ProverResponse, ProverWorkerStatus } from "./api-client";
import { API_OPTION, apiClient, columns, lazy, report, table, type CliContext, type Command } from "./context";
import { servesNone } from "../prover/types";

/** A subcommand that parses its own arguments and returns its exit status. */
export interface RawSubcommand {
  readonly name: string;
  readonly summary: string;
  run(argv: readonly string[], ctx: CliContext): Promise<number>;
}

/** `modex GROUP SUB ...`: a subcommand is a Command (spec.name is "GROUP SUB", parsed as any command) or a raw one. */
export interface CommandGroup {
  readonly name: string;
  readonly summary: string;
  /** Runs for `modex GROUP [options]` when the first argument is an option, not a subcommand. */
  readonly default?: Command;
  readonly subcommands: readonly ({ readonly name: string; readonly command: Command } | RawSubcommand)[];
}

const FAILURES_SHOWN = 5;
const RECENT_SHOWN = 10;

export const proverStatus: Command = {
  spec: {
    name: "prover status",
    summary:
      "Show the prover pool: jobs by state, queue, workers, proof times, autoscaling. Also the mode, the circuit hash and backend, and the latest failures with their errors; a worker on another circuit is flagged.",
    options: { ...API_OPTION },
  },
  async run(args, ctx) {
    const view = await apiClient(args, ctx).prover();
    report(ctx, args, view, renderProverStatus(view));
  },
};

export const proverWorker: RawSubcommand = {
  name: "worker",
  summary: "Run a cluster prover worker until SIGTERM/SIGINT. It takes proof jobs from the shared Redis queue; 'modex prover worker --help' lists its options.",
  run(argv) {
    const { runProverWorker } = lazy<typeof import("../prover/cluster-worker")>(() => require("../prover/cluster-worker"));
    return runProverWorker(argv);
  },
};

export const prover: CommandGroup = {
  name: "prover",
  summary: "Operate the prover pool: inspect it, run workers.",
  subcommands: [{ name: "status", command: proverStatus }, proverWorker],
};

export function subcommandSummary(s: CommandGroup["subcommands"][number]): string {
  return "command" in s ? s.command.spec.summary : s.summary;
}

const seconds = (ms: number | null | undefined): string => (ms === null || ms === undefined ? "-" : `${(ms / 1000).toFixed(1)} s`);
const time = (ms: number | null | undefined): string => (ms === null || ms === undefined ? "-" : new Date(ms).toISOString());
const shortHash = (h: string): string => (h.length > 18 ? `${h.slice(0, 16)}…` : h);

/** The human text of `modex prover status`, one string per line. */
export function renderProverStatus(v: ProverResponse): string[] {
  const live = v.live;
  const first = v.circuitHash ?? live?.circuitHash ?? null;
  const expected = live?.circuits ?? (first === null ? null : [first]);
  const jobs = Object.entries(v.jobs)
    .map(([s, n]) => `${s} ${n}`)
    .join(", ");
  const t = v.proofTimes;
  const lines: string[] = [
    ...table([
      ["mode", v.mode],
      ["circuit", v.circuitHash ?? "-"],
      ["backend", v.backend ?? "-"],
      ["jobs", jobs],
      ["queue", live ? `${live.queued} queued, ${live.leased} leased${live.queue ? ` (${live.queue})` : ""}` : `${v.jobs.queued} queued, ${v.jobs.leased} leased (sequencer's database)`],
      ["proof times", t.count ? `last ${t.count}: mean ${seconds(t.meanMs)}, p50 ${seconds(t.p50Ms)}, p90 ${seconds(t.p90Ms)}, max ${seconds(t.maxMs)}` : "none yet"],
      ["autoscale", `${v.autoscale.workersNeeded} worker${v.autoscale.workersNeeded === 1 ? "" : "s"} needed: ${v.autoscale.reason}`],
    ]),
  ];
  if (!live) {
    lines.push(v.mode === "disabled" ? "live status: none (proving is disabled)" : `live status unavailable${v.liveError ? `: ${v.liveError}` : ""}`);
  } else if (live.workers.length === 0) {
    lines.push("workers: none");
  } else {
    lines.push(`workers (${live.workers.length}):`);
    lines.push(...indent(columns(["id", "state", "batches", "done", "failed", "circuit"], live.workers.map((w) => workerRow(w, expected)))));
  }
  const recent = v.recent.slice(0, RECENT_SHOWN);
  if (recent.length) {
    lines.push(`recent jobs (${recent.length} of ${v.recent.length}):`);
    lines.push(
      ...indent(
        columns(
          ["batch", "state", "attempts", "worker", "wait", "proof"],
          recent.map((j) => [j.batch, j.state, j.attempts, j.worker ?? "-", seconds(j.timings.waitMs), seconds(j.timings.proofWallMs)]),
        ),
      ),
    );
  } else {
    lines.push("recent jobs: none");
  }
  const failures = v.failures.slice(0, FAILURES_SHOWN);
  if (failures.length) {
    lines.push(`latest failures (${failures.length} of ${v.failures.length}):`);
    for (const j of failures) lines.push(`  ${failureLine(j)}`);
  } else {
    lines.push("failures: none");
  }
  return lines;
}

function workerRow(w: ProverWorkerStatus, expected: readonly string[] | null): string[] {
  const mismatch = expected !== null && servesNone(w, expected);
  return [
    w.id,
    w.state,
    w.batches.length ? w.batches.join(",") : "-",
    String(w.jobsDone),
    String(w.jobsFailed),
    `${(w.circuits ?? [w.circuitHash]).map(shortHash).join(",")}${mismatch ? "  REFUSES JOBS: other circuit" : ""}`,
  ];
}

function failureLine(j: ProofJobInfo): string {
  const last = j.errors.reduce<ProofJobInfo["errors"][number] | null>((a, e) => (a === null || e.at >= a.at ? e : a), null);
  const where = last ? `attempt ${last.attempt}${last.worker ? ` on ${last.worker}` : ""} at ${time(last.at)}` : `attempt ${j.attempts}`;
  const more = j.errors.length > 1 ? ` (${j.errors.length} failed attempts)` : "";
  return `batch ${j.batch} [${j.state}] ${where}${more}: ${last?.error ?? j.error ?? "-"}`;
}

function indent(lines: readonly string[]): string[] {
  return lines.map((l) => `  ${l}`);
}
