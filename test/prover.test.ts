/**
 * Prover pool against real worker processes and real Groth16 proofs of the tiny fixture circuit
 * (test/fixtures/tiny.circom: public signals [h = Poseidon(a, b), c], with c === a·b).
 */
import { fork, spawn } from "node:child_process";
import { existsSync, promises as fsp, readdirSync, readFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { tinyJob, TINY_B_CIRCUIT_SOURCE, TINY_CIRCUIT_SOURCE } from "./helpers/tiny";
import { isAlive, waitUntil } from "./helpers/wait";
import { compileCircuit, type CompiledCircuit } from "../circuits/compile";
import { ensureKeys, releaseSnarkjsCurve, type Keys } from "../prover/keys";
import { createProverPool, defaultPoolSize, estimateProofMemory, poolSizeFor, ProverError, type ProverPool, type ProverPoolOptions } from "../prover/pool";
import { createProofVerifier } from "../prover/verify";
import { defaultBackend } from "../prover/backend";
import { backendLabel, type CircuitArtifacts, type ProofJob, type ProverBackend, type ProverEvent } from "../prover/types";
import type { FromWorker, ToWorker } from "../prover/worker";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const snarkjs = require("snarkjs");

const quiet = (): void => undefined;
/** What a pool with no backend named runs: the native prover when it is built, else snarkjs (prover/backend.ts). */
const DEFAULT_BACKEND = backendLabel(defaultBackend(quiet));

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

interface ProcInfo {
  readonly pid: number;
  readonly pgrp: number;
  readonly cmdline: string;
}

/** Live (not zombie) processes on this machine, with their process group and command line. */
function liveProcesses(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (state === "Z" || state === "X") continue;
      out.push({ pid: Number(d), pgrp: Number(pgrp), cmdline: readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0").join(" ") });
    } catch {
      // exited while we looked
    }
  }
  return out;
}

/** The command-backend temp dirs of worker `pid` (prefix set by the pool). */
function workerTempDirs(pid: number): string[] {
  return readdirSync(os.tmpdir()).filter((n) => n.startsWith(`modex-prove-${pid}-`));
}

/**
 * The snarkjs CLI: `groth16 prove` takes the rapidsnark argument convention. snarkjs' "exports" hide
 * package.json, so it is found next to the CommonJS entry (build/main.cjs).
 */
const SNARKJS_CLI = path.join(path.dirname(require.resolve("snarkjs")), "cli.cjs");
const CLI_BACKEND: ProverBackend = { kind: "command", command: [process.execPath, SNARKJS_CLI, "groth16", "prove"] };
/** A prover command that never finishes. */
const STUCK_BACKEND: ProverBackend = { kind: "command", command: [process.execPath, "-e", "setTimeout(() => undefined, 600000)"] };

const waitFor = (cond: () => boolean, what: string, timeoutMs = 60_000): Promise<void> => waitUntil(cond, what, timeoutMs, 20);

describe("prover pool", () => {
  let circuit: CompiledCircuit;
  let keysRoot: string;
  let keys: Keys;
  let artifacts: CircuitArtifacts;
  const pools: ProverPool[] = [];

  function pool(opts: Partial<ProverPoolOptions>): ProverPool {
    const p = createProverPool({ artifacts, log: quiet, ...opts });
    pools.push(p);
    return p;
  }

  beforeAll(async () => {
    keysRoot = await fsp.mkdtemp(path.join(os.tmpdir(), "modex-prover-test-"));
    circuit = await compileCircuit({ name: "tiny", mainSource: TINY_CIRCUIT_SOURCE, log: quiet });
    keys = await ensureKeys(circuit, { keysRoot, log: quiet });
    artifacts = { circuitHash: circuit.circuitHash, wasmPath: circuit.wasmPath, zkeyPath: keys.zkeyPath, vkeyPath: keys.vkeyPath };
  });

  /** A second circuit with its own keys (built once, on first use). */
  let second: Promise<{ keys: Keys; artifacts: CircuitArtifacts }> | null = null;
  function secondCircuit(): Promise<{ keys: Keys; artifacts: CircuitArtifacts }> {
    second ??= (async () => {
      const c = await compileCircuit({ name: "tiny-b", mainSource: TINY_B_CIRCUIT_SOURCE, log: quiet });
      const k = await ensureKeys(c, { keysRoot, log: quiet });
      return { keys: k, artifacts: { circuitHash: c.circuitHash, wasmPath: c.wasmPath, zkeyPath: k.zkeyPath, vkeyPath: k.vkeyPath, name: "tiny-b" } };
    })();
    return second;
  }

  // Every test starts without workers of earlier tests.
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.close()));
  });

  afterAll(async () => {
    await releaseSnarkjsCurve();
    if (keysRoot) await fsp.rm(keysRoot, { recursive: true, force: true });
  });

  test("the sequencer's own check: a valid proof passes; a tampered, malformed or other batch's proof is refused with the reason", async () => {
    const p = pool({ size: 1 });
    const job = tinyJob(40, 3, 7);
    const r = await p.prove(job);
    const v = await createProofVerifier(artifacts.vkeyPath);
    expect(await v.check(r.proof, r.publicSignals, job.publicSignals)).toBeNull();
    expect(await v.check(r.proof, r.publicSignals, tinyJob(41, 3, 8).publicSignals)).toMatch(/public signal 0 \(data digest\) is \d+, the batch's is/);
    const tampered = { ...r.proof, pi_a: [r.proof.pi_c[0], r.proof.pi_c[1], "1"] };
    expect(await v.check(tampered, r.publicSignals, job.publicSignals)).toMatch(/does not verify/);
    expect(await v.check({ ...r.proof, pi_b: "x" }, r.publicSignals, job.publicSignals)).toMatch(/not a Groth16 proof/);
    expect(await v.check(r.proof, [job.publicSignals[0]], job.publicSignals)).toMatch(/are not 2 decimal field elements/);
  });

  test("verifications that start together leave a process that can exit (one snarkjs curve)", async () => {
    const script = [
      `const { createProofVerifier } = require(${JSON.stringify(path.join(__dirname, "..", "prover", "verify.ts"))});`,
      `const { releaseSnarkjsCurve } = require(${JSON.stringify(path.join(__dirname, "..", "prover", "keys.ts"))});`,
      "(async () => {",
      `  const v = await createProofVerifier(${JSON.stringify(artifacts.vkeyPath)});`,
      '  const proof = { pi_a: ["1", "2", "1"], pi_b: [["1", "2"], ["3", "4"], ["1", "0"]], pi_c: ["1", "2", "1"], protocol: "groth16", curve: "bn128" };',
      '  const r = await Promise.all([1, 2, 3].map(() => v.check(proof, ["5", "6"], ["5", "6"])));',
      "  await releaseSnarkjsCurve();",
      "  console.log(JSON.stringify(r.map((x) => /does not verify/.test(x))));",
      "})();",
    ].join("\n");
    const out = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = spawn(process.execPath, ["--require", require.resolve("tsx/cjs"), "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
      let stdout = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      // Leaked curve threads would keep it alive: it must exit by itself, well within this.
      const t = setTimeout(() => child.kill("SIGKILL"), 30_000);
      child.on("exit", (code) => {
        clearTimeout(t);
        resolve({ code, stdout });
      });
    });
    expect(out).toEqual({ code: 0, stdout: "[true,true,true]\n" });
  });

  test("a proof round-trips through a worker process and verifies", async () => {
    const logs: LogLine[] = [];
    const p = pool({ size: 1, log: (o) => logs.push(o as LogLine) });
    const job = tinyJob(1, 3, 5);
    const r = await p.prove(job);
    expect(r.batchNumber).toBe(1);
    expect(r.publicSignals).toEqual([...job.publicSignals]);
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
    await expect(p.prove({ ...tinyJob(32, 3, 5), publicSignals: ["12345", "15"] })).rejects.toMatchObject({ code: "public_input", message: expect.stringMatching(/batch 32: .*public signal 0 \(data digest\) is \d+, the batch's is 12345/) });
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
    const events: ProverEvent[] = [];
    const err = (await p.prove(tinyJob(60, 2, 3), { onEvent: (e) => events.push(e) }).catch((e: unknown) => e)) as ProverError;
    expect(err).toBeInstanceOf(ProverError);
    expect(err.code).toBe("worker_died");
    expect(err.attempts).toBe(2);
    expect(events.map((e) => [e.type, e.attempt, e.type === "attempt_failed" ? e.willRetry : null])).toEqual([
      ["leased", 1, null],
      ["attempt_failed", 1, true],
      ["leased", 2, null],
      ["attempt_failed", 2, false],
    ]);
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

  test("onEvent: a job is leased by a worker, then resolves; a throwing handler changes nothing", async () => {
    const logs: LogLine[] = [];
    const p = pool({ size: 1, log: (o) => logs.push(o as LogLine) });
    const seen: (ProverEvent | "resolved")[] = [];
    const r = await p.prove(tinyJob(200, 3, 5), { onEvent: (e) => seen.push(e) });
    seen.push("resolved");
    expect(seen).toEqual([{ type: "leased", batchNumber: 200, worker: r.worker, attempt: 1 }, "resolved"]);

    const r2 = await p.prove(tinyJob(201, 3, 5), {
      onEvent: () => {
        throw new Error("handler bug");
      },
    });
    expect(r2.batchNumber).toBe(201);
    expect(logs.find((l) => l.msg === "prover.job.event_handler_failed")).toMatchObject({ batch: 201, event: "leased", error: "handler bug" });
    expect((await p.prove(tinyJob(202, 2, 2))).batchNumber).toBe(202);
  });

  test("onEvent: a worker SIGKILLed mid-proof is a retried attempt, leased again on its replacement", async () => {
    let killed = 0;
    const p = pool({
      size: 1,
      log: (o) => {
        const l = o as LogLine;
        if (l.msg === "prover.job.stage" && l.batch === 210 && l.stage === "prove" && killed === 0) {
          killed = l.worker as number;
          process.kill(killed, "SIGKILL");
        }
      },
    });
    const events: ProverEvent[] = [];
    const r = await p.prove(tinyJob(210, 6, 7), { onEvent: (e) => events.push(e) });
    expect(r.worker).not.toBe(String(killed));
    expect(events).toEqual([
      { type: "leased", batchNumber: 210, worker: String(killed), attempt: 1 },
      { type: "attempt_failed", batchNumber: 210, worker: String(killed), attempt: 1, error: `worker ${killed} killed by SIGKILL while proving`, willRetry: true },
      { type: "leased", batchNumber: 210, worker: r.worker, attempt: 2 },
    ]);
  });

  test("onEvent: a job error is a failed attempt that is not retried", async () => {
    const p = pool({ size: 1 });
    const events: ProverEvent[] = [];
    await expect(p.prove(tinyJob(220, 3, 5, 16), { onEvent: (e) => events.push(e) })).rejects.toMatchObject({ code: "witness" });
    expect(events).toEqual([
      { type: "leased", batchNumber: 220, worker: expect.any(String), attempt: 1 },
      { type: "attempt_failed", batchNumber: 220, worker: events[0].worker, attempt: 1, error: expect.stringMatching(/^batch 220: witness calculation failed/), willRetry: false },
    ]);
  });

  test("status(): workers idle, then busy with their batch, with per-worker job counters", async () => {
    const p = pool({ size: 1 });
    expect(p.artifacts).toEqual({ circuitHash: artifacts.circuitHash, vkeyPath: artifacts.vkeyPath });
    const before = Date.now();
    await waitFor(() => p.workers().some((w) => w.state === "idle"), "a ready worker");
    const pid = p.workers()[0].pid;
    const idle = await p.status();
    expect(idle).toEqual({
      mode: "embedded",
      circuitHash: artifacts.circuitHash,
      backend: DEFAULT_BACKEND,
      queued: 0,
      leased: 0,
      workers: [
        { id: String(pid), host: os.hostname(), pid, state: "idle", circuitHash: artifacts.circuitHash, backend: DEFAULT_BACKEND, concurrency: 1, batches: [], jobsDone: 0, jobsFailed: 0, startedAt: expect.any(Number) },
      ],
    });
    expect(idle.workers[0].startedAt).toBeGreaterThan(before - 60_000);
    expect(idle.workers[0].startedAt).toBeLessThanOrEqual(Date.now());

    const jobs = [p.prove(tinyJob(230, 2, 3)), p.prove(tinyJob(231, 4, 5))];
    const busy = await p.status();
    expect(busy).toMatchObject({ queued: 1, leased: 1, workers: [{ pid, state: "busy", batches: [230], jobsDone: 0 }] });
    await Promise.all(jobs);
    await p.prove(tinyJob(232, 1, 1, 2)).catch(() => undefined);
    expect(await p.status()).toMatchObject({ queued: 0, leased: 0, workers: [{ pid, state: "idle", batches: [], jobsDone: 2, jobsFailed: 1 }] });
  });

  test("command backend: the snarkjs CLI proves, the proof verifies, the temp files are gone", async () => {
    expect(existsSync(SNARKJS_CLI)).toBe(true);
    const stages: string[] = [];
    const p = pool({ size: 1, backend: CLI_BACKEND, log: (o) => (o as LogLine).msg === "prover.job.stage" && stages.push((o as LogLine).stage as string) });
    const job = tinyJob(300, 3, 5);
    const r = await p.prove(job);
    expect(r.batchNumber).toBe(300);
    expect(r.publicSignals).toEqual([...job.publicSignals]);
    expect(r.proof).toMatchObject({ protocol: "groth16", curve: "bn128" });
    expect(Object.keys(r.proof).sort()).toEqual(["curve", "pi_a", "pi_b", "pi_c", "protocol"]);
    expect(await snarkjs.groth16.verify(keys.vkey, r.publicSignals, r.proof)).toBe(true);
    for (const ms of Object.values(r.timings)) expect(ms).toBeGreaterThan(0);
    expect(stages).toEqual(["witness", "prove", "verify"]);
    expect(workerTempDirs(Number(r.worker))).toEqual([]);
    const st = await p.status();
    expect(st.backend).toBe(`command:${process.execPath} ${SNARKJS_CLI} groth16 prove`);
    expect(st.workers[0]).toMatchObject({ backend: st.backend, jobsDone: 1 });
    // A wrong public input is caught after the command just as after in-process proving.
    await expect(p.prove({ ...tinyJob(301, 3, 5), publicSignals: ["12345", "15"] })).rejects.toMatchObject({ code: "public_input" });
  });

  test("command backend: a failing command rejects with code prove, naming the command and how it ended; the worker keeps serving", async () => {
    const exit3 = [process.execPath, "-e", "console.error('prover exploded'); process.exit(3)"];
    const p = pool({ size: 1, backend: { kind: "command", command: exit3 } });
    const err = (await p.prove(tinyJob(310, 3, 5)).catch((e: unknown) => e)) as ProverError;
    expect(err).toBeInstanceOf(ProverError);
    expect(err).toMatchObject({ code: "prove", batchNumber: 310, attempts: 1 });
    expect(err.message).toBe(`batch 310: prover command "${exit3.join(" ")}" exited with code 3; output: prover exploded`);
    const pid = p.workers()[0].pid;
    await expect(p.prove(tinyJob(311, 3, 5))).rejects.toMatchObject({ code: "prove", attempts: 1 });
    expect(await p.status()).toMatchObject({ workers: [{ pid, state: "idle", jobsDone: 0, jobsFailed: 2 }] });
    expect(workerTempDirs(pid)).toEqual([]);

    // Exit 0 without output files, and death by a signal, are prove errors too (not a dead worker).
    const silent = pool({ size: 1, backend: { kind: "command", command: [process.execPath, "-e", ""] } });
    await expect(silent.prove(tinyJob(312, 3, 5))).rejects.toMatchObject({ code: "prove", message: expect.stringMatching(/^batch 312: prover command ".*" exited with code 0 but did not write proof\.json/) });
    const signalled = pool({ size: 1, backend: { kind: "command", command: [process.execPath, "-e", "process.kill(process.pid, 'SIGKILL')"] } });
    await expect(signalled.prove(tinyJob(313, 3, 5))).rejects.toMatchObject({ code: "prove", message: expect.stringMatching(/^batch 313: prover command ".*" was killed by SIGKILL$/) });
  });

  test("command backend: a command that cannot run stops the workers from starting", async () => {
    expect(() => createProverPool({ artifacts, backend: { kind: "command", command: [] }, log: quiet })).toThrow(/prover backend must be/);
    const p = pool({ size: 1, maxAttempts: 1, backend: { kind: "command", command: ["/nonexistent/modex-prover"] } });
    await expect(p.prove(tinyJob(320, 1, 1))).rejects.toMatchObject({
      code: "workers_cannot_start",
      message: expect.stringMatching(/prover command \/nonexistent\/modex-prover is not an executable file/),
    });
  });

  test("command backend: a worker SIGKILLed while its prover command runs leaves no prover process behind", async () => {
    let worker = 0;
    const p = pool({
      size: 1,
      backend: CLI_BACKEND,
      log: (o) => {
        const l = o as LogLine;
        if (l.msg === "prover.job.stage" && l.batch === 330 && l.stage === "prove" && worker === 0) worker = l.worker as number;
      },
    });
    const events: ProverEvent[] = [];
    const result = p.prove(tinyJob(330, 6, 7), { onEvent: (e) => events.push(e) });
    // The external prover of the first attempt: the snarkjs CLI, on this worker's temp files, in its process group.
    const prover = (): ProcInfo[] => liveProcesses().filter((x) => x.cmdline.includes(SNARKJS_CLI) && x.cmdline.includes(`modex-prove-${worker}-`));
    await waitFor(() => worker !== 0 && prover().length > 0, "the prover command to start");
    const [cmd] = prover();
    expect(cmd.pgrp).toBe(worker);
    process.kill(worker, "SIGKILL");

    const r = await result;
    expect(r.worker).not.toBe(String(worker));
    expect(await snarkjs.groth16.verify(keys.vkey, r.publicSignals, r.proof)).toBe(true);
    expect(events.map((e) => e.type)).toEqual(["leased", "attempt_failed", "leased"]);
    await waitFor(() => !liveProcesses().some((x) => x.pgrp === worker), "the killed worker's process group to be gone", 10_000);
    expect(isAlive(cmd.pid) && liveProcesses().some((x) => x.pid === cmd.pid)).toBe(false);
    await waitFor(() => workerTempDirs(worker).length === 0, "the killed worker's temp dir to be removed", 10_000);
  });

  test("command backend: a stuck prover command is killed with its worker on timeout and on close()", async () => {
    const stuck = (w: number): ProcInfo[] => liveProcesses().filter((x) => x.pgrp === w && x.cmdline.includes("setTimeout") && x.cmdline.includes(`modex-prove-${w}-`));

    // Timeout: the pool kills the worker's group, so the command goes too, on every attempt.
    const timedOut: number[] = [];
    const t = pool({ size: 1, maxAttempts: 2, jobTimeoutMs: 1500, backend: STUCK_BACKEND, log: (o) => (o as LogLine).msg === "prover.job.start" && timedOut.push((o as LogLine).worker as number) });
    await expect(t.prove(tinyJob(340, 2, 3))).rejects.toMatchObject({ code: "worker_died", message: expect.stringMatching(/timed out after 1500 ms while proving/) });
    expect(timedOut).toHaveLength(2);
    for (const w of timedOut) await waitFor(() => !liveProcesses().some((x) => x.pgrp === w), `worker ${w}'s process group to be gone`, 10_000);
    await t.close();

    // close() while the command runs.
    const c = pool({ size: 1, backend: STUCK_BACKEND });
    const job = c.prove(tinyJob(341, 2, 3)).catch((e: unknown) => e);
    await waitFor(() => c.workers().length === 1 && stuck(c.workers()[0].pid).length === 1, "the stuck command to start");
    const w = c.workers()[0].pid;
    await c.close();
    expect(await job).toMatchObject({ code: "closed" });
    await waitFor(() => !liveProcesses().some((x) => x.pgrp === w), "the closed worker's process group to be gone", 10_000);
    expect(workerTempDirs(w)).toEqual([]);
    expect(workerChildren()).toEqual([]);
  });

  test("command backend: a worker whose pool disconnects kills its running prover command itself", async () => {
    // Without the pool (no process-group kill): the worker alone must not leave its command running.
    const child = fork(path.join(__dirname, "..", "prover", "worker.ts"), [], { execArgv: ["--require", require.resolve("tsx/cjs")], stdio: ["ignore", "ignore", "ignore", "ipc"] });
    const pid = child.pid as number;
    const exited = new Promise<void>((res) => child.once("exit", () => res()));
    try {
      const ready = new Promise<FromWorker>((res) => child.once("message", (m: FromWorker) => res(m)));
      const send = (m: ToWorker): boolean => child.send(m);
      send({ type: "init", artifacts, backend: STUCK_BACKEND, tempDirPrefix: path.join(os.tmpdir(), `modex-prove-${pid}-`) });
      expect(await ready).toMatchObject({ type: "ready" });
      send({ type: "prove", taskId: 1, job: tinyJob(350, 2, 3) });
      const stuck = (): ProcInfo[] => liveProcesses().filter((x) => x.cmdline.includes("setTimeout") && x.cmdline.includes(`modex-prove-${pid}-`));
      await waitFor(() => stuck().length === 1, "the stuck command to start");
      const [cmd] = stuck();
      child.disconnect();
      await exited;
      await waitFor(() => !liveProcesses().some((x) => x.pid === cmd.pid), "the command to be killed", 10_000);
    } finally {
      child.kill("SIGKILL");
      await exited;
      for (const d of workerTempDirs(pid)) await fsp.rm(path.join(os.tmpdir(), d), { recursive: true, force: true });
    }
  });

  test("several circuits: each job proves with its own circuit, which a worker loads on its first job for it and keeps", async () => {
    const b = await secondCircuit();
    const A = artifacts.circuitHash;
    const B = b.artifacts.circuitHash;
    expect(B).not.toBe(A);
    const logs: LogLine[] = [];
    const p = pool({ size: 1, artifacts: [artifacts, b.artifacts], log: (o) => logs.push(o as LogLine) });
    expect(p.artifacts).toEqual({ circuitHash: A, vkeyPath: artifacts.vkeyPath });
    expect(p.circuits).toEqual([
      { circuitHash: A, vkeyPath: artifacts.vkeyPath },
      { circuitHash: B, vkeyPath: b.artifacts.vkeyPath, name: "tiny-b" },
    ]);
    await waitFor(() => p.workers().some((w) => w.state === "idle"), "a ready worker");
    // Ready without loading any circuit.
    expect(p.workers()[0].loadedCircuits).toEqual([]);

    // No circuitHash: the first circuit.
    const ra = await p.prove(tinyJob(400, 3, 5));
    expect(p.workers()[0].loadedCircuits).toEqual([A]);
    const rb = await p.prove({ ...tinyJob(401, 3, 5), circuitHash: B });
    expect(p.workers()[0].loadedCircuits).toEqual([A, B]);
    const ra2 = await p.prove({ ...tinyJob(402, 2, 7), circuitHash: A });
    // One warm worker proved all three, loading each circuit once.
    expect(new Set([ra.worker, rb.worker, ra2.worker]).size).toBe(1);
    expect(logs.filter((l) => l.msg === "prover.worker.circuit_loaded").map((l) => [l.circuit, l.batch])).toEqual([
      [A.slice(0, 16), 400],
      [B.slice(0, 16), 401],
    ]);
    expect(logs.find((l) => l.msg === "prover.worker.circuit_loaded" && l.batch === 401)).toMatchObject({ circuitName: "tiny-b", loadMs: expect.any(Number), loaded: 2 });

    // Each proof verifies under its own circuit's key only.
    expect(await snarkjs.groth16.verify(keys.vkey, ra.publicSignals, ra.proof)).toBe(true);
    expect(await snarkjs.groth16.verify(b.keys.vkey, rb.publicSignals, rb.proof)).toBe(true);
    expect(await snarkjs.groth16.verify(keys.vkey, ra2.publicSignals, ra2.proof)).toBe(true);
    expect(await snarkjs.groth16.verify(b.keys.vkey, ra.publicSignals, ra.proof)).toBe(false);
    expect(await snarkjs.groth16.verify(keys.vkey, rb.publicSignals, rb.proof)).toBe(false);
    const vb = await createProofVerifier(b.artifacts.vkeyPath);
    expect(await vb.check(rb.proof, rb.publicSignals, rb.publicSignals)).toBeNull();
    expect(await vb.check(ra.proof, ra.publicSignals, ra.publicSignals)).toMatch(/does not verify/);

    // The job's log lines name its circuit.
    for (const msg of ["prover.job.queued", "prover.job.start", "prover.job.stage", "prover.job.done"]) {
      expect(logs.filter((l) => l.msg === msg && l.batch === 401).every((l) => l.circuit === B.slice(0, 16) && l.circuitName === "tiny-b")).toBe(true);
      expect(logs.filter((l) => l.msg === msg && l.batch === 400).every((l) => l.circuit === A.slice(0, 16) && l.circuitName === undefined)).toBe(true);
    }
    expect(logs.find((l) => l.msg === "prover.job.start" && l.batch === 401)).toMatchObject({ loads: true });
    expect(logs.find((l) => l.msg === "prover.job.start" && l.batch === 402)).not.toHaveProperty("loads");

    // Status lists the circuits; counters and events are as for one circuit.
    const st = await p.status();
    expect(st).toMatchObject({ circuitHash: A, circuits: [A, B], queued: 0, leased: 0 });
    expect(st.workers).toEqual([expect.objectContaining({ circuitHash: A, circuits: [A, B], jobsDone: 3, jobsFailed: 0, state: "idle" })]);
  });

  test("several circuits: a job naming a circuit the pool does not have is refused with a clear error, and the pool keeps working", async () => {
    const b = await secondCircuit();
    const A = artifacts.circuitHash;
    const B = b.artifacts.circuitHash;
    const logs: LogLine[] = [];
    const p = pool({ size: 1, artifacts: [artifacts, b.artifacts], log: (o) => logs.push(o as LogLine) });
    const events: ProverEvent[] = [];
    const unknown = "ab".repeat(32);
    const err = (await p.prove({ ...tinyJob(410, 3, 5), circuitHash: unknown }, { onEvent: (e) => events.push(e) }).catch((e: unknown) => e)) as ProverError;
    expect(err).toBeInstanceOf(ProverError);
    expect(err).toMatchObject({ code: "circuit", batchNumber: 410, attempts: 0 });
    expect(err.message).toBe(`batch 410: this prover has no circuit ${unknown} (it proves ${A.slice(0, 16)}, ${B.slice(0, 16)} tiny-b)`);
    // Never queued or leased.
    expect(events).toEqual([]);
    expect(logs.find((l) => l.msg === "prover.job.refused")).toMatchObject({ batch: 410, code: "circuit", circuit: unknown });
    expect(p.pending).toBe(0);
    expect((await p.prove({ ...tinyJob(411, 3, 5), circuitHash: B })).batchNumber).toBe(411);
    expect((await p.prove(tinyJob(412, 3, 5))).batchNumber).toBe(412);

    // A pool of one circuit refuses another's job the same way.
    const one = pool({ size: 1 });
    await expect(one.prove({ ...tinyJob(413, 3, 5), circuitHash: B })).rejects.toMatchObject({ code: "circuit", message: `batch 413: this prover has no circuit ${B} (it proves ${A.slice(0, 16)})` });
    expect((await one.prove({ ...tinyJob(414, 3, 5), circuitHash: A })).batchNumber).toBe(414);

    // The worker's own guard, should such a job reach it: a failed job (code "circuit"), and it serves on.
    const child = fork(path.join(__dirname, "..", "prover", "worker.ts"), [], { execArgv: ["--require", require.resolve("tsx/cjs")], stdio: ["ignore", "ignore", "ignore", "ipc"] });
    const exited = new Promise<void>((res) => child.once("exit", () => res()));
    try {
      const messages: FromWorker[] = [];
      child.on("message", (m: FromWorker) => messages.push(m));
      const send = (m: ToWorker): boolean => child.send(m);
      send({ type: "init", artifacts: [artifacts], backend: defaultBackend(quiet), tempDirPrefix: path.join(os.tmpdir(), `modex-prove-${child.pid}-`) });
      send({ type: "prove", taskId: 1, job: { ...tinyJob(415, 3, 5), circuitHash: B } });
      send({ type: "prove", taskId: 2, job: tinyJob(416, 3, 5) });
      await waitFor(() => messages.some((m) => m.type === "done" || (m.type === "failed" && m.taskId === 2)), "the worker's answers");
      expect(messages.find((m) => m.type === "failed" && m.taskId === 1)).toEqual({ type: "failed", taskId: 1, error: { code: "circuit", message: `batch 415: this prover has no circuit ${B} (it serves ${A.slice(0, 16)})` } });
      expect(messages.find((m) => m.type === "done")).toMatchObject({ taskId: 2 });
    } finally {
      child.kill("SIGKILL");
      await exited;
    }
  });

  test("several circuits: a circuit whose files are missing stops the workers from starting; circuits must be distinct", async () => {
    const b = await secondCircuit();
    const p = pool({ size: 1, maxAttempts: 1, artifacts: [artifacts, { ...b.artifacts, zkeyPath: path.join(keysRoot, "missing-b.zkey") }] });
    await expect(p.prove(tinyJob(420, 1, 1))).rejects.toMatchObject({ code: "workers_cannot_start", message: expect.stringMatching(/cannot read proving key .*missing-b\.zkey/) });
    expect(() => createProverPool({ artifacts: [artifacts, artifacts], log: quiet })).toThrow(/listed twice/);
    expect(() => createProverPool({ artifacts: [], log: quiet })).toThrow(/at least one circuit/);
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
