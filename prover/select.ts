/**
 * One entry for the two prover modes behind the Prover interface:
 * - embedded (default, no services): worker processes on this machine (prover/pool.ts);
 * - cluster: jobs on a BullMQ queue in Redis, proven by `modex prover worker` processes anywhere
 *   (prover/cluster.ts); this process runs no worker itself.
 */
import type { LogFn } from "./pool";
import { createProverPool } from "./pool";
import { SNARKJS_BACKEND, type CircuitArtifacts, type Prover, type ProverBackend } from "./types";

export type ProverMode = "embedded" | "cluster";

export interface ProverSpec {
  readonly mode: ProverMode;
  readonly artifacts: CircuitArtifacts;
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
    return createProverPool({ artifacts: spec.artifacts, size: spec.workers, backend: spec.backend ?? SNARKJS_BACKEND, ...(spec.log ? { log: spec.log } : {}) });
  }
  if (!spec.redisUrl) throw new Error("cluster mode needs a Redis URL (--redis redis://host:6379)");
  // Loaded only in cluster mode: an embedded node never needs bullmq.
  const { createClusterProver } = await import("./cluster");
  return createClusterProver({ redisUrl: spec.redisUrl, artifacts: spec.artifacts, ...(spec.log ? { log: spec.log } : {}) });
}

/** `--backend snarkjs|command` with `--prover-command "CMD ARGS"` → a ProverBackend; throws a usage message. */
export function parseBackend(kind: string | undefined, command: string | undefined): ProverBackend {
  if (kind === undefined || kind === "snarkjs") {
    if (command !== undefined && kind === "snarkjs") throw new Error("--prover-command is only used with --backend command");
    if (command !== undefined) return commandBackend(command);
    return SNARKJS_BACKEND;
  }
  if (kind !== "command") throw new Error(`--backend must be snarkjs or command, got ${JSON.stringify(kind)}`);
  if (!command) throw new Error("--backend command needs --prover-command \"PROVER [ARGS]\" (called as PROVER [ARGS] <zkey> <witness.wtns> <proof.json> <public.json>)");
  return commandBackend(command);
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
