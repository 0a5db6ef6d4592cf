/**
 * Prover worker: a child process (forked by prover/pool.ts) that proves one job at a time.
 * Keeps the circuit wasm, the vkey and snarkjs' curve warm between jobs.
 * Talks to the pool only over the IPC channel and exits as soon as the channel closes, so a dead
 * pool (even one killed with SIGKILL) leaves no worker behind: snarkjs proves on worker threads,
 * so this event loop sees the disconnect mid-proof (only the synchronous witness step delays it).
 * An external prover (command backend) is killed when this process exits; the pool also kills
 * this worker's whole process group whenever it sees the worker go, for exits no handler sees (SIGKILL).
 */
import type { ChildProcess } from "node:child_process";
import { loadArtifacts, proveJob, ProveError, warmCurve, type LoadedArtifacts } from "./prove";
import type { CircuitArtifacts, ProofJob, ProofResult, ProverBackend } from "./types";

/** Pool → worker. */
export type ToWorker =
  | { readonly type: "init"; readonly artifacts: CircuitArtifacts; readonly backend: ProverBackend; readonly tempDirPrefix: string }
  | { readonly type: "prove"; readonly taskId: number; readonly job: ProofJob };

/** Worker → pool. */
export type FromWorker =
  | { readonly type: "ready"; readonly loadMs: number }
  | { readonly type: "init_failed"; readonly error: WireError }
  | { readonly type: "stage"; readonly taskId: number; readonly stage: "witness" | "prove" | "verify" }
  | { readonly type: "done"; readonly taskId: number; readonly result: Omit<ProofResult, "worker">; readonly maxRssMb: number }
  | { readonly type: "failed"; readonly taskId: number; readonly error: WireError };

export interface WireError {
  readonly message: string;
  readonly code: string;
}

function toWire(e: unknown): WireError {
  if (e instanceof ProveError) return { message: e.message, code: e.code };
  return { message: e instanceof Error ? e.message : String(e), code: "internal" };
}

function send(m: FromWorker): void {
  process.send?.(m);
}

async function main(): Promise<void> {
  if (!process.send) {
    process.stderr.write("prover/worker.ts is a child-process entry; start it through createProverPool (prover/pool.ts)\n");
    process.exit(2);
  }
  let loaded: LoadedArtifacts | null = null;
  // External prover processes now running: they must not outlive this worker.
  const commands = new Set<ChildProcess>();
  const trackCommand = (child: ChildProcess): void => {
    commands.add(child);
    child.once("exit", () => commands.delete(child));
  };
  process.on("exit", () => {
    for (const c of commands) c.kill("SIGKILL");
  });
  // One job at a time: the pool never sends a second before the first answers, but a queue keeps that true regardless.
  let chain: Promise<void> = Promise.resolve();

  process.on("message", (m: ToWorker) => {
    chain = chain.then(async () => {
      if (m.type === "init") {
        const t = performance.now();
        try {
          loaded = await loadArtifacts(m.artifacts, { backend: m.backend, tempDirPrefix: m.tempDirPrefix });
          await warmCurve();
          send({ type: "ready", loadMs: Math.round(performance.now() - t) });
        } catch (e) {
          send({ type: "init_failed", error: toWire(e) });
          await exit(1);
        }
      } else if (m.type === "prove") {
        if (!loaded) {
          send({ type: "failed", taskId: m.taskId, error: { message: "worker received a job before init", code: "internal" } });
          return;
        }
        try {
          const result = await proveJob(loaded, m.job, {
            onStage: (stage) => send({ type: "stage", taskId: m.taskId, stage }),
            onSpawn: trackCommand,
          });
          send({ type: "done", taskId: m.taskId, result, maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024) });
        } catch (e) {
          send({ type: "failed", taskId: m.taskId, error: toWire(e) });
        }
      }
    });
  });

  // The pool closed the channel (close(), or the pool process died): nobody wants a result any more.
  process.on("disconnect", () => void exit(0));
}

/** snarkjs keeps its curve's worker threads alive; terminate them so exit is clean and immediate. */
async function exit(code: number): Promise<never> {
  const g = globalThis as { curve_bn128?: { terminate: () => Promise<void> } | null };
  try {
    await g.curve_bn128?.terminate();
  } catch {
    // exiting anyway
  }
  process.exit(code);
}

if (require.main === module) void main();
