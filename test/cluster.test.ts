/**
 * Cluster mode against a real Redis, real `prover worker` processes and real Groth16 proofs of the
 * tiny fixture circuit (test/fixtures/tiny.circom: public signals [h = Poseidon(a, b), c], c === a·b).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Queue } from "bullmq";
import { tinyJob, TINY_B_CIRCUIT_SOURCE, TINY_CIRCUIT_SOURCE } from "./helpers/tiny";
import { isAlive, waitUntil } from "./helpers/wait";
import { compileCircuit } from "../circuits/compile";
import { createClusterProver, type ClusterProver } from "../prover/cluster";
import { startProverWorker } from "../prover/cluster-worker";
import { ensureKeys, releaseSnarkjsCurve, type Keys } from "../prover/keys";
import { ProverError } from "../prover/pool";
import { jobIdFor, QUEUE_PREFIX, queueNameFor, redactRedisUrl } from "../prover/redis-queue";
import { backendLabel, type CircuitArtifacts, type ProofJob, type ProverEvent } from "../prover/types";
import { defaultBackend } from "../prover/backend";
import { startRedis, type TestRedis } from "./helpers/redis";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const snarkjs = require("snarkjs");

const REPO = path.join(__dirname, "..");
const WORKER_ENTRY = path.join(REPO, "prover", "cluster-worker.ts");
const TSX = require.resolve("tsx/cjs");
const LOCK_MS = 3000;
const quiet = (): void => undefined;
/** What a worker with no --backend runs: the native prover when it is built, else snarkjs (prover/backend.ts). */
const DEFAULT_BACKEND = backendLabel(defaultBackend(quiet));

interface LogLine {
  msg?: string;
  worker?: unknown;
  clusterWorker?: string;
  [k: string]: unknown;
}

interface WorkerProc {
  readonly proc: ChildProcess;
  readonly pid: number;
  /** "host/pid", as in ProofResult.worker and the events. */
  readonly id: string;
  readonly logs: LogLine[];
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exited: boolean;
}

const waitFor = (cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> => waitUntil(cond, what, timeoutMs, 50);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("cluster prover (BullMQ on Redis)", () => {
  let redis: TestRedis;
  let keysRoot: string;
  let keys: Keys;
  let artifacts: CircuitArtifacts;
  let admin: Queue;
  const workers: WorkerProc[] = [];
  const provers: ClusterProver[] = [];
  /** Proving processes the workers' local pools started (they must all be gone at the end). */
  const poolPids = new Set<number>();

  async function startWorker(opts: { circuitHash?: string; concurrency?: number; drainTimeoutS?: number } = {}): Promise<WorkerProc> {
    const args = [
      "--require",
      TSX,
      WORKER_ENTRY,
      "--redis",
      redis.url,
      "--circuit-wasm",
      artifacts.wasmPath,
      "--zkey",
      artifacts.zkeyPath,
      "--vkey",
      artifacts.vkeyPath,
      "--circuit-hash",
      opts.circuitHash ?? artifacts.circuitHash,
      "--lock-ms",
      String(LOCK_MS),
      "--concurrency",
      String(opts.concurrency ?? 1),
      ...(opts.drainTimeoutS !== undefined ? ["--drain-timeout-s", String(opts.drainTimeoutS)] : []),
    ];
    const proc = spawn(process.execPath, args, { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
    const logs: LogLine[] = [];
    let stderrTail = "";
    const w: WorkerProc = {
      proc,
      pid: proc.pid as number,
      id: "",
      logs,
      exit: new Promise((r) => proc.once("exit", (code, signal) => ((w.exited = true), r({ code, signal })))),
      exited: false,
    };
    workers.push(w);
    const lines = (stream: NodeJS.ReadableStream, onLine: (l: string) => void): void => {
      let buf = "";
      stream.setEncoding("utf8");
      stream.on("data", (d: string) => {
        buf += d;
        let i: number;
        while ((i = buf.indexOf("\n")) >= 0) {
          onLine(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      });
    };
    lines(proc.stderr as NodeJS.ReadableStream, (l) => {
      stderrTail = (stderrTail + l + "\n").slice(-4000);
      try {
        const o = JSON.parse(l) as LogLine;
        logs.push(o);
        if (o.clusterWorker && typeof o.worker === "number") poolPids.add(o.worker);
      } catch {
        // not JSON: kept in the tail for error messages
      }
    });
    const ready = new Promise<string>((resolve, reject) => {
      lines(proc.stdout as NodeJS.ReadableStream, (l) => {
        try {
          const o = JSON.parse(l) as { msg?: string; worker?: string };
          if (o.msg === "prover.worker.ready" && typeof o.worker === "string") resolve(o.worker);
        } catch {
          // ignore
        }
      });
      void w.exit.then(({ code, signal }) => reject(new Error(`worker exited (${code ?? signal}) before it was ready:\n${stderrTail}`)));
      setTimeout(() => reject(new Error(`worker not ready within 60 s:\n${stderrTail}`)), 60_000).unref();
    });
    (w as { id: string }).id = await ready;
    return w;
  }

  async function prover(log: (o: object) => void = quiet): Promise<ClusterProver> {
    const p = await createClusterProver({ redisUrl: redis.url, artifacts, log, lockMs: LOCK_MS });
    provers.push(p);
    return p;
  }

  async function verify(r: { publicSignals: string[]; proof: unknown }): Promise<boolean> {
    return snarkjs.groth16.verify(keys.vkey, r.publicSignals, r.proof);
  }

  beforeAll(async () => {
    redis = await startRedis();
    keysRoot = await fsp.mkdtemp(path.join(os.tmpdir(), "modex-cluster-test-"));
    const circuit = await compileCircuit({ name: "tiny", mainSource: TINY_CIRCUIT_SOURCE, log: quiet });
    keys = await ensureKeys(circuit, { keysRoot, log: quiet });
    artifacts = { circuitHash: circuit.circuitHash, wasmPath: circuit.wasmPath, zkeyPath: keys.zkeyPath, vkeyPath: keys.vkeyPath };
    admin = new Queue(queueNameFor(artifacts.circuitHash), { connection: { url: redis.url }, prefix: QUEUE_PREFIX });
  });

  // Every test starts with no workers, no provers and an empty Redis.
  afterEach(async () => {
    await Promise.all(provers.splice(0).map((p) => p.close()));
    for (const w of workers.splice(0)) {
      if (!w.exited) w.proc.kill("SIGKILL");
      await w.exit;
    }
    await redis.flush();
  });

  afterAll(async () => {
    await admin?.close();
    await releaseSnarkjsCurve();
    // A worker's proving processes exit when it does (their IPC channel closes), even after SIGKILL.
    await waitFor(() => [...poolPids].every((pid) => !isAlive(pid)), "the workers' proving processes to exit", 10_000);
    await redis?.stop();
    if (keysRoot) await fsp.rm(keysRoot, { recursive: true, force: true });
  });

  test("round trip: 2 worker processes prove 4 jobs; every proof verifies", async () => {
    const ws = await Promise.all([startWorker(), startWorker()]);
    const ids = ws.map((w) => w.id);
    const p = await prover();
    expect(p.artifacts).toEqual({ circuitHash: artifacts.circuitHash, vkeyPath: artifacts.vkeyPath });
    const events: ProverEvent[] = [];
    const jobs = [1, 2, 3, 4].map((n) => tinyJob(n, n + 1, n + 2));
    const pending = jobs.map((j) => p.prove(j, { onEvent: (e) => events.push(e) }));
    expect(p.pending).toBe(4);
    const results = await Promise.all(pending);
    expect(p.pending).toBe(0);
    for (const [i, r] of results.entries()) {
      expect(r.batchNumber).toBe(jobs[i].batchNumber);
      expect(r.publicSignals).toEqual([...jobs[i].publicSignals]);
      expect(await verify(r)).toBe(true);
      expect(ids).toContain(r.worker);
      for (const ms of Object.values(r.timings)) expect(ms).toBeGreaterThan(0);
    }
    // Both workers took jobs.
    expect(new Set(results.map((r) => r.worker)).size).toBe(2);
    for (const j of jobs) {
      const leased = events.filter((e) => e.type === "leased" && e.batchNumber === j.batchNumber);
      expect(leased).toEqual([{ type: "leased", batchNumber: j.batchNumber, worker: results[j.batchNumber - 1].worker, attempt: 1 }]);
    }
    expect(events.filter((e) => e.type === "attempt_failed")).toEqual([]);
    expect(await admin.getJobCounts("completed", "failed", "waiting", "active")).toMatchObject({ completed: 4, failed: 0, waiting: 0, active: 0 });
  });

  test("a worker SIGKILLed mid-proof loses its lease; the other worker proves the job", async () => {
    const ws = await Promise.all([startWorker(), startWorker()]);
    const p = await prover();
    const events: ProverEvent[] = [];
    let killed: WorkerProc | undefined;
    const job = tinyJob(20, 3, 7);
    const r = await p.prove(job, {
      onEvent: (e) => {
        events.push(e);
        if (e.type === "leased" && !killed) {
          killed = ws.find((w) => w.id === e.worker);
          if (killed) process.kill(killed.pid, "SIGKILL");
        }
      },
    });
    expect(killed).toBeDefined();
    const k = killed as WorkerProc;
    const survivor = ws.find((w) => w !== k) as WorkerProc;
    expect(await k.exit).toEqual({ code: null, signal: "SIGKILL" });
    expect(r.worker).toBe(survivor.id);
    expect(await verify(r)).toBe(true);
    expect(events).toEqual([
      { type: "leased", batchNumber: 20, worker: k.id, attempt: 1 },
      { type: "attempt_failed", batchNumber: 20, worker: k.id, attempt: 1, error: expect.stringMatching(/stalled/), willRetry: true },
      { type: "leased", batchNumber: 20, worker: survivor.id, attempt: 2 },
    ]);
  });

  test("a restarted sequencer re-attaches to its job instead of queueing another", async () => {
    await startWorker();
    const p1 = await prover();
    const job = tinyJob(30, 4, 5);
    let onLeased: () => void = () => undefined;
    const leased = new Promise<void>((r) => (onLeased = r));
    const first = p1.prove(job, { onEvent: (e) => e.type === "leased" && onLeased() }).catch((e: unknown) => e);
    await leased;
    await p1.close();
    const err = await first;
    expect(err).toBeInstanceOf(ProverError);
    expect((err as ProverError).code).toBe("closed");
    expect((err as Error).message).toMatch(/^batch 30: cluster prover closed while waiting for job b30-[0-9a-f]{12}/);
    await expect(p1.prove(job)).rejects.toThrow(/closed/);

    const logs: LogLine[] = [];
    const p2 = await prover((o) => logs.push(o as LogLine));
    const r = await p2.prove(job);
    expect(r.publicSignals[0]).toBe(job.publicSignals[0]);
    expect(await verify(r)).toBe(true);
    expect(logs.map((l) => l.msg)).toContain("prover.cluster.reattached");
    expect(logs.map((l) => l.msg)).not.toContain("prover.cluster.queued");
    // One job in all, proven once.
    expect(await admin.getJobCounts("completed", "failed", "waiting", "active", "delayed")).toMatchObject({ completed: 1, failed: 0, waiting: 0, active: 0, delayed: 0 });
    const stored = await admin.getJob(jobIdFor(job));
    expect(stored?.attemptsStarted).toBe(1);

    // Asked again for a proof it already delivered (the caller rejected it): a fresh job proves it anew.
    const again = await p2.prove(job);
    expect(await verify(again)).toBe(true);
    expect(logs.map((l) => l.msg)).toContain("prover.cluster.reprove");
    expect(await admin.getJobCounts("completed")).toEqual({ completed: 1 });
  });

  test("a worker of another circuit never takes the job, and refuses one pushed onto its queue", async () => {
    const otherHash = "ab".repeat(32);
    const other = await startWorker({ circuitHash: otherHash });
    const p = await prover();
    const job = tinyJob(40, 2, 2);
    const events: ProverEvent[] = [];
    const result = p.prove(job, { onEvent: (e) => events.push(e) });
    await sleep(1500);
    expect(await admin.getJobState(jobIdFor(job))).toBe("waiting");
    const st = await p.status();
    expect(st).toMatchObject({ mode: "cluster", circuitHash: artifacts.circuitHash, queued: 1, leased: 0 });
    expect(st.workers).toEqual([expect.objectContaining({ id: other.id, circuitHash: otherHash, state: "idle", concurrency: 1, backend: DEFAULT_BACKEND })]);

    // A job of our circuit on the other circuit's queue (a misconfigured producer): refused, never proven.
    const otherQueue = new Queue(queueNameFor(otherHash), { connection: { url: redis.url }, prefix: QUEUE_PREFIX });
    try {
      await otherQueue.add("stray", { ...job, circuitHash: artifacts.circuitHash }, { jobId: "stray", attempts: 3 });
      await waitFor(async () => (await otherQueue.getJobState("stray")) === "failed", "the stray job to be refused", 10_000);
      const stray = await otherQueue.getJob("stray");
      expect(stray?.failedReason).toContain(`circuit hash mismatch: job ${artifacts.circuitHash}, worker ${otherHash}`);
      expect(stray?.attemptsStarted).toBe(1);
    } finally {
      await otherQueue.close();
    }
    expect(await admin.getJobState(jobIdFor(job))).toBe("waiting");
    expect(events).toEqual([]);

    // A worker of the right circuit takes it.
    const right = await startWorker();
    const r = await result;
    expect(r.worker).toBe(right.id);
    expect(await verify(r)).toBe(true);
    expect(other.logs.filter((l) => l.msg === "prover.worker.job_start")).toEqual([]);
  });

  test("a deterministic failure (c ≠ a·b) rejects at once, naming the batch and the witness error", async () => {
    await startWorker();
    const p = await prover();
    const events: ProverEvent[] = [];
    const job = tinyJob(50, 3, 5, 16);
    const err = (await p.prove(job, { onEvent: (e) => events.push(e) }).catch((e: unknown) => e)) as ProverError;
    expect(err).toBeInstanceOf(ProverError);
    expect(err.code).toBe("witness");
    expect(err.batchNumber).toBe(50);
    expect(err.attempts).toBe(1);
    expect(err.message).toMatch(/^batch 50: proving failed after 1 attempt on the cluster \(job b50-[0-9a-f]{12}\); last: batch 50: witness calculation failed/);
    expect(events.map((e) => e.type)).toEqual(["leased", "attempt_failed"]);
    expect(events[1]).toMatchObject({ attempt: 1, willRetry: false, error: expect.stringMatching(/witness calculation failed/) });
    const stored = await admin.getJob(jobIdFor(job));
    expect(await stored?.getState()).toBe("failed");
    expect(stored?.attemptsStarted).toBe(1);
    // The worker serves on.
    const r = await p.prove(tinyJob(51, 3, 5));
    expect(await verify(r)).toBe(true);
  });

  test("SIGTERM drains: the running job finishes, then the worker exits 0", async () => {
    const w = await startWorker();
    const p = await prover();
    const events: ProverEvent[] = [];
    const r = await p.prove(tinyJob(60, 6, 7), {
      onEvent: (e) => {
        events.push(e);
        if (e.type === "leased") process.kill(w.pid, "SIGTERM");
      },
    });
    expect(r.worker).toBe(w.id);
    expect(await verify(r)).toBe(true);
    expect(await w.exit).toEqual({ code: 0, signal: null });
    expect(events.map((e) => e.type)).toEqual(["leased"]);
    const msgs = w.logs.map((l) => l.msg);
    expect(msgs).toContain("prover.worker.draining");
    expect(w.logs.find((l) => l.msg === "prover.worker.stopped")).toMatchObject({ how: "drained", jobsDone: 1 });
    // Its heartbeat is gone at once.
    expect((await p.status()).workers).toEqual([]);
  });

  test("past --drain-timeout-s the worker abandons its job (exit 1); the lease expires and another worker proves it", async () => {
    const a = await startWorker({ drainTimeoutS: 0 });
    const p = await prover();
    const events: ProverEvent[] = [];
    const result = p.prove(tinyJob(65, 5, 9), {
      onEvent: (e) => {
        events.push(e);
        if (e.type === "leased" && e.worker === a.id) process.kill(a.pid, "SIGTERM");
      },
    });
    expect(await a.exit).toEqual({ code: 1, signal: null });
    expect(a.logs.find((l) => l.msg === "prover.worker.stopped")).toMatchObject({ how: "forced" });
    const b = await startWorker();
    const r = await result;
    expect(r.worker).toBe(b.id);
    expect(await verify(r)).toBe(true);
    expect(events).toEqual([
      { type: "leased", batchNumber: 65, worker: a.id, attempt: 1 },
      { type: "attempt_failed", batchNumber: 65, worker: a.id, attempt: 1, error: expect.stringMatching(/stalled/), willRetry: true },
      { type: "leased", batchNumber: 65, worker: b.id, attempt: 2 },
    ]);
  });

  test("status(): queued and leased counts, live workers", async () => {
    const w = await startWorker();
    const p = await prover();
    const jobs = [70, 71, 72].map((n) => tinyJob(n, n, 3));
    let onLeased: (batch: number) => void = () => undefined;
    const firstLeased = new Promise<number>((r) => (onLeased = r));
    const all = Promise.all(jobs.map((j) => p.prove(j, { onEvent: (e) => e.type === "leased" && onLeased(e.batchNumber) })));
    const batch = await firstLeased;
    const st = await p.status();
    expect(st).toMatchObject({ mode: "cluster", circuitHash: artifacts.circuitHash, backend: DEFAULT_BACKEND, queued: 2, leased: 1 });
    expect(st.queue).toMatch(/^redis:\/\//);
    expect(redactRedisUrl("redis://user:secret@10.0.0.1:6379/2")).toBe("redis://user@10.0.0.1:6379/2");
    expect(st.workers).toEqual([
      expect.objectContaining({ id: w.id, pid: w.pid, host: os.hostname(), state: "busy", batches: [batch], circuitHash: artifacts.circuitHash, concurrency: 1, jobsDone: 0, jobsFailed: 0 }),
    ]);
    expect(p.pending).toBe(3);
    await all;
    await waitFor(async () => {
      const s = await p.status();
      return s.queued === 0 && s.leased === 0 && s.workers[0]?.state === "idle" && s.workers[0]?.jobsDone === 3;
    }, "an idle worker with 3 jobs done", 5_000);
  });
  test("a worker of two circuits consumes both queues, proving at most --concurrency jobs at once; the prover sends each job to its circuit's queue", async () => {
    const c = await compileCircuit({ name: "tiny-b", mainSource: TINY_B_CIRCUIT_SOURCE, log: quiet });
    const kb = await ensureKeys(c, { keysRoot, log: quiet });
    const b: CircuitArtifacts = { circuitHash: c.circuitHash, wasmPath: c.wasmPath, zkeyPath: kb.zkeyPath, vkeyPath: kb.vkeyPath, name: "tiny-b" };
    const A = artifacts.circuitHash;
    const B = b.circuitHash;
    const logs: LogLine[] = [];
    // In this process: `modex prover worker --config NAME` does the same with its config's shapes.
    const h = await startProverWorker({ redisUrl: redis.url, artifacts: [artifacts, b], concurrency: 1, lockMs: LOCK_MS, log: (o) => logs.push(o as LogLine) });
    const adminB = new Queue(queueNameFor(B), { connection: { url: redis.url }, prefix: QUEUE_PREFIX });
    try {
      expect(h.queueNames).toEqual([queueNameFor(A), queueNameFor(B)]);
      expect(h.status()).toMatchObject({ circuitHash: A, circuits: [A, B], concurrency: 1 });
      const p = await createClusterProver({ redisUrl: redis.url, artifacts: [artifacts, b], log: quiet, lockMs: LOCK_MS });
      provers.push(p);
      expect(p.queueNames).toEqual(h.queueNames);
      expect(p.artifacts).toEqual({ circuitHash: A, vkeyPath: artifacts.vkeyPath });
      expect(p.circuits.map((x) => x.circuitHash)).toEqual([A, B]);

      const jobs: ProofJob[] = [tinyJob(80, 2, 3), { ...tinyJob(81, 3, 4), circuitHash: B }, { ...tinyJob(82, 4, 5), circuitHash: A }, { ...tinyJob(83, 5, 6), circuitHash: B }];
      const results = await Promise.all(jobs.map((j) => p.prove(j)));
      for (const [i, r] of results.entries()) {
        expect(r.worker).toBe(h.id);
        expect(r.publicSignals[0]).toBe(jobs[i].publicSignals[0]);
        const [own, other] = (jobs[i].circuitHash ?? A) === A ? [keys.vkey, kb.vkey] : [kb.vkey, keys.vkey];
        expect(await snarkjs.groth16.verify(own, r.publicSignals, r.proof)).toBe(true);
        expect(await snarkjs.groth16.verify(other, r.publicSignals, r.proof)).toBe(false);
      }
      // Two jobs on each circuit's queue.
      expect(await admin.getJobCounts("completed", "failed")).toEqual({ completed: 2, failed: 0 });
      expect(await adminB.getJobCounts("completed", "failed")).toEqual({ completed: 2, failed: 0 });
      // One job at a time over both queues: every start is followed by its end before the next start.
      const seq = logs.filter((l) => l.msg === "prover.worker.job_start" || l.msg === "prover.worker.job_done").map((l) => `${String(l.msg).slice(14)}:${String(l.batch)}`);
      expect(seq).toHaveLength(8);
      for (let i = 0; i < seq.length; i += 2) expect(seq[i + 1]).toBe(seq[i].replace("job_start", "job_done"));
      expect(logs.filter((l) => l.msg === "prover.worker.job_done").map((l) => l.circuit)).toEqual(expect.arrayContaining([A.slice(0, 16), B.slice(0, 16)]));

      // The heartbeat lists both circuits; a job of a third is refused by the prover, never queued.
      const st = await p.status();
      expect(st).toMatchObject({ mode: "cluster", circuitHash: A, circuits: [A, B], queued: 0, leased: 0, backend: DEFAULT_BACKEND });
      expect(st.workers).toEqual([expect.objectContaining({ id: h.id, circuitHash: A, circuits: [A, B], jobsDone: 4 })]);
      await expect(p.prove({ ...tinyJob(84, 1, 1), circuitHash: "cd".repeat(32) })).rejects.toMatchObject({ code: "circuit", message: expect.stringMatching(/^batch 84: this prover has no circuit (cd)+ \(it proves [0-9a-f]{16}, [0-9a-f]{16} tiny-b\)$/) });

      // A job of A pushed onto B's queue is refused there (circuit hash mismatch), never proven.
      await adminB.add("stray", { ...tinyJob(85, 2, 2), circuitHash: A }, { jobId: "stray", attempts: 3 });
      await waitFor(async () => (await adminB.getJobState("stray")) === "failed", "the stray job to be refused", 10_000);
      expect((await adminB.getJob("stray"))?.failedReason).toContain(`circuit hash mismatch: job ${A}, worker ${B} (queue ${queueNameFor(B)}; this worker serves ${A}, ${B})`);
    } finally {
      await adminB.close();
      expect(await h.stop()).toBe("drained");
    }
  });
  test("--concurrency 2 over two queues: two jobs at once at most, taken from either queue", async () => {
    const c = await compileCircuit({ name: "tiny-b", mainSource: TINY_B_CIRCUIT_SOURCE, log: quiet });
    const kb = await ensureKeys(c, { keysRoot, log: quiet });
    const b: CircuitArtifacts = { circuitHash: c.circuitHash, wasmPath: c.wasmPath, zkeyPath: kb.zkeyPath, vkeyPath: kb.vkeyPath };
    const logs: LogLine[] = [];
    const h = await startProverWorker({ redisUrl: redis.url, artifacts: [artifacts, b], concurrency: 2, lockMs: LOCK_MS, log: (o) => logs.push(o as LogLine) });
    try {
      const p = await createClusterProver({ redisUrl: redis.url, artifacts: [artifacts, b], log: quiet, lockMs: LOCK_MS });
      provers.push(p);
      const jobs: ProofJob[] = [90, 91, 92, 93, 94, 95].map((n, i) => ({ ...tinyJob(n, n, 2), circuitHash: i < 3 ? b.circuitHash : artifacts.circuitHash }));
      const results = await Promise.all(jobs.map((j) => p.prove(j)));
      expect(results.map((r) => r.batchNumber)).toEqual([90, 91, 92, 93, 94, 95]);
      let inFlight = 0;
      let most = 0;
      for (const l of logs) {
        if (l.msg === "prover.worker.job_start") most = Math.max(most, ++inFlight);
        if (l.msg === "prover.worker.job_done" || l.msg === "prover.worker.job_failed") inFlight--;
      }
      expect(most).toBe(2);
      expect(new Set(logs.filter((l) => l.msg === "prover.worker.job_start").map((l) => l.circuit))).toEqual(new Set([artifacts.circuitHash.slice(0, 16), b.circuitHash.slice(0, 16)]));
    } finally {
      expect(await h.stop()).toBe("drained");
    }
  });
});
