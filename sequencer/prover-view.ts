/**
 * The operator's view of proving, from the persisted job lifecycle and the prover's live status.
 * Pure: the sequencer gathers the rows and the live status, this file does the arithmetic.
 */
import type { ProverStatus } from "../prover/types";
import { PROOF_JOB_STATES, type AutoscaleSignal, type ProofJobInfo, type ProofJobState, type ProofTimeStats, type ProverView } from "./views";

export interface ProverViewInput {
  readonly mode: ProverView["mode"];
  readonly circuitHash: string | null;
  readonly backend: string | null;
  /** Jobs by state over the whole database. */
  readonly counts: Readonly<Record<ProofJobState, number>>;
  /** The latest jobs, newest first (up to 200). */
  readonly jobs: readonly ProofJobInfo[];
  /** Batch build times (ms since epoch) of the latest batches, newest first (up to 200). */
  readonly batchBuiltAt: readonly number[];
  readonly live: ProverStatus | null;
  readonly liveError: string | null;
  readonly now: number;
  /** Operations accepted but in no batch yet, and the batches they need at least (plan.ts batchesToCut). */
  readonly uncut?: { readonly operations: number; readonly batches: number };
}

/** Proof-time statistics cover this many of the latest jobs that have a proof time. */
export const PROOF_TIME_SAMPLES = 50;
/** The batch rate is measured over this window (or the span of the known batches, if shorter). */
export const RATE_WINDOW_MS = 15 * 60_000;
/** The backlog should be drained within this horizon. */
export const DRAIN_HORIZON_S = 300;
/** Jobs listed in `recent` and in `failures`. */
export const LIST_LIMIT = 20;

export function buildProverView(input: ProverViewInput): ProverView {
  const jobs: Record<ProofJobState, number> = Object.fromEntries(PROOF_JOB_STATES.map((s) => [s, finiteOr0(input.counts[s])])) as Record<ProofJobState, number>;
  const proofTimes = proofTimeStats(input.jobs);
  const autoscale = autoscaleSignal({
    batchBuiltAt: input.batchBuiltAt,
    now: input.now,
    meanProofMs: proofTimes.meanMs,
    queued: jobs.queued,
    leased: jobs.leased,
    uncutOperations: input.uncut?.operations ?? 0,
    uncutBatches: input.uncut?.batches ?? 0,
  });
  return {
    mode: input.mode,
    circuitHash: input.circuitHash,
    backend: input.backend,
    jobs,
    live: input.live,
    liveError: input.liveError,
    proofTimes,
    autoscale,
    recent: input.jobs.slice(0, LIST_LIMIT),
    failures: input.jobs.filter((j) => j.errors.length > 0).slice(0, LIST_LIMIT),
  };
}

/**
 * Proof wall time (lease → proof received) over the latest `limit` jobs that have one (jobs are
 * newest first). Percentiles are nearest-rank: the smallest sample with at least p of them at or below.
 */
export function proofTimeStats(jobs: readonly ProofJobInfo[], limit = PROOF_TIME_SAMPLES): ProofTimeStats {
  const samples: number[] = [];
  for (const j of jobs) {
    const ms = j.timings.proofWallMs;
    if (typeof ms === "number" && Number.isFinite(ms) && ms >= 0) samples.push(ms);
    if (samples.length >= limit) break;
  }
  if (samples.length === 0) return { count: 0, meanMs: null, p50Ms: null, p90Ms: null, maxMs: null };
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (p: number): number => sorted[Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length))) - 1];
  return {
    count: sorted.length,
    meanMs: sorted.reduce((a, b) => a + b, 0) / sorted.length,
    p50Ms: rank(0.5),
    p90Ms: rank(0.9),
    maxMs: sorted[sorted.length - 1],
  };
}

/**
 * Batches per second from build times (any order; instants after `now` count as `now`).
 * - The known batches reach back past the window: batches built inside it / the window.
 * - They do not (a young chain): the window starts at the oldest known batch, and the batches
 *   after it / (now − oldest); the oldest one only marks the start.
 * Fewer than 2 batches inside the window: rate 0.
 */
export function batchRate(batchBuiltAt: readonly number[], now: number, windowMs = RATE_WINDOW_MS): { batchesPerS: number; windowS: number } {
  const times = batchBuiltAt.filter((t) => Number.isFinite(t)).map((t) => Math.min(t, now));
  if (times.length === 0) return { batchesPerS: 0, windowS: 0 };
  const start = now - windowMs;
  const oldest = Math.min(...times);
  const inWindow = times.filter((t) => t >= start).length;
  if (oldest < start) {
    return { batchesPerS: inWindow >= 2 ? inWindow / (windowMs / 1000) : 0, windowS: windowMs / 1000 };
  }
  const spanMs = now - oldest;
  const windowS = spanMs / 1000;
  if (inWindow < 2 || spanMs <= 0) return { batchesPerS: 0, windowS };
  return { batchesPerS: (inWindow - 1) / windowS, windowS };
}

export interface WorkersNeededInput {
  /** λ: batches cut per second. */
  readonly batchesPerS: number;
  /** T̄: mean proof time in seconds; null when no proof time is known yet. */
  readonly meanProofS: number | null;
  /** B: jobs waiting or being proven. */
  readonly backlog: number;
  /** The backlog should be drained within this many seconds. */
  readonly horizonS: number;
}

/**
 * Workers (proofs in flight at once) that keep up: the larger of ⌈λ·T̄⌉ (Little's law: the average
 * number of jobs in service at the arrival rate) and ⌈B·T̄ / horizon⌉ (drain the backlog within the
 * horizon); at least 1 while there is anything to do (B > 0 or λ > 0), 0 when there is nothing.
 * Without a known proof time a backlog asks for one worker per job.
 */
export function workersNeeded(w: WorkersNeededInput): number {
  const rate = positive(w.batchesPerS);
  const backlog = Math.ceil(positive(w.backlog));
  if (rate === 0 && backlog === 0) return 0;
  const t = w.meanProofS === null || !Number.isFinite(w.meanProofS) ? null : positive(w.meanProofS);
  if (t === null) return backlog > 0 ? backlog : 1;
  const horizon = positive(w.horizonS);
  const inService = ceilish(rate * t);
  const drain = horizon > 0 ? ceilish((backlog * t) / horizon) : backlog;
  return Math.max(1, inService, drain);
}

interface AutoscaleInput {
  readonly batchBuiltAt: readonly number[];
  readonly now: number;
  readonly meanProofMs: number | null;
  readonly queued: number;
  readonly leased: number;
  /** Accepted operations not yet cut into a batch, and the batches they need: backlog too. */
  readonly uncutOperations: number;
  readonly uncutBatches: number;
}

/**
 * The workers to ask for: the backlog is every batch still to prove, the ones cut (queued and
 * leased jobs) and the ones the accepted operations not yet cut will make (cutting pauses while
 * too many batches wait for proofs, so jobs alone under-count a busy sequencer).
 */
export function autoscaleSignal(a: AutoscaleInput): AutoscaleSignal {
  const { batchesPerS, windowS } = batchRate(a.batchBuiltAt, a.now);
  const meanProofS = a.meanProofMs === null ? null : a.meanProofMs / 1000;
  const uncut = Math.ceil(positive(a.uncutBatches));
  const backlog = a.queued + a.leased + uncut;
  const needed = workersNeeded({ batchesPerS, meanProofS, backlog, horizonS: DRAIN_HORIZON_S });
  const perHour = batchesPerS * 3600;
  const rateText = `${num(perHour)} batches/h over ${num(windowS)} s`;
  const toCut = uncut > 0 ? `, ${uncut} to cut from ${positive(a.uncutOperations)} pending operations` : "";
  const backlogText = `backlog ${backlog} (${a.queued} queued, ${a.leased} leased${toCut})`;
  let reason: string;
  if (needed === 0) {
    reason = `nothing to prove: ${rateText}, ${backlogText}`;
  } else if (meanProofS === null) {
    reason = backlog > 0
      ? `no proof time known yet: one worker per job of the ${backlogText}; ${rateText}`
      : `no proof time known yet: ${rateText}, ${backlogText}; 1 worker to start`;
  } else {
    const inService = batchesPerS * meanProofS;
    const drain = (backlog * meanProofS) / DRAIN_HORIZON_S;
    reason =
      `${rateText} × mean proof ${num(meanProofS)} s = ${num(inService)} proofs in flight; ` +
      `${backlogText} × ${num(meanProofS)} s / ${DRAIN_HORIZON_S} s = ${num(drain)} to drain it in ${DRAIN_HORIZON_S / 60} min` +
      ` → ${needed} worker${needed === 1 ? "" : "s"}`;
  }
  return {
    workersNeeded: needed, batchesPerHour: round(perHour, 3), windowS: round(windowS, 3), meanProofS: meanProofS === null ? null : round(meanProofS, 3),
    backlogBatches: backlog, pendingOperations: positive(a.uncutOperations), reason,
  };
}

function finiteOr0(n: number | undefined): number {
  return typeof n === "number" && Number.isFinite(n) ? n : 0;
}

function positive(n: number): number {
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/** ⌈x⌉, forgiving float noise (2.0000000001 → 2). */
function ceilish(x: number): number {
  return Math.ceil(x - 1e-9);
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** A short decimal for the reason line: up to 2 fraction digits, 3 significant for small values. */
function num(x: number): string {
  if (x === 0) return "0";
  if (Math.abs(x) < 0.01) return x.toPrecision(2).replace(/\.?0+(e|$)/, "$1");
  return String(round(x, 2));
}
