/** The prover's boundary: the sequencer hands over a batch's circuit input and gets a verified proof back. */
import type { CircuitInput } from "../core/batch";

/** Files a worker needs to prove one circuit; identical on every machine that proves it. */
export interface CircuitArtifacts {
  /** sha256 over the circuit sources and parameters (circuits/compile.ts). */
  readonly circuitHash: string;
  readonly wasmPath: string;
  readonly zkeyPath: string;
  readonly vkeyPath: string;
  /** A short name for logs and status (the batch circuit's name, e.g. "batch-a2-b1-o1-d1-n2-m1-f2"); optional. */
  readonly name?: string;
}

/** The circuits a prover serves, as a non-empty list with distinct hashes (the first is the default circuit). */
export function circuitList<T extends Pick<CircuitArtifacts, "circuitHash">>(artifacts: T | readonly T[]): readonly T[] {
  const list: readonly T[] = Array.isArray(artifacts) ? (artifacts as readonly T[]) : [artifacts as T];
  if (list.length === 0) throw new RangeError("a prover needs at least one circuit's artifacts");
  const seen = new Set<string>();
  for (const a of list) {
    if (typeof a?.circuitHash !== "string" || a.circuitHash === "") throw new RangeError(`circuit artifacts need a circuitHash, got ${JSON.stringify(a)}`);
    if (seen.has(a.circuitHash)) throw new RangeError(`circuit ${a.circuitHash} is listed twice`);
    seen.add(a.circuitHash);
  }
  return list;
}

/** A circuit as logs name it: the first 16 hex digits of its hash (as in its cluster queue's name). */
export function circuitLabel(a: Pick<CircuitArtifacts, "circuitHash">): string {
  return a.circuitHash.slice(0, 16);
}

export interface Groth16Proof {
  readonly pi_a: string[];
  readonly pi_b: string[][];
  readonly pi_c: string[];
  readonly protocol: string;
  readonly curve: string;
}

export interface ProofJob {
  readonly batchNumber: number;
  readonly circuitInput: CircuitInput;
  /** The public inputs core/ computed (PROTOCOL.md §5.2, decimal); the proof's public signals must equal them, in order. */
  readonly publicSignals: readonly string[];
  /**
   * Which circuit proves it (the batch's shape: core/params.ts `Shape`). Absent: the prover's first
   * (or only) circuit. A prover that does not have this circuit refuses the job (code "circuit").
   */
  readonly circuitHash?: string;
}

export interface ProofTimings {
  readonly witnessMs: number;
  readonly proveMs: number;
  readonly verifyMs: number;
}

export interface ProofResult {
  readonly batchNumber: number;
  readonly proof: Groth16Proof;
  readonly publicSignals: string[];
  readonly timings: ProofTimings;
  /** Which worker produced it ("host/pid" in a cluster, the pid embedded), for logs and metrics. */
  readonly worker: string;
}

/**
 * How a worker turns a witness into a proof. Witness generation always stays in the worker (circom
 * wasm); only the Groth16 step is swappable.
 * - native: Modex's own C++ prover (native/, built by `npm ci`), in the worker process on `threads`
 *   threads (0: every core). The default whenever the build succeeded (prover/backend.ts).
 * - snarkjs: in-process snarkjs, the fallback and the reference.
 * - command: an external prover with rapidsnark's argument convention,
 *   `COMMAND... <zkey> <witness.wtns> <proof.json> <public.json>`; `snarkjs groth16 prove` and
 *   native/build/Release/modex-prover take the same.
 */
export type ProverBackend =
  | { readonly kind: "native"; readonly threads: number }
  | { readonly kind: "snarkjs" }
  | { readonly kind: "command"; readonly command: readonly string[] };

export const SNARKJS_BACKEND: ProverBackend = { kind: "snarkjs" };
/** The native prover on every core. */
export const NATIVE_BACKEND: ProverBackend = { kind: "native", threads: 0 };

/** "native", "native:2t", "snarkjs" or the command, for logs and status. */
export function backendLabel(b: ProverBackend): string {
  if (b.kind === "native") return b.threads > 0 ? `native:${b.threads}t` : "native";
  return b.kind === "snarkjs" ? "snarkjs" : `command:${b.command.join(" ")}`;
}

/** What happens to a job inside the prover, reported to whoever asked for the proof (the sequencer persists it). */
export type ProverEvent =
  /** A worker took the job (attempt counts from 1). */
  | { readonly type: "leased"; readonly batchNumber: number; readonly worker: string; readonly attempt: number }
  /** An attempt ended without a proof: the worker died, stalled or the job failed on it. */
  | { readonly type: "attempt_failed"; readonly batchNumber: number; readonly worker: string | null; readonly attempt: number; readonly error: string; readonly willRetry: boolean };

export interface ProveOptions {
  readonly onEvent?: (e: ProverEvent) => void;
}

/** One worker as the operator sees it. */
export interface ProverWorkerStatus {
  /** "host/pid" (cluster) or "pid" (embedded). */
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  readonly state: "starting" | "idle" | "busy" | "draining" | "stopping";
  /** Its first (or only) circuit. */
  readonly circuitHash: string;
  /** Every circuit it serves, its first first; present only when it serves more than one. */
  readonly circuits?: readonly string[];
  readonly backend: string;
  /** Jobs it may run at once. */
  readonly concurrency: number;
  /** Batches it is proving now. */
  readonly batches: readonly number[];
  readonly jobsDone: number;
  readonly jobsFailed: number;
  /** ms since epoch. */
  readonly startedAt: number;
}

/**
 * Whether a worker serves none of the circuits the prover proves (then it refuses all of its jobs).
 * A worker serving some of them takes the jobs of those.
 */
export function servesNone(w: Pick<ProverWorkerStatus, "circuitHash" | "circuits">, proverCircuits: readonly string[]): boolean {
  const served = w.circuits ?? [w.circuitHash];
  return !served.some((h) => proverCircuits.includes(h));
}

export interface ProverStatus {
  readonly mode: "embedded" | "cluster";
  /** The first (or only) circuit. */
  readonly circuitHash: string;
  /** Every circuit it proves, the first first; present only when it proves more than one. */
  readonly circuits?: readonly string[];
  readonly backend: string;
  /** Jobs waiting for a worker. */
  readonly queued: number;
  /** Jobs a worker holds. */
  readonly leased: number;
  readonly workers: readonly ProverWorkerStatus[];
  /** Cluster: where the queue lives (password removed). */
  readonly queue?: string;
}

/** Proves batches; several may be in flight at once. Every result is verified against the vkey before it resolves. */
export interface Prover {
  prove(job: ProofJob, opts?: ProveOptions): Promise<ProofResult>;
  /** Jobs waiting or running. */
  readonly pending: number;
  /** The circuit it proves (its first, when several); the sequencer verifies each proof with `vkeyPath` before accepting it. */
  readonly artifacts?: Pick<CircuitArtifacts, "circuitHash" | "vkeyPath">;
  /**
   * Every circuit it proves, `artifacts` first (a deployment with several batch shapes: one each). A
   * proof of a job that names `circuitHash` verifies under that circuit's `vkeyPath`.
   */
  readonly circuits?: readonly Pick<CircuitArtifacts, "circuitHash" | "vkeyPath" | "name">[];
  /** The operator view: queue, leases, workers. */
  status?(): Promise<ProverStatus>;
  close(): Promise<void>;
}
