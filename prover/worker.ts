/**
 * Prover worker: a child process (forked by prover/pool.ts) that proves one job at a time.
 * It knows every circuit of its pool (a deployment with several batch shapes has one per shape), checks
 * at start that their files can be read, and loads a circuit's wasm and vkey the first time a job
 * needs it, then keeps it warm, with snarkjs' curve, for later jobs. The zkey stays on disk (the
 * native prover maps it per proof, snarkjs reads it per proof), so a loaded circuit costs about its
 * wasm's size (5.3 MB for the test config's batch circuit) plus a few KB of vkey.
 * Talks to the pool only over the IPC channel and exits as soon as the channel closes, so a dead
 * pool (even one killed with SIGKILL) leaves no worker behind: snarkjs proves on worker threads,
 * so this event loop sees the disconnect mid-proof (only the synchronous witness step delays it).
 * An external prover (command backend) is killed when this process exits; the pool also kills
 * this worker's whole process group whenever it sees the worker go, for exits no handler sees (SIGKILL).
 */
import type { ChildProcess } from "node:child_process";
import { checkArtifactFiles, checkBackendSetup, loadArtifacts, proveJob, ProveError, warmCurve, type LoadedArtifacts } from "./prove";
import { circuitLabel, type CircuitArtifacts, type ProofJob, type ProofResult, type ProverBackend } from "./types";

/** Pool → worker. `artifacts`: the circuits it serves (one, or a list: the first is a job's default). */
export type ToWorker =
  | { readonly type: "init"; readonly artifacts: CircuitArtifacts | readonly CircuitArtifacts[]; readonly backend: ProverBackend; readonly tempDirPrefix: string }
  | { readonly type: "prove"; readonly taskId: number; readonly job: ProofJob };

/** Worker → pool. */
export type FromWorker =
  | { readonly type: "ready"; readonly loadMs: number }
  | { readonly type: "init_failed"; readonly error: WireError }
  /** A job's circuit was loaded (its first job on this worker), before the job's stages. */
  | { readonly type: "loaded"; readonly taskId: number; readonly circuitHash: string; readonly loadMs: number }
  | { readonly type: "stage"; readonly taskId: number; readonly stage: "witness" | "prove" | "verify" }
  | { readonly type: "done"; readonly taskId: number; readonly result: Omit<ProofResult, "worker">; readonly maxRssMb: number }
  | { readonly type: "failed"; readonly taskId: number; readonly error: WireError };

export interface WireError {
  readonly message: string;
  readonly code: string;
}

/** A job for a circuit the worker does not serve. */
class CircuitError extends Error {}

function toWire(e: unknown): WireError {
  if (e instanceof ProveError) return { message: e.message, code: e.code };
  if (e instanceof CircuitError) return { message: e.message, code: "circuit" };
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
  let setup: { readonly circuits: ReadonlyMap<string, CircuitArtifacts>; readonly first: string; readonly backend: ProverBackend; readonly tempDirPrefix: string } | null = null;
  /** Circuits loaded so far, by hash: each is loaded by its first job and kept. */
  const loaded = new Map<string, LoadedArtifacts>();
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
          const list: readonly CircuitArtifacts[] = Array.isArray(m.artifacts) ? (m.artifacts as readonly CircuitArtifacts[]) : [m.artifacts as CircuitArtifacts];
          if (list.length === 0) throw new ProveError("artifacts", "no circuit to serve");
          for (const a of list) await checkArtifactFiles(a);
          await checkBackendSetup(m.backend);
          setup = { circuits: new Map(list.map((a) => [a.circuitHash, a])), first: list[0].circuitHash, backend: m.backend, tempDirPrefix: m.tempDirPrefix };
          await warmCurve();
          send({ type: "ready", loadMs: Math.round(performance.now() - t) });
        } catch (e) {
          send({ type: "init_failed", error: toWire(e) });
          await exit(1);
        }
      } else if (m.type === "prove") {
        if (!setup) {
          send({ type: "failed", taskId: m.taskId, error: { message: "worker received a job before init", code: "internal" } });
          return;
        }
        try {
          const hash = m.job.circuitHash ?? setup.first;
          let circuit = loaded.get(hash);
          if (!circuit) {
            const artifacts = setup.circuits.get(hash);
            // The pool refuses such jobs before they reach a worker; this is the worker's own guard.
            if (!artifacts) throw new CircuitError(`batch ${m.job.batchNumber}: this prover has no circuit ${hash} (it serves ${[...setup.circuits.keys()].map((h) => circuitLabel({ circuitHash: h })).join(", ")})`);
            const t = performance.now();
            circuit = await loadArtifacts(artifacts, { backend: setup.backend, tempDirPrefix: setup.tempDirPrefix });
            loaded.set(hash, circuit);
            send({ type: "loaded", taskId: m.taskId, circuitHash: hash, loadMs: Math.round(performance.now() - t) });
          }
          const result = await proveJob(circuit, m.job, {
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
