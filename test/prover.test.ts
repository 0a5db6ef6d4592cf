/**
 * Prover pool against real worker processes and real Groth16 proofs of the tiny fixture circuit
 * (test/fixtures/tiny.circom: public signals [h = Poseidon(a, b), c], with c === a·b).
 */
import { promises as fsp, readdirSync, readFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { poseidon2 } from "poseidon-lite";
import { compileCircuit, type CompiledCircuit } from "../circuits/compile";
import { ensureKeys, releaseSnarkjsCurve, type Keys } from "../prover/keys";
import { createProverPool, defaultPoolSize, estimateProofMemory, poolSizeFor, ProverError, type ProverPool } from "../prover/pool";
import type { CircuitArtifacts, ProofJob } from "../prover/types";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const snarkjs = require("snarkjs");

const FIXTURE = readFileSync(path.join(__dirname, "fixtures", "tiny.circom"), "utf8");
const quiet = (): void => undefined;

/** A valid job for the tiny circuit: its single "batch public input" is h = Poseidon(a, b). */
function tinyJob(batchNumber: number, a: number, b: number, c = a * b): ProofJob {
  return {
    batchNumber,
    circuitInput: { a: String(a), b: String(b), c: String(c) },
    publicInput: poseidon2([BigInt(a), BigInt(b)]).toString(),
  };
}

interface LogLine {
  msg: string;
  worker?: number;
  batch?: number;
  stage?: string;
  attempt?: number;
  [k: string]: unknown;
}

/** Child processes of this (jest) process running the prover worker entry. */
function workerChildren(): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid !== process.pid) continue;
      const cmd = readFileSync(`/proc/${d}/cmdline`, "utf8");
      if (cmd.includes("worker.ts")) out.push(Number(d));
    } catch {
      // exited while we looked
    }
  }
  return out;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("prover pool", () => {
  let circuit: CompiledCircuit;
  let keysRoot: string;
  let keys: Keys;
  let artifacts: CircuitArtifacts;
  const pools: ProverPool[] = [];

  function pool(opts: { size?: number; maxAttempts?: number; log?: (o: object) => void; artifacts?: CircuitArtifacts }): ProverPool {
    const p = createProverPool({ artifacts, log: quiet, ...opts });
    pools.push(p);
    return p;
  }

  beforeAll(async () => {
    keysRoot = await fsp.mkdtemp(path.join(os.tmpdir(), "modex-prover-test-"));
    circuit = await compileCircuit({ name: "tiny", mainSource: FIXTURE, log: quiet });
    keys = await ensureKeys(circuit, { keysRoot, log: quiet });
    artifacts = { circuitHash: circuit.circuitHash, wasmPath: circuit.wasmPath, zkeyPath: keys.zkeyPath, vkeyPath: keys.vkeyPath };
  });

  // Every test starts without workers of earlier tests.
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.close()));
  });

  afterAll(async () => {
    await releaseSnarkjsCurve();
    if (keysRoot) await fsp.rm(keysRoot, { recursive: true, force: true });
  });

  test("a proof round-trips through a worker process and verifies", async () => {
    const logs: LogLine[] = [];
    const p = pool({ size: 1, log: (o) => logs.push(o as LogLine) });
    const job = tinyJob(1, 3, 5);
    const r = await p.prove(job);
    expect(r.batchNumber).toBe(1);
    expect(r.publicSignals).toEqual([job.publicInput, "15"]);
    expect(await snarkjs.groth16.verify(keys.vkey, r.publicSignals, r.proof)).toBe(true);
    expect(r.proof.protocol).toBe("groth16");
    expect(Number(r.worker)).not.toBe(process.pid);
    expect(p.workers().map((w) => String(w.pid))).toContain(r.worker);
    for (const ms of Object.values(r.timings)) expect(ms).toBeGreaterThan(0);
    expect(p.pending).toBe(0);
    // The worker stays warm: a second job runs on the same process.
    const r2 = await p.prove(tinyJob(2, 7, 11));
    expect(r2.worker).toBe(r.worker);
    expect(logs.filter((l) => l.msg === "prover.job.done")).toHaveLength(2);
  });

  test("two jobs run in parallel on a pool of 2", async () => {
    const p = pool({ size: 2 });
    await waitFor(() => p.workers().filter((w) => w.state === "idle").length === 2, "two ready workers");
    const jobs = [p.prove(tinyJob(10, 2, 9)), p.prove(tinyJob(11, 4, 4))];
    expect(p.pending).toBe(2);
    expect(p.workers().filter((w) => w.state === "busy").map((w) => w.batchNumber).sort()).toEqual([10, 11]);
    const [a, b] = await Promise.all(jobs);
    expect(a.worker).not.toBe(b.worker);
    expect(a.publicSignals[1]).toBe("18");
    expect(b.publicSignals[1]).toBe("16");
    expect(p.pending).toBe(0);
  });

  test("jobs queue FIFO when every worker is busy", async () => {
    const started: number[] = [];
    const p = pool({ size: 1, log: (o) => (o as LogLine).msg === "prover.job.start" && started.push((o as LogLine).batch as number) });
    const results = await Promise.all([20, 21, 22, 23].map((n) => p.prove(tinyJob(n, n, 2))));
    expect(results.map((r) => r.batchNumber)).toEqual([20, 21, 22, 23]);
    expect(started).toEqual([20, 21, 22, 23]);
  });

  test("invalid input rejects with a clear error and the worker keeps serving", async () => {
    const p = pool({ size: 1 });
    const err = await p.prove(tinyJob(30, 3, 5, 16)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProverError);
    expect((err as ProverError).code).toBe("witness");
    expect((err as ProverError).batchNumber).toBe(30);
    expect((err as Error).message).toMatch(/^batch 30: witness calculation failed.*Assert Failed/);

    await expect(p.prove({ ...tinyJob(31, 3, 5), circuitInput: { a: "3", b: "5" } })).rejects.toThrow(/batch 31: witness calculation failed/);
    // A proof whose public signal is not the batch's public input is never returned.
    await expect(p.prove({ ...tinyJob(32, 3, 5), publicInput: "12345" })).rejects.toMatchObject({ code: "public_input", message: expect.stringMatching(/batch 32: .*differs from the expected public input 12345/) });
    expect((await p.prove(tinyJob(33, 3, 5))).batchNumber).toBe(33);
  });

  test("a proof that does not verify is an error, never a result", async () => {
    // Keys from a second, independent setup: the zkey proves, but not under this vkey.
    const otherRoot = await fsp.mkdtemp(path.join(os.tmpdir(), "modex-prover-test-other-"));
    try {
      const other = await ensureKeys(circuit, { keysRoot: otherRoot, log: quiet });
      const p = pool({ size: 1, artifacts: { ...artifacts, vkeyPath: other.vkeyPath } });
      await expect(p.prove(tinyJob(40, 3, 5))).rejects.toMatchObject({ code: "verify", message: expect.stringMatching(/^batch 40: the proof does not verify/) });
    } finally {
      await fsp.rm(otherRoot, { recursive: true, force: true });
    }
  });

  test("a worker SIGKILLed mid-proof is replaced and the job completes", async () => {
    const logs: LogLine[] = [];
    let killed = 0;
    const p = pool({
      size: 1,
      log: (o) => {
        const l = o as LogLine;
        logs.push(l);
        // Fault injection: kill the worker as soon as it starts the Groth16 prove of batch 50.
        if (l.msg === "prover.job.stage" && l.batch === 50 && l.stage === "prove" && killed === 0) {
          killed = l.worker as number;
          process.kill(killed, "SIGKILL");
        }
      },
    });
    const r = await p.prove(tinyJob(50, 6, 7));
    expect(killed).toBeGreaterThan(0);
    expect(r.worker).not.toBe(String(killed));
    expect(await snarkjs.groth16.verify(keys.vkey, r.publicSignals, r.proof)).toBe(true);
    expect(logs.find((l) => l.msg === "prover.worker.exit")).toMatchObject({ worker: killed, signal: "SIGKILL", state: "busy" });
    expect(logs.find((l) => l.msg === "prover.job.retry")).toMatchObject({ batch: 50, attempt: 1 });
    expect(logs.find((l) => l.msg === "prover.job.done")).toMatchObject({ batch: 50, attempt: 2 });
    expect(isAlive(killed)).toBe(false);
    expect(p.workers()).toHaveLength(1);
  });

  test("a job whose workers keep dying rejects after maxAttempts, naming the batch and the cause", async () => {
    const p = pool({
      size: 1,
      maxAttempts: 2,
      log: (o) => {
        const l = o as LogLine;
        if (l.msg === "prover.job.stage" && l.batch === 60 && l.stage === "witness") process.kill(l.worker as number, "SIGKILL");
      },
    });
    const err = (await p.prove(tinyJob(60, 2, 3)).catch((e: unknown) => e)) as ProverError;
    expect(err).toBeInstanceOf(ProverError);
    expect(err.code).toBe("worker_died");
    expect(err.attempts).toBe(2);
    expect(err.message).toMatch(/^batch 60: proving failed after 2 attempts; last: worker \d+ killed by SIGKILL while proving/);
    // The pool recovers for the next job.
    expect((await p.prove(tinyJob(61, 2, 3))).batchNumber).toBe(61);
  });

  test("a job over jobTimeoutMs has its worker killed and is retried, then rejected", async () => {
    const p = createProverPool({ artifacts, size: 1, maxAttempts: 2, jobTimeoutMs: 1, log: quiet });
    pools.push(p);
    await expect(p.prove(tinyJob(65, 2, 3))).rejects.toMatchObject({
      code: "worker_died",
      attempts: 2,
      message: expect.stringMatching(/^batch 65: proving failed after 2 attempts; last: worker \d+ timed out after 1 ms while proving/),
    });
  });

  test("missing artifacts reject queued jobs instead of respawning forever", async () => {
    const p = pool({ size: 1, maxAttempts: 2, artifacts: { ...artifacts, zkeyPath: path.join(keysRoot, "missing.zkey") } });
    await expect(p.prove(tinyJob(70, 1, 1))).rejects.toMatchObject({
      code: "workers_cannot_start",
      message: expect.stringMatching(/^batch 70: prover workers cannot start: cannot read proving key .*missing\.zkey/),
    });
  });

  test("close() rejects outstanding jobs and leaves no child processes", async () => {
    const pids = new Set<number>();
    const p = pool({ size: 2, log: (o) => typeof (o as LogLine).worker === "number" && pids.add((o as LogLine).worker as number) });
    await waitFor(() => p.workers().filter((w) => w.state === "idle").length === 2, "two ready workers");
    for (const w of p.workers()) pids.add(w.pid);
    expect(workerChildren().sort()).toEqual([...pids].sort());
    const outstanding = [1, 2, 3].map((i) => p.prove(tinyJob(80 + i, i, i)).catch((e: unknown) => e));
    await p.close();
    for (const e of await Promise.all(outstanding)) expect(e).toMatchObject({ code: "closed" });
    expect(p.workers()).toEqual([]);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    await expect(p.prove(tinyJob(90, 1, 1))).rejects.toMatchObject({ code: "closed" });
    expect(workerChildren()).toEqual([]);
  });

  test("default size: half the cores, capped by memory", () => {
    const GiB = 2 ** 30;
    const MiB = 2 ** 20;
    expect(poolSizeFor({ cpus: 2, freeMemBytes: 16 * GiB, zkeyBytes: 166 * MiB })).toBe(1);
    expect(poolSizeFor({ cpus: 1, freeMemBytes: 16 * GiB, zkeyBytes: 0 })).toBe(1);
    expect(poolSizeFor({ cpus: 16, freeMemBytes: 64 * GiB, zkeyBytes: 166 * MiB })).toBe(8);
    // A 2 GiB proving key needs ~12 GiB per proof: 20 GiB free allows 1, 64 GiB allows 4.
    expect(estimateProofMemory(2 * GiB)).toBeGreaterThan(12 * GiB);
    expect(poolSizeFor({ cpus: 16, freeMemBytes: 20 * GiB, zkeyBytes: 2 * GiB })).toBe(1);
    expect(poolSizeFor({ cpus: 16, freeMemBytes: 64 * GiB, zkeyBytes: 2 * GiB })).toBe(4);
    // Never below one worker, even when memory looks short.
    expect(poolSizeFor({ cpus: 16, freeMemBytes: 0, zkeyBytes: 2 * GiB })).toBe(1);
    expect(defaultPoolSize(artifacts)).toBeGreaterThanOrEqual(1);
    expect(() => createProverPool({ artifacts, size: 0, log: quiet })).toThrow(/positive integer/);
  });
});
