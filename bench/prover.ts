/**
 * Prover pool benchmark: real Groth16 proofs of the batch circuit, in real worker processes, and over
 * a real Redis with real `prover worker` processes (the section "prover" of `npm run bench`).
 *
 * 1. Proof time per config and backend: one warm-up job, then K jobs one after another through an
 *    embedded pool of one worker, with in-process snarkjs and with the command backend
 *    (`node snarkjs/build/cli.cjs groth16 prove`, rapidsnark's argument convention). Per job: the
 *    worker's witness / prove / verify times, the wall time from prove() to its result, and the
 *    sequencer's own acceptance check (createProofVerifier(vkey).check) of the proof.
 * 2. Embedded pool throughput at 1, 2 and 4 workers: J jobs (test config) submitted at once.
 * 3. The same J jobs through createClusterProver on a private redis-server, proven by 1 and 2
 *    `prover worker` processes started the way an operator starts them.
 * Submission to L1 is timed in scripts/bench.ts's gas section (anvil) and joined here by
 * `submissionOverhead`.
 *
 *   npm run bench -- --only prover [--quick]
 *   npx tsx bench/prover-main.ts [--quick] [--out FILE]
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as os from "node:os";
import * as path from "node:path";
import {
  CONFIGS, type Params, generatePrivateKey, publicKeyOf, signMessage, txMessage, State, buildBatch,
  QUEUE_REGISTER, QUEUE_DEPOSIT, type QueueRecord, type L2Tx, type BatchResult, paramsKey, orderMessage, type Order, type FillOp,
} from "../core";
import { compileCircuit } from "../circuits/compile";
import { batchCircuitName, batchCircuitSource } from "../circuits/batch";
import { ensureKeys } from "../prover/keys";
import { createProverPool, type ProverPool } from "../prover/pool";
import { createProofVerifier, type ProofVerifier } from "../prover/verify";
import { backendLabel, SNARKJS_BACKEND, type CircuitArtifacts, type ProofJob, type ProofResult, type Prover, type ProverBackend } from "../prover/types";
import { startRedis, type TestRedis } from "../test/helpers/redis";

export type LogFn = (o: object) => void;

const REPO = path.resolve(__dirname, "..");

/** A full batch for `p`: every L1 slot deposits, every L2 slot transfers except the last, which withdraws, every fill slot fills. Fresh keys each call, so each call has its own public input. */
export function fullBatch(p: Params): BatchResult {
  const state = new State(p);
  const chainId = 31337;
  // Proving does not depend on which contract: any address serves as the deployment.
  const rollup = "0x5FbDB2315678afecb367f032d93F642f64180aa3" as const;
  const ts = 1_700_000_000;
  const keys = [0, 1, 2, 3].map(() => generatePrivateKey());
  let q = 0n;
  // Setup: register four accounts (the operator first), D per batch.
  const regs: QueueRecord[] = keys.map((key, id) => ({ kind: QUEUE_REGISTER, accountId: id, token: 1, amount: 1_000_000n, ...publicKeyOf(key) }));
  // Account 2 also holds token 2, the quote of the fills.
  regs.push({ kind: QUEUE_DEPOSIT, accountId: 2, token: 2, amount: 1_000_000n, ax: 0n, ay: 0n });
  for (let i = 0; i < regs.length; i += p.depositSlots) {
    q = buildBatch(state, { chainId, rollup, timestamp: ts, queueHashBefore: q, deposits: regs.slice(i, i + p.depositSlots), txs: [] }).queueHashAfter;
  }
  const deposits: QueueRecord[] = Array.from({ length: p.depositSlots }, () => ({ kind: QUEUE_DEPOSIT, accountId: 1, token: 1, amount: 5n, ax: 0n, ay: 0n }));
  const zero = { r8x: 0n, r8y: 0n, s: 0n };
  const nonces = [0n, 0n, 0n, 0n];
  const txs: L2Tx[] = [];
  for (let i = 0; i < p.l2Slots; i++) {
    const from = 1 + (i % 3);
    const nonce = nonces[from]++;
    const tx: L2Tx = i === p.l2Slots - 1
      ? { type: "withdraw", account: from, token: 1, amount: 100n, fee: 1n, nonce, validUntil: ts + 3600, signature: zero }
      : { type: "transfer", from, to: 1 + ((i + 1) % 3), token: 1, amount: 1000n, fee: 2n, nonce, validUntil: ts + 3600, signature: zero };
    txs.push({ ...tx, signature: signMessage(keys[from], txMessage(tx, { chainId, rollup })) });
  }
  // Account 1 sells token 1 for token 2 to account 3, one fill per slot, fees on both sides.
  const signOrder = (o: Omit<Order, "signature">, key: string): Order => ({ ...o, signature: signMessage(key, orderMessage({ ...o, signature: zero }, { chainId, rollup })) });
  const sell = signOrder({ account: 1, orderId: 1n, base: 1, quote: 2, side: "sell", amount: 10_000n, quoteAmount: 20_000n, maxFeeBips: 50, validUntil: ts + 3600 }, keys[1]);
  const buy = signOrder({ account: 2, orderId: 1n, base: 1, quote: 2, side: "buy", amount: 10_000n, quoteAmount: 20_000n, maxFeeBips: 50, validUntil: ts + 3600 }, keys[2]);
  const fills: FillOp[] = Array.from({ length: p.fillSlots }, () => ({ type: "fill", sell, buy, baseAmount: 100n, quoteAmount: 200n, sellFee: 1n, buyFee: 0n }));
  return buildBatch(state, { chainId, rollup, timestamp: ts, queueHashBefore: q, deposits, txs, fills, feeTokens: [1, 2, ...new Array<number>(Math.max(0, p.feeBuckets - 2)).fill(0)] });
}

/** Operations one batch of `p` carries: L1 slots, L2 slots and fill slots. */
export function opsPerBatch(p: Params): number {
  return p.depositSlots + p.l2Slots + p.fillSlots;
}

// ---------------------------------------------------------------------------------------------
// Results

export interface JobTiming {
  readonly batch: number;
  readonly witnessMs: number;
  readonly proveMs: number;
  /** The worker's own verification. */
  readonly verifyMs: number;
  /** prove() call to its result, in the caller. */
  readonly wallMs: number;
  /** The sequencer's acceptance check of the returned proof (createProofVerifier(vkey).check). */
  readonly checkMs: number;
}

export interface ProofTimeResult {
  readonly config: string;
  readonly params: string;
  readonly constraints: number;
  readonly backend: ProverBackend["kind"];
  readonly backendCommand: string;
  /** Pool creation to its worker ready (artifacts loaded, curve built). */
  readonly poolStartMs: number;
  readonly warmup: JobTiming;
  readonly jobs: readonly JobTiming[];
  /** Means over `jobs` (the warm-up excluded). */
  readonly mean: { readonly witnessMs: number; readonly proveMs: number; readonly verifyMs: number; readonly wallMs: number; readonly checkMs: number };
  /** Mean wall − (witness + prove + verify): IPC, (de)serialisation and dispatch. */
  readonly poolOverheadMs: number;
  /** Mean checkMs / mean wallMs: what the acceptance check adds to a proof. */
  readonly checkFraction: number;
  readonly workerMaxRssMb: number | null;
  /** 1-minute load average before and after: well above the cores in use means other work shared the machine. */
  readonly loadAvg1: readonly [number, number];
}

export interface ThroughputRun {
  readonly mode: "embedded" | "cluster";
  readonly workers: number;
  readonly jobs: number;
  /** Creation (or process spawn) until every worker is ready; not part of wallMs. */
  readonly startMs: number;
  /** All jobs submitted at once → last result. */
  readonly wallMs: number;
  readonly batchesPerHour: number;
  readonly opsPerSec: number;
  readonly meanLatencyMs: number;
  readonly maxLatencyMs: number;
  /** Means of the workers' own stage times: they grow when workers share the cores. */
  readonly meanWitnessMs: number;
  readonly meanProveMs: number;
  /** throughput(k) / throughput(1) of the same mode. */
  readonly speedup: number;
  /** throughput(k) / (k · throughput(1)). */
  readonly efficiency: number;
  /** throughput(k) / (min(k, cores) · throughput(1)). */
  readonly efficiencyCores: number;
  /** Cluster: wall / embedded wall with as many workers. */
  readonly queueOverhead: number | null;
  /** Which worker proved how many jobs. */
  readonly perWorker: Record<string, number>;
  readonly workerMaxRssMb: number | null;
  /** Lowest os.freemem() seen while the jobs ran. */
  readonly minFreeMemMiB: number;
  /** 1-minute load average before and after the jobs. */
  readonly loadAvg1: readonly [number, number];
}

export interface ProverBench {
  readonly quick: boolean;
  readonly machine: {
    readonly availableParallelism: number;
    readonly cpuModel: string;
    readonly totalMemGiB: number;
    readonly freeMemGiBAtStart: number;
    readonly loadAvgAtStart: readonly number[];
    readonly node: string;
  };
  readonly settings: {
    readonly proofTimeConfigs: readonly string[];
    readonly jobsPerBackend: number;
    readonly throughputConfig: string;
    readonly throughputJobs: number;
    readonly embeddedWorkers: readonly number[];
    readonly clusterWorkers: readonly number[];
  };
  readonly proofTime: readonly ProofTimeResult[];
  readonly throughput: {
    readonly config: string;
    readonly constraints: number;
    readonly opsPerBatch: number;
    readonly embedded: readonly ThroughputRun[];
    readonly cluster: readonly ThroughputRun[];
    /** Why the cluster part did not run or stopped, if it did. */
    readonly clusterError: string | null;
  };
  /** The sequencer's acceptance check against the proof wall time (test config, snarkjs backend). */
  readonly acceptance: {
    readonly config: string;
    readonly checkMs: number;
    readonly proofWallMs: number;
    /** checkMs / proofWallMs. */
    readonly fraction: number;
    /** The worker's own verification, already inside proofWallMs. */
    readonly workerVerifyMs: number;
    readonly workerVerifyFraction: number;
  };
  /** Filled by scripts/bench.ts from the gas section (submitBatch on anvil); null when that did not run. */
  submission: SubmissionOverhead | null;
  readonly wallSeconds: number;
  readonly notes: readonly string[];
}

export interface SubmissionOverhead {
  /** Where submitMs comes from (this run's gas section, or an earlier run's). */
  readonly source: string;
  readonly batches: number;
  /** submitBatch sent → receipt, mean over the gas section's batches (anvil, automine). */
  readonly submitMs: number;
  readonly proofWallMs: number;
  readonly submitFraction: number;
  readonly checkFraction: number;
  /** (acceptance check + submission) / proof wall. */
  readonly totalFraction: number;
  readonly target: number;
  readonly met: boolean;
}

/** The gas section's submit timings (scripts/bench.ts). */
export interface SubmitTimings {
  readonly batches: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly maxMs: number;
}

/** Joins the gas section's submitBatch time with the proof and acceptance figures (target: under 5 % together). */
export function submissionOverhead(r: ProverBench, submit: SubmitTimings, source: string): SubmissionOverhead {
  const proofWallMs = r.acceptance.proofWallMs;
  const submitFraction = submit.meanMs / proofWallMs;
  const totalFraction = submitFraction + r.acceptance.fraction;
  return {
    source,
    batches: submit.batches,
    submitMs: submit.meanMs,
    proofWallMs,
    submitFraction: round(submitFraction, 4),
    checkFraction: r.acceptance.fraction,
    totalFraction: round(totalFraction, 4),
    target: 0.05,
    met: totalFraction < 0.05,
  };
}

// ---------------------------------------------------------------------------------------------
// Helpers

const round = (x: number, digits = 1): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};
const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));
const load1 = (): number => round(os.loadavg()[0], 2);

async function waitFor(cond: () => boolean, what: string, timeoutMs: number, failed?: () => string | null): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    const f = failed?.();
    if (f) throw new Error(`${what}: ${f}`);
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** Samples os.freemem() until stopped; returns the lowest value (MiB). */
function memorySampler(): () => number {
  let min = os.freemem();
  const t = setInterval(() => (min = Math.min(min, os.freemem())), 250);
  return () => {
    clearInterval(t);
    return Math.round(Math.min(min, os.freemem()) / 2 ** 20);
  };
}

interface Circuit {
  readonly name: string;
  readonly params: Params;
  readonly constraints: number;
  readonly artifacts: CircuitArtifacts;
  readonly verifier: ProofVerifier;
}

async function loadCircuit(name: keyof typeof CONFIGS): Promise<Circuit> {
  const p = CONFIGS[name];
  const circuit = await compileCircuit({ name: batchCircuitName(p), mainSource: batchCircuitSource(p), log: () => {} });
  const keys = await ensureKeys(circuit, { log: () => {} });
  const artifacts: CircuitArtifacts = { circuitHash: circuit.circuitHash, wasmPath: circuit.wasmPath, zkeyPath: keys.zkeyPath, vkeyPath: keys.vkeyPath };
  return { name, params: p, constraints: circuit.constraints, artifacts, verifier: await createProofVerifier(keys.vkeyPath) };
}

function jobOf(b: BatchResult, batchNumber: number): ProofJob {
  return { batchNumber, circuitInput: b.circuitInput, publicInput: b.publicInput.toString() };
}

/** The pool's log: warnings and errors go through, job completions feed the RSS figure, the rest is dropped. */
function poolLogger(log: LogFn, rss: { max: number | null }, tag: object): LogFn {
  return (o) => {
    const e = o as { msg?: string; level?: string; maxRssMb?: unknown };
    if (e.msg === "prover.job.done" && typeof e.maxRssMb === "number") rss.max = Math.max(rss.max ?? 0, e.maxRssMb);
    if (e.level === "warn" || e.level === "error") log({ ...tag, ...o });
  };
}

async function startPool(c: Circuit, size: number, backend: ProverBackend, log: LogFn, rss: { max: number | null }): Promise<{ pool: ProverPool; startMs: number }> {
  let startError: string | null = null;
  const base = poolLogger(log, rss, { bench: "prover", config: c.name, workers: size });
  const t0 = performance.now();
  const pool = createProverPool({
    artifacts: c.artifacts,
    size,
    backend,
    log: (o) => {
      const e = o as { msg?: string; error?: string };
      if (e.msg === "prover.worker.start_failed") startError = e.error ?? "a worker failed to start";
      base(o);
    },
  });
  try {
    await waitFor(() => pool.workers().filter((w) => w.state === "idle").length === size, `${size} pool worker(s) to start`, 180_000, () => startError);
  } catch (e) {
    await pool.close();
    throw e;
  }
  return { pool, startMs: Math.round(performance.now() - t0) };
}

// ---------------------------------------------------------------------------------------------
// 1. Proof time per config and backend

async function timedJob(prover: Prover, verifier: ProofVerifier, job: ProofJob): Promise<JobTiming> {
  const t0 = performance.now();
  const r = await prover.prove(job);
  const wallMs = performance.now() - t0;
  const t1 = performance.now();
  const rejected = await verifier.check(r.proof, r.publicSignals, job.publicInput);
  const checkMs = performance.now() - t1;
  if (rejected !== null) throw new Error(`batch ${job.batchNumber}: the sequencer-side check rejected the proof: ${rejected}`);
  return { batch: job.batchNumber, ...r.timings, wallMs: round(wallMs), checkMs: round(checkMs, 2) };
}

async function proofTime(c: Circuit, backend: ProverBackend, k: number, log: LogFn, batchBase: number): Promise<ProofTimeResult> {
  const rss = { max: null as number | null };
  const batches = Array.from({ length: k + 1 }, () => fullBatch(c.params));
  const { pool, startMs } = await startPool(c, 1, backend, log, rss);
  try {
    const loadBefore = load1();
    const warmup = await timedJob(pool, c.verifier, jobOf(batches[0], batchBase));
    const jobs: JobTiming[] = [];
    for (let i = 1; i <= k; i++) jobs.push(await timedJob(pool, c.verifier, jobOf(batches[i], batchBase + i)));
    const m = {
      witnessMs: round(mean(jobs.map((j) => j.witnessMs))),
      proveMs: round(mean(jobs.map((j) => j.proveMs))),
      verifyMs: round(mean(jobs.map((j) => j.verifyMs))),
      wallMs: round(mean(jobs.map((j) => j.wallMs))),
      checkMs: round(mean(jobs.map((j) => j.checkMs)), 2),
    };
    const r: ProofTimeResult = {
      config: c.name,
      params: paramsKey(c.params),
      constraints: c.constraints,
      backend: backend.kind,
      backendCommand: backendLabel(backend),
      poolStartMs: startMs,
      warmup,
      jobs,
      mean: m,
      poolOverheadMs: round(m.wallMs - m.witnessMs - m.proveMs - m.verifyMs),
      checkFraction: round(m.checkMs / m.wallMs, 5),
      workerMaxRssMb: rss.max,
      loadAvg1: [loadBefore, load1()],
    };
    log({ msg: "bench.prover.proof_time", config: c.name, backend: backend.kind, constraints: c.constraints, poolStartMs: startMs, warmupWallMs: warmup.wallMs, ...m, poolOverheadMs: r.poolOverheadMs, loadAvg1: r.loadAvg1 });
    return r;
  } finally {
    await pool.close();
  }
}

// ---------------------------------------------------------------------------------------------
// 2 and 3. Throughput

interface RunTiming {
  readonly wallMs: number;
  readonly latencies: number[];
  readonly results: ProofResult[];
  readonly minFreeMemMiB: number;
  readonly loadAvg1: readonly [number, number];
}

/** Submits every job at once; resolves when the last result is in, then checks each proof as the sequencer would. */
async function runJobs(prover: Prover, verifier: ProofVerifier, jobs: readonly ProofJob[]): Promise<RunTiming> {
  const stopSampler = memorySampler();
  const loadBefore = load1();
  const t0 = performance.now();
  let results: { r: ProofResult; ms: number }[];
  let minFreeMemMiB: number;
  try {
    results = await Promise.all(jobs.map((j) => prover.prove(j).then((r) => ({ r, ms: performance.now() - t0 }))));
  } finally {
    minFreeMemMiB = stopSampler();
  }
  const wallMs = performance.now() - t0;
  for (let i = 0; i < jobs.length; i++) {
    const rejected = await verifier.check(results[i].r.proof, results[i].r.publicSignals, jobs[i].publicInput);
    if (rejected !== null) throw new Error(`batch ${jobs[i].batchNumber}: rejected: ${rejected}`);
  }
  return { wallMs, latencies: results.map((x) => x.ms), results: results.map((x) => x.r), minFreeMemMiB, loadAvg1: [loadBefore, load1()] };
}

function throughputRun(mode: ThroughputRun["mode"], workers: number, startMs: number, t: RunTiming, ops: number, workerMaxRssMb: number | null): ThroughputRun {
  const jobs = t.results.length;
  const perWorker: Record<string, number> = {};
  for (const r of t.results) perWorker[r.worker] = (perWorker[r.worker] ?? 0) + 1;
  return {
    mode,
    workers,
    jobs,
    startMs,
    wallMs: Math.round(t.wallMs),
    batchesPerHour: round((jobs / t.wallMs) * 3_600_000),
    opsPerSec: round(((jobs * ops) / t.wallMs) * 1000, 3),
    meanLatencyMs: Math.round(mean(t.latencies)),
    maxLatencyMs: Math.round(Math.max(...t.latencies)),
    meanWitnessMs: Math.round(mean(t.results.map((r) => r.timings.witnessMs))),
    meanProveMs: Math.round(mean(t.results.map((r) => r.timings.proveMs))),
    speedup: NaN,
    efficiency: NaN,
    efficiencyCores: NaN,
    queueOverhead: null,
    perWorker,
    workerMaxRssMb,
    minFreeMemMiB: t.minFreeMemMiB,
    loadAvg1: t.loadAvg1,
  };
}

/** Fills speedup and efficiencies against the run with one worker. */
function withScaling(runs: ThroughputRun[], cores: number): ThroughputRun[] {
  const one = runs.find((r) => r.workers === 1);
  if (!one) return runs;
  const tp = (r: ThroughputRun): number => r.jobs / r.wallMs;
  return runs.map((r) => ({
    ...r,
    speedup: round(tp(r) / tp(one), 3),
    efficiency: round(tp(r) / (r.workers * tp(one)), 3),
    efficiencyCores: round(tp(r) / (Math.min(r.workers, cores) * tp(one)), 3),
  }));
}

async function embeddedRun(c: Circuit, workers: number, jobs: readonly ProofJob[], log: LogFn): Promise<ThroughputRun> {
  const rss = { max: null as number | null };
  const { pool, startMs } = await startPool(c, workers, SNARKJS_BACKEND, log, rss);
  try {
    const t = await runJobs(pool, c.verifier, jobs);
    const r = throughputRun("embedded", workers, startMs, t, opsPerBatch(c.params), rss.max);
    log({ msg: "bench.prover.embedded", workers, jobs: jobs.length, wallMs: r.wallMs, batchesPerHour: r.batchesPerHour, meanLatencyMs: r.meanLatencyMs, meanProveMs: r.meanProveMs, loadAvg1: r.loadAvg1 });
    return r;
  } finally {
    await pool.close();
  }
}

interface WorkerProcess {
  readonly proc: ChildProcess;
  readonly pid: number;
  ready: boolean;
  exited: boolean;
  readonly exit: Promise<void>;
  stderrTail: string;
  maxRssMb: number | null;
}

function parseLine(line: string): { msg?: string; level?: string; maxRssMb?: unknown } | null {
  try {
    const o: unknown = JSON.parse(line);
    return typeof o === "object" && o !== null ? (o as { msg?: string }) : null;
  } catch {
    return null;
  }
}

/** `prover worker` as an operator starts it (explicit artifacts), its output parsed line by line. */
function spawnClusterWorker(redisUrl: string, c: Circuit, log: LogFn): WorkerProcess {
  const args = [
    "--require", require.resolve("tsx/cjs"), path.join(REPO, "prover", "cluster-worker.ts"),
    "--redis", redisUrl,
    "--concurrency", "1",
    "--circuit-wasm", c.artifacts.wasmPath,
    "--zkey", c.artifacts.zkeyPath,
    "--vkey", c.artifacts.vkeyPath,
    "--circuit-hash", c.artifacts.circuitHash,
  ];
  const proc = spawn(process.execPath, args, { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
  const w: WorkerProcess = {
    proc,
    pid: proc.pid ?? -1,
    ready: false,
    exited: false,
    exit: new Promise<void>((r) => proc.once("exit", () => r())),
    stderrTail: "",
    maxRssMb: null,
  };
  void w.exit.then(() => (w.exited = true));
  proc.once("error", (e) => {
    w.exited = true;
    w.stderrTail += `spawn failed: ${e.message}\n`;
  });
  const onLine = (line: string, stream: string): void => {
    const o = parseLine(line);
    if (stream === "stderr") w.stderrTail = (w.stderrTail + line + "\n").slice(-2000);
    if (!o) return;
    if (o.msg === "prover.worker.ready") w.ready = true;
    // The worker's local pool logs as prover.local.*.
    if (typeof o.msg === "string" && o.msg.endsWith("job.done") && typeof o.maxRssMb === "number") w.maxRssMb = Math.max(w.maxRssMb ?? 0, o.maxRssMb);
    if (o.level === "warn" || o.level === "error") log({ bench: "prover", clusterWorker: w.pid, ...o });
  };
  for (const stream of ["stdout", "stderr"] as const) {
    let buf = "";
    proc[stream]?.setEncoding("utf8");
    proc[stream]?.on("data", (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (line) onLine(line, stream);
      }
    });
  }
  return w;
}

/** SIGTERM (the worker drains: nothing runs by now), SIGKILL after `graceMs`. */
async function stopClusterWorker(w: WorkerProcess, graceMs = 15_000): Promise<void> {
  if (w.exited) return;
  w.proc.kill("SIGTERM");
  const t = setTimeout(() => w.proc.kill("SIGKILL"), graceMs);
  await w.exit;
  clearTimeout(t);
}

async function clusterRun(redis: TestRedis, c: Circuit, workers: number, jobs: readonly ProofJob[], log: LogFn, all: WorkerProcess[]): Promise<ThroughputRun> {
  // Loaded here: an embedded-only run never needs bullmq.
  const { createClusterProver } = await import("../prover/cluster");
  const t0 = performance.now();
  const procs = Array.from({ length: workers }, () => spawnClusterWorker(redis.url, c, log));
  all.push(...procs);
  try {
    await waitFor(
      () => procs.every((p) => p.ready),
      `${workers} prover worker process(es) to print prover.worker.ready`,
      180_000,
      () => {
        const dead = procs.find((p) => p.exited);
        return dead ? `worker ${dead.pid} exited before it was ready: ${dead.stderrTail.trim().slice(-800)}` : null;
      },
    );
    const startMs = Math.round(performance.now() - t0);
    const prover = await createClusterProver({
      redisUrl: redis.url,
      artifacts: c.artifacts,
      log: (o) => {
        const e = o as { level?: string };
        if (e.level === "warn" || e.level === "error") log({ bench: "prover", cluster: true, ...o });
      },
    });
    let t: RunTiming;
    try {
      t = await runJobs(prover, c.verifier, jobs);
    } finally {
      await prover.close();
    }
    const rss = procs.map((p) => p.maxRssMb).filter((x): x is number => x !== null);
    const r = throughputRun("cluster", workers, startMs, t, opsPerBatch(c.params), rss.length ? Math.max(...rss) : null);
    log({ msg: "bench.prover.cluster", workers, jobs: jobs.length, wallMs: r.wallMs, batchesPerHour: r.batchesPerHour, meanLatencyMs: r.meanLatencyMs, meanProveMs: r.meanProveMs, perWorker: r.perWorker, loadAvg1: r.loadAvg1 });
    return r;
  } finally {
    await Promise.all(procs.map((p) => stopClusterWorker(p)));
  }
}

// ---------------------------------------------------------------------------------------------

export async function benchProver(opts: { quick: boolean; log: LogFn }): Promise<ProverBench> {
  const { quick, log } = opts;
  const t0 = performance.now();
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  const configs: (keyof typeof CONFIGS)[] = quick ? ["test"] : ["test", "default"];
  const k = quick ? 1 : 2;
  const jobsCount = quick ? 4 : 8;
  const embeddedWorkers = quick ? [1, 2] : [1, 2, 4];
  const clusterWorkers = [1, 2];
  const machine = {
    availableParallelism: cores,
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    totalMemGiB: round(os.totalmem() / 2 ** 30),
    freeMemGiBAtStart: round(os.freemem() / 2 ** 30),
    loadAvgAtStart: os.loadavg().map((x) => round(x, 2)),
    node: process.version,
  };
  log({ msg: "bench.prover.start", quick, configs, k, jobs: jobsCount, embeddedWorkers, clusterWorkers, ...machine });

  const snarkjsCli = path.join(path.dirname(require.resolve("snarkjs")), "cli.cjs");
  const commandBackend: ProverBackend = { kind: "command", command: [process.execPath, snarkjsCli, "groth16", "prove"] };

  const circuits = new Map<string, Circuit>();
  for (const name of configs) circuits.set(name, await loadCircuit(name));
  const test = circuits.get("test") as Circuit;

  // 1. Proof time per config and backend.
  const proofTimes: ProofTimeResult[] = [];
  let batchBase = 1;
  for (const name of configs) {
    for (const backend of [SNARKJS_BACKEND, commandBackend]) {
      proofTimes.push(await proofTime(circuits.get(name) as Circuit, backend, k, log, batchBase));
      batchBase += 100;
    }
  }

  // 2. Embedded throughput; the same J batches for every run (distinct public inputs), numbered per run.
  const batches = Array.from({ length: jobsCount }, () => fullBatch(test.params));
  const jobsFrom = (base: number): ProofJob[] => batches.map((b, i) => jobOf(b, base + i));
  const embedded: ThroughputRun[] = [];
  for (const n of embeddedWorkers) {
    embedded.push(await embeddedRun(test, n, jobsFrom((batchBase += 100)), log));
  }

  // 3. Cluster over a private Redis.
  const cluster: ThroughputRun[] = [];
  let clusterError: string | null = null;
  const procs: WorkerProcess[] = [];
  let redis: TestRedis | null = null;
  const killAll = (): void => {
    for (const p of procs) if (!p.exited) p.proc.kill("SIGKILL");
  };
  // Interrupted (Ctrl-C, SIGTERM): the worker processes and redis-server go with us.
  const onSignal = (signal: NodeJS.Signals): void => {
    log({ msg: "bench.prover.interrupted", level: "warn", signal });
    killAll();
    void (redis?.stop() ?? Promise.resolve()).finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  process.on("exit", killAll);
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    redis = await startRedis();
    for (const n of clusterWorkers) {
      cluster.push(await clusterRun(redis, test, n, jobsFrom((batchBase += 100)), log, procs));
    }
  } catch (e) {
    clusterError = errorText(e);
    log({ msg: "bench.prover.cluster_failed", level: "error", error: clusterError });
  } finally {
    await Promise.all(procs.map((p) => stopClusterWorker(p, 5_000)));
    await redis?.stop();
    process.removeListener("exit", killAll);
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
  }

  const embeddedScaled = withScaling(embedded, cores);
  const clusterScaled = withScaling(cluster, cores).map((r) => {
    const e = embeddedScaled.find((x) => x.workers === r.workers);
    return { ...r, queueOverhead: e ? round(r.wallMs / e.wallMs, 3) : null };
  });

  const base = proofTimes.find((r) => r.config === "test" && r.backend === "snarkjs") as ProofTimeResult;
  const acceptance = {
    config: "test",
    checkMs: base.mean.checkMs,
    proofWallMs: base.mean.wallMs,
    fraction: round(base.mean.checkMs / base.mean.wallMs, 5),
    workerVerifyMs: base.mean.verifyMs,
    workerVerifyFraction: round(base.mean.verifyMs / base.mean.wallMs, 5),
  };

  const result: ProverBench = {
    quick,
    machine,
    settings: { proofTimeConfigs: configs, jobsPerBackend: k, throughputConfig: "test", throughputJobs: jobsCount, embeddedWorkers, clusterWorkers },
    proofTime: proofTimes,
    throughput: { config: "test", constraints: test.constraints, opsPerBatch: opsPerBatch(test.params), embedded: embeddedScaled, cluster: clusterScaled, clusterError },
    acceptance,
    submission: null,
    wallSeconds: round((performance.now() - t0) / 1000),
    notes: [
      "Proof time: an embedded pool of one worker; one warm-up job, then jobs one after another. wallMs is prove() to result in the caller; checkMs is the sequencer's createProofVerifier(vkey).check of the returned proof, in the caller.",
      "command backend: node snarkjs/build/cli.cjs groth16 prove (a new process per proof, witness through a file). rssMb is the pool worker's peak RSS; with the command backend that excludes the external prover process.",
      `Throughput: ${jobsCount} distinct ${"test"}-config batches submitted at once, wall from submit to the last result; ops per batch = depositSlots + l2Slots + fillSlots.`,
      "snarkjs spreads one proof over all cores, so on this machine a second worker can only overlap single-threaded phases (witness, zkey reads, verification) of one proof with another's multi-threaded ones: speedup, not efficiency, is the figure to read; efficiencyCores divides by min(k, cores).",
      "Cluster: a private redis-server, `prover worker --concurrency 1` processes (each with its own one-process local pool) started with explicit artifacts, jobs through createClusterProver; queueOverhead = cluster wall / embedded wall at the same worker count.",
    ],
  };
  log({ msg: "bench.prover.done", wallSeconds: result.wallSeconds });
  return result;
}

/** The summary tables (stdout). */
export function printProverSummary(r: ProverBench): void {
  const m = r.machine;
  console.log(`\nProver pool (${m.availableParallelism} cores, ${m.cpuModel}, ${m.freeMemGiBAtStart} GiB free of ${m.totalMemGiB}, load ${m.loadAvgAtStart.join(" ")}; ${r.wallSeconds} s)`);
  console.log("Proof time per job (pool of 1 worker, means after a warm-up job; ms)");
  console.table(
    r.proofTime.map((p) => ({
      config: p.config,
      constraints: p.constraints,
      backend: p.backend,
      jobs: p.jobs.length,
      witness: p.mean.witnessMs,
      prove: p.mean.proveMs,
      workerVerify: p.mean.verifyMs,
      wall: p.mean.wallMs,
      poolOverhead: p.poolOverheadMs,
      warmupWall: p.warmup.wallMs,
      seqCheck: p.mean.checkMs,
      "check/wall %": round(p.checkFraction * 100, 3),
      rssMb: p.workerMaxRssMb,
      load1: p.loadAvg1.join("→"),
    })),
  );
  const t = r.throughput;
  console.log(`Throughput (${t.config} config, ${t.constraints} constraints, ${t.opsPerBatch} ops/batch, ${r.settings.throughputJobs} jobs at once)`);
  console.table(
    [...t.embedded, ...t.cluster].map((x) => ({
      mode: x.mode,
      workers: x.workers,
      wallS: round(x.wallMs / 1000, 2),
      batchesPerHour: x.batchesPerHour,
      opsPerSec: x.opsPerSec,
      meanLatencyS: round(x.meanLatencyMs / 1000, 2),
      meanProveS: round(x.meanProveMs / 1000, 2),
      speedup: x.speedup,
      "E(k)": x.efficiency,
      "E(min(k,cores))": x.efficiencyCores,
      queueOverhead: x.queueOverhead,
      startS: round(x.startMs / 1000, 2),
      rssMb: x.workerMaxRssMb,
      minFreeMiB: x.minFreeMemMiB,
      load1: x.loadAvg1.join("→"),
    })),
  );
  if (t.clusterError) console.log(`cluster part failed: ${t.clusterError}`);
  // One worker proving keeps the load near the core count (snarkjs' threads); more workers add their own.
  const single = [...r.proofTime, ...t.embedded, ...t.cluster].filter((x) => !("workers" in x) || x.workers === 1);
  const busiest = Math.max(...single.flatMap((x) => x.loadAvg1));
  if (busiest > 1.5 * m.availableParallelism + 1) {
    console.log(`note: with one worker proving, the 1-minute load average reached ${busiest} on ${m.availableParallelism} cores: other work shared the machine, so these timings are noisy.`);
  }
  const a = r.acceptance;
  const s = r.submission;
  console.log("Verification and submission against proof time (test config, snarkjs; target: under 5 % together)");
  console.table({
    proofWallMs: a.proofWallMs,
    "workerVerifyMs (inside the wall)": a.workerVerifyMs,
    sequencerCheckMs: a.checkMs,
    "check %": round(a.fraction * 100, 3),
    submitMs: s ? s.submitMs : "n/a (no gas section: --only prover,gas)",
    "submit %": s ? round(s.submitFraction * 100, 3) : "n/a",
    "total %": s ? round(s.totalFraction * 100, 3) : "n/a",
    met: s ? s.met : "n/a",
  });
}
