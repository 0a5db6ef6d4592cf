/**
 * What the two sides of cluster mode (prover/cluster.ts, the sequencer's Prover; prover/cluster-worker.ts,
 * `modex prover worker`) agree on: queue and key names, the job payload, the result's shape, worker
 * heartbeats and how a failure's cause travels through BullMQ's `failedReason`.
 */
import { sha256 } from "@noble/hashes/sha256";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils";
import type { ConnectionOptions } from "bullmq";
import type { CircuitInput } from "../core/batch";
import type { ProofJob, ProofResult, ProverWorkerStatus } from "./types";
import { isGroth16Proof, publicSignalsMismatch } from "./verify";

/** BullMQ key prefix of every cluster queue. */
export const QUEUE_PREFIX = "modex";
/** Heartbeat keys: `modex:prover:workers:<host>/<pid>` → JSON ProverWorkerStatus, expiring after HEARTBEAT_TTL_MS. */
export const WORKER_KEY_PREFIX = "modex:prover:workers:";
export const HEARTBEAT_INTERVAL_MS = 2_000;
export const HEARTBEAT_TTL_MS = 10_000;

/** One queue per circuit: a worker only ever consumes the queues of the circuits it has keys for. */
export function queueNameFor(circuitHash: string): string {
  return `proofs-${circuitHash.slice(0, 16)}`;
}

export function workerKey(workerId: string): string {
  return WORKER_KEY_PREFIX + workerId;
}

/**
 * Deterministic job id: a restarted sequencer re-attaches to the job it queued before instead of
 * queueing a duplicate. The public input pins the batch's content, not only its number.
 */
export function jobIdFor(job: Pick<ProofJob, "batchNumber" | "publicSignals">): string {
  return `b${job.batchNumber}-${bytesToHex(sha256(utf8ToBytes(job.publicSignals.join(",")))).slice(0, 12)}`;
}

/** The payload of a queued job. */
export interface ClusterJobData {
  readonly batchNumber: number;
  readonly circuitInput: CircuitInput;
  readonly publicSignals: readonly string[];
  readonly circuitHash: string;
}

/** What a worker reports through job.updateProgress. */
export interface ClusterProgress {
  readonly worker: string;
  readonly attempt: number;
  readonly stage: "leased";
}

/** BullMQ connection options for a redis:// or rediss:// URL (every Queue/Worker/QueueEvents opens its own connection). */
export function connectionFor(url: string, extra: { readonly blocking?: boolean } = {}): ConnectionOptions {
  return { url, ...(extra.blocking ? { maxRetriesPerRequest: null } : {}) };
}

/** The URL with its password removed, for logs and status. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "";
    return u.toString();
  } catch {
    return "<invalid redis url>";
  }
}

/** A rejection's cause, carried in BullMQ's failedReason as "[code] message" so the sequencer can tell why. */
export function encodeFailure(code: string, message: string): string {
  return `[${code}] ${message}`;
}

export function decodeFailure(reason: string | undefined | null): { code: string | null; message: string } {
  const r = reason ?? "unknown error";
  const m = /^\[([a-z_]+)\] ([\s\S]*)$/.exec(r);
  return m ? { code: m[1], message: m[2] } : { code: null, message: r };
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === "string");
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v);
}

/**
 * Checks a worker's return value (it came over the network) against the job. Only its shape and
 * public signal: the sequencer verifies the proof itself before accepting it. Returns the reason it
 * is unusable, or null.
 */
export function checkResult(v: unknown, job: ProofJob): string | null {
  if (typeof v !== "object" || v === null) return "not an object";
  const r = v as Record<string, unknown>;
  if (r.batchNumber !== job.batchNumber) return `batchNumber ${JSON.stringify(r.batchNumber)} is not ${job.batchNumber}`;
  if (!isGroth16Proof(r.proof)) return "proof is not a Groth16 proof object";
  if (!isStringArray(r.publicSignals) || r.publicSignals.length === 0) return "publicSignals malformed";
  const mismatch = publicSignalsMismatch(r.publicSignals, job.publicSignals);
  if (mismatch) return mismatch;
  const t = r.timings as Record<string, unknown> | null | undefined;
  if (typeof t !== "object" || t === null || !isFiniteNumber(t.witnessMs) || !isFiniteNumber(t.proveMs) || !isFiniteNumber(t.verifyMs)) return "timings malformed";
  if (typeof r.worker !== "string" || r.worker.length === 0) return "worker missing";
  return null;
}

/** Copies only the fields a ProofResult has (after checkResult). */
export function toProofResult(v: unknown): ProofResult {
  const r = v as ProofResult;
  return {
    batchNumber: r.batchNumber,
    proof: { pi_a: [...r.proof.pi_a], pi_b: r.proof.pi_b.map((x) => [...x]), pi_c: [...r.proof.pi_c], protocol: r.proof.protocol, curve: r.proof.curve },
    publicSignals: [...r.publicSignals],
    timings: { witnessMs: r.timings.witnessMs, proveMs: r.timings.proveMs, verifyMs: r.timings.verifyMs },
    worker: r.worker,
  };
}

const WORKER_STATES = new Set(["starting", "idle", "busy", "draining", "stopping"]);

/** A heartbeat value, or null when it is not one. */
export function parseWorkerStatus(json: string | null): ProverWorkerStatus | null {
  if (json === null) return null;
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof v !== "object" || v === null) return null;
  const w = v as Record<string, unknown>;
  if (typeof w.id !== "string" || typeof w.host !== "string" || !isFiniteNumber(w.pid)) return null;
  if (typeof w.state !== "string" || !WORKER_STATES.has(w.state) || typeof w.circuitHash !== "string" || typeof w.backend !== "string") return null;
  if (!isFiniteNumber(w.concurrency) || !Array.isArray(w.batches) || !w.batches.every(isFiniteNumber)) return null;
  if (!isFiniteNumber(w.jobsDone) || !isFiniteNumber(w.jobsFailed) || !isFiniteNumber(w.startedAt)) return null;
  // Workers of several circuits list them (older workers do not).
  if (w.circuits !== undefined && (!isStringArray(w.circuits) || w.circuits.length === 0)) return null;
  return {
    id: w.id,
    host: w.host,
    pid: w.pid,
    state: w.state as ProverWorkerStatus["state"],
    circuitHash: w.circuitHash,
    ...(w.circuits !== undefined ? { circuits: [...w.circuits] } : {}),
    backend: w.backend,
    concurrency: w.concurrency,
    batches: [...w.batches],
    jobsDone: w.jobsDone,
    jobsFailed: w.jobsFailed,
    startedAt: w.startedAt,
  };
}

/** One JSON object per line on stderr (the sink the rest of the prover uses). */
export { stderrJsonLog } from "../circuits/compile";

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** How long a process waits for Redis at startup before it gives up with a clear error. */
export const CONNECT_TIMEOUT_MS = 30_000;

/** Rejects with `message` when `p` takes longer than `ms`. */
export async function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** A log sink for connection errors that repeat while Redis is away: at most one line per `everyMs`. */
export function throttled(log: (o: object) => void, everyMs = 5_000): (o: object) => void {
  let last = 0;
  let dropped = 0;
  return (o) => {
    const now = Date.now();
    if (now - last < everyMs) {
      dropped++;
      return;
    }
    last = now;
    log(dropped ? { ...o, repeated: dropped } : o);
    dropped = 0;
  };
}
