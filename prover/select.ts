/**
 * One entry for the two prover modes behind the Prover interface:
 * - embedded (default, no services): worker processes on this machine (prover/pool.ts);
 * - cluster: jobs on a BullMQ queue in Redis, proven by `modex prover worker` processes anywhere
 *   (prover/cluster.ts); this process runs no worker itself.
 */
import type { LogFn } from "./pool";
import { createProverPool } from "./pool";
import { SNARKJS_BACKEND, type CircuitArtifacts, type Prover, type ProverBackend } from "./types";
import { defaultBackend, nativeProverAvailable } from "./backend";
import { nativeStatus } from "../core/native";

export type ProverMode = "embedded" | "cluster";

export interface ProverSpec {
  readonly mode: ProverMode;
  /** The batch circuit, or one per batch shape (the deployment's first shape first). */
  readonly artifacts: CircuitArtifacts | readonly CircuitArtifacts[];
  readonly log?: LogFn;
  /** embedded: worker processes (default from cores and memory). */
  readonly workers?: number;
  /** embedded: the Groth16 step (cluster workers choose their own). */
  readonly backend?: ProverBackend;
  /** cluster: redis://host:port[/db]. */
  readonly redisUrl?: string;
}

export async function createProver(spec: ProverSpec): Promise<Prover> {
  if (spec.mode === "embedded") {
    return createProverPool({ artifacts: spec.artifacts, size: spec.workers, backend: spec.backend ?? defaultBackend(spec.log), ...(spec.log ? { log: spec.log } : {}) });
  }
  if (!spec.redisUrl) throw new Error("cluster mode needs a Redis URL (--redis redis://host:6379)");
  // Loaded only in cluster mode: an embedded node never needs bullmq.
  const { createClusterProver } = await import("./cluster");
  return createClusterProver({ redisUrl: spec.redisUrl, artifacts: spec.artifacts, ...(spec.log ? { log: spec.log } : {}) });
}

/**
 * `--backend native|snarkjs|command` with `--prover-command "CMD ARGS"` and `--prover-threads N` → a
 * ProverBackend; throws a usage message. No `--backend`: native when it was built, else snarkjs
 * (prover/backend.ts says so once through `log`).
 */
export function parseBackend(kind: string | undefined, command: string | undefined, threads?: string, log?: LogFn): ProverBackend {
  const threadCount = parseThreads(threads);
  if (kind === undefined) {
    if (command !== undefined) return commandBackend(command);
    const b = defaultBackend(log);
    if (threads !== undefined && b.kind !== "native") throw new Error(`--prover-threads needs the native prover, which is not available: ${nativeStatus().reason ?? "unknown reason"}`);
    return b.kind === "native" ? { kind: "native", threads: threadCount } : b;
  }
  if (threads !== undefined && kind !== "native") throw new Error("--prover-threads is only used with --backend native");
  if (kind === "native") {
    if (command !== undefined) throw new Error("--prover-command is only used with --backend command");
    if (!nativeProverAvailable()) throw new Error(`--backend native: the native prover is not available: ${nativeStatus().reason ?? "unknown reason"}`);
    return { kind: "native", threads: threadCount };
  }
  if (kind === "snarkjs") {
    if (command !== undefined) throw new Error("--prover-command is only used with --backend command");
    return SNARKJS_BACKEND;
  }
  if (kind !== "command") throw new Error(`--backend must be native, snarkjs or command, got ${JSON.stringify(kind)}`);
  if (!command) throw new Error("--backend command needs --prover-command \"PROVER [ARGS]\" (called as PROVER [ARGS] <zkey> <witness.wtns> <proof.json> <public.json>)");
  return commandBackend(command);
}

function parseThreads(s: string | undefined): number {
  if (s === undefined) return 0;
  if (!/^\d+$/.test(s) || Number(s) > 1024) throw new Error(`--prover-threads must be an integer from 0 (every core) to 1024, got ${JSON.stringify(s)}`);
  return Number(s);
}

function commandBackend(command: string): ProverBackend {
  const parts = command.trim().split(/\s+/).filter(Boolean);
  if (parts.length === 0) throw new Error("--prover-command is empty");
  return { kind: "command", command: parts };
}

export function parseProverMode(s: string | undefined): ProverMode {
  if (s === undefined || s === "embedded") return "embedded";
  if (s === "cluster") return "cluster";
  throw new Error(`--prover must be embedded or cluster, got ${JSON.stringify(s)}`);
}
