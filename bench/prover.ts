/**
 * Prover pool benchmark: real Groth16 proofs of the batch circuit, in real worker processes, and over
 * a real Redis with real `prover worker` processes (the section "prover" of `npm run bench`).
 * Parts (PROVER_PARTS; all unless --prover-parts / --parts names some):
 *
 * ab. The Groth16 step alone, side by side (bench/prover-ab.ts): native/build/Release/modex-prover,
 *    `node snarkjs/build/cli.cjs groth16 prove` and, with $MODEX_RAPIDSNARK, rapidsnark, each as its
 *    own process on the same zkey and witness file, rounds alternated, under /usr/bin/time (wall,
 *    user + sys, peak RSS); default batch (test with --quick), and with --big BIG_PARAMS (~2^20
 *    constraints). Result: sideBySide[], speedup = snarkjs wall / native wall, memoryRatio.
 * proof. Proof time per config and backend: one warm-up job, then K jobs one after another through an
 *    embedded pool of one worker, with in-process snarkjs, the command backend
 *    (`node snarkjs/build/cli.cjs groth16 prove`, rapidsnark's argument convention) and the native
 *    prover (every core) when built. Per job: the
 *    worker's witness / prove / verify times, the wall time from prove() to its result, and the
 *    sequencer's own acceptance check (createProofVerifier(vkey).check) of the proof.
 * embedded. Embedded pool throughput at 1, 2 and 4 workers (snarkjs): J jobs (test config) submitted at once.
 * cluster. The same J jobs through createClusterProver on a private redis-server, proven by 1 and 2
 *    `prover worker --backend snarkjs` processes started the way an operator starts them.
 * pinned. The same J jobs through 1 `prover worker --backend native --prover-threads 1` under
 *    `taskset -c 0`, then 2 under `taskset -c 0` / `taskset -c 1`: throughput.pinned[] and
 *    throughput.pinnedEfficiency = throughput(2) / (2 · throughput(1)), no core shared.
 * Submission to L1 is timed in scripts/bench.ts's gas section (anvil) and joined here by
 * `submissionOverhead`.
 *
 *   npm run bench -- --only prover [--quick] [--big] [--prover-parts ab,proof,embedded,cluster,pinned]
 *   npx tsx bench/prover-main.ts [--quick] [--big] [--parts ab,...] [--out FILE]
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
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
import { nativeProverAvailable } from "../prover/backend";
import { sideBySide, type SideBySideResult } from "./prover-ab";
import { backendLabel, NATIVE_BACKEND, SNARKJS_BACKEND, type CircuitArtifacts, type ProofJob, type ProofResult, type Prover, type ProverBackend } from "../prover/types";
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
  readonly mode: "embedded" | "cluster" | "cluster-pinned";
  /** The Groth16 backend of every worker (backendLabel). */
  readonly backend: string;
  /** cluster-pinned: the core each worker (and its local prover process) was pinned to with taskset -c. */
  readonly cpus: readonly number[] | null;
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
    /** The parts that ran (PROVER_PARTS). */
    readonly parts: readonly ProverPart[];
    /** --big: the side-by-side part also proves BIG_PARAMS (about 2^20 constraints). */
    readonly big: boolean;
    readonly proofTimeConfigs: readonly string[];
    readonly proofTimeBackends: readonly string[];
    readonly jobsPerBackend: number;
    readonly throughputConfig: string;
    readonly throughputJobs: number;
    readonly embeddedWorkers: readonly number[];
    readonly clusterWorkers: readonly number[];
    readonly clusterBackend: string;
    readonly pinnedBackend: string;
    readonly sideBySideConfigs: readonly string[];
  };
  /** Compile and key setup per circuit used (seconds; cached: already there, so only loading). */
  readonly setup: Record<string, CircuitSetup & { readonly params: string; readonly constraints: number }>;
  /** The Groth16 step alone, each backend its own process on the same zkey and witness file, alternated (bench/prover-ab.ts). */
  readonly sideBySide: readonly SideBySideResult[];
  /** Why a side-by-side config did not finish, by config. */
  readonly sideBySideErrors: Record<string, string>;
  readonly proofTime: readonly ProofTimeResult[];
  readonly throughput: {
    readonly config: string;
    readonly constraints: number;
    readonly opsPerBatch: number;
    readonly embedded: readonly ThroughputRun[];
    readonly cluster: readonly ThroughputRun[];
    /** Why the cluster part did not run or stopped, if it did. */
    readonly clusterError: string | null;
    /**
     * One `prover worker --backend native --prover-threads 1` under `taskset -c 0`, then two under
     * `taskset -c 0` and `taskset -c 1`: no core shared between workers. efficiency = throughput(2) / (2 · throughput(1)).
     */
    readonly pinned: readonly ThroughputRun[];
    readonly pinnedEfficiency: number | null;
    /** The cores the bench process itself (and its redis-server) kept to during the pinned runs; null: it could not avoid the workers' cores (fewer than 3). */
    readonly pinnedBenchCpus: readonly number[] | null;
    readonly pinnedError: string | null;
  };
  /** The sequencer's acceptance check against the proof wall time (test config, snarkjs backend); null when the proof-time part did not run. */
  readonly acceptance: null | {
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
export function submissionOverhead(r: ProverBench, submit: SubmitTimings, source: string): SubmissionOverhead | null {
  if (!r.acceptance) return null;
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

/**
 * The "about 2^20 constraints" batch of `--big`: 16 transfer, 4 fill and 8 L1 slots at production tree
 * depth (CONFIGS.production's account, balance and order levels and fee buckets).
 */
export const BIG_PARAMS: Params = {
  accountLevels: CONFIGS.production.accountLevels,
  balanceLevels: CONFIGS.production.balanceLevels,
  orderLevels: CONFIGS.production.orderLevels,
  depositSlots: 8,
  l2Slots: 16,
  fillSlots: 4,
  feeBuckets: CONFIGS.production.feeBuckets,
};

export interface CircuitSetup {
  readonly compileS: number;
  readonly keysS: number;
  /** Whether the compile output and keys were already there (then the seconds are only the loading). */
  readonly cached: { readonly circuit: boolean; readonly keys: boolean };
}

/** Compiles the batch circuit of `p` and makes (or finds) its keys; `log` gets the setup's progress when verbose. */
async function loadCircuit(name: string, p: Params = CONFIGS[name as keyof typeof CONFIGS], log?: LogFn): Promise<Circuit & { setup: CircuitSetup }> {
  const quiet = (): void => {};
  let compiled = false;
  let keysMade = false;
  const t0 = performance.now();
  const circuit = await compileCircuit({
    name: batchCircuitName(p),
    mainSource: batchCircuitSource(p),
    log: (o) => {
      const e = o as { msg?: string };
      if (e.msg === "compile.start") compiled = true;
      (log ?? quiet)({ bench: "prover", config: name, ...o });
    },
  });
  const t1 = performance.now();
  const keys = await ensureKeys(circuit, {
    log: (o) => {
      const e = o as { msg?: string };
      if (e.msg === "setup.start") keysMade = true;
      (log ?? quiet)({ bench: "prover", config: name, ...o });
    },
  });
  const setup: CircuitSetup = { compileS: round((t1 - t0) / 1000), keysS: round((performance.now() - t1) / 1000), cached: { circuit: !compiled, keys: !keysMade } };
  const artifacts: CircuitArtifacts = { circuitHash: circuit.circuitHash, wasmPath: circuit.wasmPath, zkeyPath: keys.zkeyPath, vkeyPath: keys.vkeyPath };
  return { name, params: p, constraints: circuit.constraints, artifacts, verifier: await createProofVerifier(keys.vkeyPath), setup };
}

function jobOf(b: BatchResult, batchNumber: number): ProofJob {
  return { batchNumber, circuitInput: b.circuitInput, publicSignals: b.publicSignals.map(String) };
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
  const rejected = await verifier.check(r.proof, r.publicSignals, job.publicSignals);
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
    const rejected = await verifier.check(results[i].r.proof, results[i].r.publicSignals, jobs[i].publicSignals);
    if (rejected !== null) throw new Error(`batch ${jobs[i].batchNumber}: rejected: ${rejected}`);
  }
  return { wallMs, latencies: results.map((x) => x.ms), results: results.map((x) => x.r), minFreeMemMiB, loadAvg1: [loadBefore, load1()] };
}

function throughputRun(mode: ThroughputRun["mode"], workers: number, startMs: number, t: RunTiming, ops: number, workerMaxRssMb: number | null): Omit<ThroughputRun, "backend" | "cpus"> {
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
    const r = { ...throughputRun("embedded", workers, startMs, t, opsPerBatch(c.params), rss.max), backend: backendLabel(SNARKJS_BACKEND), cpus: null };
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

/** `prover worker`'s --backend (and --prover-threads / --prover-command) for `b`. */
function backendArgs(b: ProverBackend): string[] {
  if (b.kind === "native") return ["--backend", "native", "--prover-threads", String(b.threads)];
  if (b.kind === "snarkjs") return ["--backend", "snarkjs"];
  return ["--backend", "command", "--prover-command", b.command.join(" ")];
}

/**
 * `prover worker` as an operator starts it (explicit artifacts, explicit backend), its output parsed
 * line by line; with `cpu`, under `taskset -c CPU` (its local pool process inherits the affinity).
 */
function spawnClusterWorker(redisUrl: string, c: Circuit, log: LogFn, opts: { backend: ProverBackend; cpu?: number }): WorkerProcess {
  const args = [
    "--require", require.resolve("tsx/cjs"), path.join(REPO, "prover", "cluster-worker.ts"),
    "--redis", redisUrl,
    "--concurrency", "1",
    "--circuit-wasm", c.artifacts.wasmPath,
    "--zkey", c.artifacts.zkeyPath,
    "--vkey", c.artifacts.vkeyPath,
    "--circuit-hash", c.artifacts.circuitHash,
    ...backendArgs(opts.backend),
  ];
  const argv = opts.cpu === undefined ? [process.execPath, ...args] : ["taskset", "-c", String(opts.cpu), process.execPath, ...args];
  const proc = spawn(argv[0], argv.slice(1), { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
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

/** `pinned`: worker i runs under `taskset -c pinned[i]`. */
async function clusterRun(redis: TestRedis, c: Circuit, workers: number, jobs: readonly ProofJob[], log: LogFn, all: WorkerProcess[], opts: { backend: ProverBackend; pinned?: readonly number[] }): Promise<ThroughputRun> {
  // Loaded here: an embedded-only run never needs bullmq.
  const { createClusterProver } = await import("../prover/cluster");
  const mode: ThroughputRun["mode"] = opts.pinned ? "cluster-pinned" : "cluster";
  const t0 = performance.now();
  const procs = Array.from({ length: workers }, (_, i) => spawnClusterWorker(redis.url, c, log, { backend: opts.backend, cpu: opts.pinned?.[i] }));
  all.push(...procs);
  try {
    await waitFor(
      () => procs.every((p) => p.ready),
      `${workers} prover worker process(es) to print prover.worker.ready`,
      180_000,
      () => {
        const dead = procs.find((p) => p.exited);
        if (!dead) return null;
        // The reason is the CLI's first line ("modex prover worker: ...") or a JSON error line, before any usage text.
        const lines = dead.stderrTail.trim().split("\n");
        const reason = lines.find((l) => l.startsWith("modex prover worker:") || l.includes('"level":"error"')) ?? lines.slice(-5).join("\n");
        return `worker ${dead.pid} exited before it was ready: ${reason.slice(0, 800)}`;
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
    const r = { ...throughputRun(mode, workers, startMs, t, opsPerBatch(c.params), rss.length ? Math.max(...rss) : null), backend: backendLabel(opts.backend), cpus: opts.pinned ? opts.pinned.slice(0, workers) : null };
    log({ msg: `bench.prover.${mode}`, backend: r.backend, cpus: r.cpus, workers, jobs: jobs.length, wallMs: r.wallMs, batchesPerHour: r.batchesPerHour, meanLatencyMs: r.meanLatencyMs, meanProveMs: r.meanProveMs, perWorker: r.perWorker, loadAvg1: r.loadAvg1 });
    return r;
  } finally {
    await Promise.all(procs.map((p) => stopClusterWorker(p)));
  }
}

// ---------------------------------------------------------------------------------------------

/** The parts of the prover bench; `--prover-parts` (scripts/bench.ts) or `--parts` (bench/prover-main.ts) picks some. */
export const PROVER_PARTS = ["ab", "proof", "embedded", "cluster", "pinned"] as const;
export type ProverPart = (typeof PROVER_PARTS)[number];

export function parseProverParts(v: string | undefined): ProverPart[] {
  if (v === undefined) return [...PROVER_PARTS];
  const names = v.split(",").map((x) => x.trim()).filter(Boolean);
  const bad = names.filter((n) => !(PROVER_PARTS as readonly string[]).includes(n));
  if (bad.length || names.length === 0) throw new Error(`prover parts are a comma-separated list of ${PROVER_PARTS.join(", ")}; got ${JSON.stringify(v)}`);
  return PROVER_PARTS.filter((p) => names.includes(p));
}

/** Restricts this process (every thread) to `cpus` with taskset; returns how to undo it, or null when taskset failed. */
function pinSelf(cpus: readonly number[], all: readonly number[], log: LogFn): (() => void) | null {
  const set = (list: readonly number[]): boolean => spawnSync("taskset", ["-a", "-p", "-c", list.join(","), String(process.pid)], { stdio: "ignore" }).status === 0;
  if (!set(cpus)) {
    log({ msg: "bench.prover.pin_self_failed", level: "warn", cpus });
    return null;
  }
  return () => void set(all);
}

export interface ProverBenchOptions {
  readonly quick: boolean;
  readonly log: LogFn;
  /** Also the side-by-side on BIG_PARAMS (about 2^20 constraints; its first setup takes long). */
  readonly big?: boolean;
  /** Default: all. */
  readonly parts?: readonly ProverPart[];
}

export async function benchProver(opts: ProverBenchOptions): Promise<ProverBench> {
  const { quick, log } = opts;
  const parts = new Set<ProverPart>(opts.parts ?? PROVER_PARTS);
  const big = Boolean(opts.big);
  const t0 = performance.now();
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  const configs: (keyof typeof CONFIGS)[] = quick ? ["test"] : ["test", "default"];
  const k = quick ? 1 : 2;
  const jobsCount = quick ? 4 : 8;
  const embeddedWorkers = quick ? [1, 2] : [1, 2, 4];
  const clusterWorkers = [1, 2];
  // Side by side: the default batch (the test one with --quick), and BIG_PARAMS with --big.
  const abConfigs: string[] = [quick ? "test" : "default", ...(big ? ["big"] : [])];
  const machine = {
    availableParallelism: cores,
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    totalMemGiB: round(os.totalmem() / 2 ** 30),
    freeMemGiBAtStart: round(os.freemem() / 2 ** 30),
    loadAvgAtStart: os.loadavg().map((x) => round(x, 2)),
    node: process.version,
  };
  log({ msg: "bench.prover.start", quick, big, parts: [...parts], configs, k, jobs: jobsCount, embeddedWorkers, clusterWorkers, abConfigs, ...machine });

  const snarkjsCli = path.join(path.dirname(require.resolve("snarkjs")), "cli.cjs");
  const commandBackend: ProverBackend = { kind: "command", command: [process.execPath, snarkjsCli, "groth16", "prove"] };
  // Every comparison names its backend: a worker given none would take the native prover when built.
  const proofBackends: ProverBackend[] = [SNARKJS_BACKEND, commandBackend, ...(nativeProverAvailable() ? [NATIVE_BACKEND] : [])];
  // The existing throughput figures (embedded and cluster) stay snarkjs, so that cluster/embedded (queueOverhead) compares like with like.
  const clusterBackend = SNARKJS_BACKEND;
  const pinnedBackend: ProverBackend = { kind: "native", threads: 1 };

  const circuits = new Map<string, Circuit>();
  const setup: ProverBench["setup"] = {};
  const circuit = async (name: string): Promise<Circuit> => {
    const have = circuits.get(name);
    if (have) return have;
    const isBig = name === "big";
    if (isBig) log({ msg: "bench.prover.big.setup", params: paramsKey(BIG_PARAMS), note: "first time: compiling takes minutes and GBs, the development keys longer" });
    const c = await loadCircuit(name, isBig ? BIG_PARAMS : CONFIGS[name as keyof typeof CONFIGS], isBig ? log : undefined);
    setup[name] = { params: paramsKey(c.params), constraints: c.constraints, ...c.setup };
    log({ msg: "bench.prover.circuit", config: name, constraints: c.constraints, ...c.setup });
    circuits.set(name, c);
    return c;
  };

  // 0. The Groth16 step alone, side by side (separate processes, same files, alternated).
  const sideBySideResults: SideBySideResult[] = [];
  const sideBySideErrors: Record<string, string> = {};
  if (parts.has("ab")) {
    for (const name of abConfigs) {
      try {
        const c = await circuit(name);
        const b = fullBatch(c.params);
        const isBig = name === "big";
        sideBySideResults.push(
          await sideBySide(
            { config: name, params: paramsKey(c.params), constraints: c.constraints, wasmPath: c.artifacts.wasmPath, zkeyPath: c.artifacts.zkeyPath, vkeyPath: c.artifacts.vkeyPath, circuitInput: b.circuitInput, publicInput: b.publicInput.toString() },
            { rounds: quick || isBig ? 2 : 3, warmupRounds: quick || isBig ? 0 : 1, nativeThreads: 0, log, timeoutMs: isBig ? 3_600_000 : 1_200_000 },
          ),
        );
      } catch (e) {
        sideBySideErrors[name] = errorText(e);
        log({ msg: "bench.prover.ab_failed", level: "error", config: name, error: sideBySideErrors[name] });
      }
    }
  }

  // 1. Proof time per config and backend.
  const proofTimes: ProofTimeResult[] = [];
  let batchBase = 1;
  if (parts.has("proof")) {
    for (const name of configs) {
      for (const backend of proofBackends) {
        proofTimes.push(await proofTime(await circuit(name), backend, k, log, batchBase));
        batchBase += 100;
      }
    }
  }

  // 2. Embedded throughput; the same J batches for every run (distinct public inputs), numbered per run.
  const needTest = parts.has("embedded") || parts.has("cluster") || parts.has("pinned");
  const test = needTest ? await circuit("test") : null;
  const batches = test ? Array.from({ length: jobsCount }, () => fullBatch(test.params)) : [];
  const jobsFrom = (base: number): ProofJob[] => batches.map((b, i) => jobOf(b, base + i));
  const embedded: ThroughputRun[] = [];
  if (test && parts.has("embedded")) {
    for (const n of embeddedWorkers) {
      embedded.push(await embeddedRun(test, n, jobsFrom((batchBase += 100)), log));
    }
  }

  // 3. Cluster over a private Redis; 4. the same with native workers pinned one core each.
  const cluster: ThroughputRun[] = [];
  const pinned: ThroughputRun[] = [];
  let clusterError: string | null = null;
  let pinnedError: string | null = null;
  let pinnedBenchCpus: number[] | null = null;
  const procs: WorkerProcess[] = [];
  let redis: TestRedis | null = null;
  let unpin: (() => void) | null = null;
  const killAll = (): void => {
    for (const p of procs) if (!p.exited) p.proc.kill("SIGKILL");
  };
  // Interrupted (Ctrl-C, SIGTERM): the worker processes and redis-server go with us.
  const onSignal = (signal: NodeJS.Signals): void => {
    log({ msg: "bench.prover.interrupted", level: "warn", signal });
    killAll();
    void (redis?.stop() ?? Promise.resolve()).finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  if (test && (parts.has("cluster") || parts.has("pinned"))) {
    process.on("exit", killAll);
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    try {
      if (parts.has("cluster")) {
        try {
          redis = await startRedis();
          for (const n of clusterWorkers) {
            cluster.push(await clusterRun(redis, test, n, jobsFrom((batchBase += 100)), log, procs, { backend: clusterBackend }));
          }
        } catch (e) {
          clusterError = errorText(e);
          log({ msg: "bench.prover.cluster_failed", level: "error", error: clusterError });
        } finally {
          await Promise.all(procs.map((p) => stopClusterWorker(p, 5_000)));
          await redis?.stop();
          redis = null;
        }
      }
      if (parts.has("pinned")) {
        try {
          if (cores < 2) throw new Error(`pinned runs need 2 cores, this machine has ${cores}`);
          if (!nativeProverAvailable()) throw new Error("pinned runs use the native prover, which is not built here (native/build/status.json)");
          // The bench process (mostly waiting) and its redis-server keep off cores 0 and 1 where there are others.
          const all = Array.from({ length: cores }, (_, i) => i);
          if (cores >= 3) {
            unpin = pinSelf(all.slice(2), all, log);
            if (unpin) pinnedBenchCpus = all.slice(2);
          }
          redis = await startRedis();
          for (const n of [1, 2]) {
            pinned.push(await clusterRun(redis, test, n, jobsFrom((batchBase += 100)), log, procs, { backend: pinnedBackend, pinned: [0, 1] }));
          }
        } catch (e) {
          pinnedError = errorText(e);
          log({ msg: "bench.prover.pinned_failed", level: "error", error: pinnedError });
        } finally {
          await Promise.all(procs.map((p) => stopClusterWorker(p, 5_000)));
          await redis?.stop();
          redis = null;
          unpin?.();
        }
      }
    } finally {
      process.removeListener("exit", killAll);
      process.removeListener("SIGINT", onSignal);
      process.removeListener("SIGTERM", onSignal);
    }
  }

  const embeddedScaled = withScaling(embedded, cores);
  const clusterScaled = withScaling(cluster, cores).map((r) => {
    const e = embeddedScaled.find((x) => x.workers === r.workers);
    return { ...r, queueOverhead: e ? round(r.wallMs / e.wallMs, 3) : null };
  });
  const pinnedScaled = withScaling(pinned, cores);
  const pinnedTwo = pinnedScaled.find((r) => r.workers === 2);

  const base = proofTimes.find((r) => r.config === "test" && r.backend === "snarkjs");
  const acceptance = base
    ? {
        config: "test",
        checkMs: base.mean.checkMs,
        proofWallMs: base.mean.wallMs,
        fraction: round(base.mean.checkMs / base.mean.wallMs, 5),
        workerVerifyMs: base.mean.verifyMs,
        workerVerifyFraction: round(base.mean.verifyMs / base.mean.wallMs, 5),
      }
    : null;

  const result: ProverBench = {
    quick,
    machine,
    settings: {
      parts: PROVER_PARTS.filter((p) => parts.has(p)),
      big,
      proofTimeConfigs: configs,
      proofTimeBackends: proofBackends.map(backendLabel),
      jobsPerBackend: k,
      throughputConfig: "test",
      throughputJobs: jobsCount,
      embeddedWorkers,
      clusterWorkers,
      clusterBackend: backendLabel(clusterBackend),
      pinnedBackend: backendLabel(pinnedBackend),
      sideBySideConfigs: abConfigs,
    },
    setup,
    sideBySide: sideBySideResults,
    sideBySideErrors,
    proofTime: proofTimes,
    throughput: {
      config: "test",
      constraints: test?.constraints ?? NaN,
      opsPerBatch: test ? opsPerBatch(test.params) : NaN,
      embedded: embeddedScaled,
      cluster: clusterScaled,
      clusterError,
      pinned: pinnedScaled,
      pinnedEfficiency: pinnedTwo ? pinnedTwo.efficiency : null,
      pinnedBenchCpus,
      pinnedError,
    },
    acceptance,
    submission: null,
    wallSeconds: round((performance.now() - t0) / 1000),
    notes: [
      "Side by side (sideBySide): one batch's witness written once; each backend proves it as its own process with rapidsnark's convention on the same zkey and .wtns, rounds alternated in `order`, under /usr/bin/time: wallS (%e), cpuS = user + sys (%U + %S) and maxRssMiB (%M) of that process alone, witness generation excluded. native = native/build/Release/modex-prover on every core (stats: its MODEX_PROVER_STATS phases), snarkjs = node snarkjs/build/cli.cjs groth16 prove, rapidsnark = $MODEX_RAPIDSNARK when set. speedup = snarkjs mean wall / native mean wall; memoryRatio = snarkjs peak RSS / native peak RSS. Each proof passed snarkjs.groth16.verify.",
      "Proof time: an embedded pool of one worker; one warm-up job, then jobs one after another. wallMs is prove() to result in the caller; checkMs is the sequencer's createProofVerifier(vkey).check of the returned proof, in the caller.",
      "command backend: node snarkjs/build/cli.cjs groth16 prove (a new process per proof, witness through a file). rssMb is the pool worker's peak RSS; with the command backend that excludes the external prover process.",
      `Throughput: ${jobsCount} distinct ${"test"}-config batches submitted at once, wall from submit to the last result; ops per batch = depositSlots + l2Slots + fillSlots. Embedded and cluster runs use ${backendLabel(clusterBackend)} (named explicitly).`,
      "snarkjs spreads one proof over all cores, so on this machine a second worker can only overlap single-threaded phases (witness, zkey reads, verification) of one proof with another's multi-threaded ones: speedup, not efficiency, is the figure to read; efficiencyCores divides by min(k, cores).",
      "Cluster: a private redis-server, `prover worker --concurrency 1` processes (each with its own one-process local pool) started with explicit artifacts, jobs through createClusterProver; queueOverhead = cluster wall / embedded wall at the same worker count.",
      `Pinned (throughput.pinned): the same jobs through \`prover worker --backend native --prover-threads 1\` under \`taskset -c 0\` (1 worker), then \`taskset -c 0\` and \`taskset -c 1\` (2 workers): no core shared, so pinnedEfficiency = throughput(2) / (2 · throughput(1)) measures the pool and queue, not core sharing. ${pinnedBenchCpus ? `The bench process and its redis-server kept to cores ${pinnedBenchCpus.join(",")}.` : "With fewer than 3 cores the bench process and redis-server (mostly waiting) could not keep off the workers' cores."}`,
    ],
  };
  log({ msg: "bench.prover.done", wallSeconds: result.wallSeconds });
  return result;
}

/** The summary tables (stdout). */
export function printProverSummary(r: ProverBench): void {
  const m = r.machine;
  console.log(`\nProver pool (${m.availableParallelism} cores, ${m.cpuModel}, ${m.freeMemGiBAtStart} GiB free of ${m.totalMemGiB}, load ${m.loadAvgAtStart.join(" ")}; ${r.wallSeconds} s)`);
  for (const [name, st] of Object.entries(r.setup)) {
    if (!st.cached.circuit || !st.cached.keys) console.log(`setup ${name} (${st.params}, ${st.constraints} constraints): compile ${st.cached.circuit ? "cached" : `${st.compileS} s`}, keys ${st.cached.keys ? "cached" : `${st.keysS} s`}`);
  }
  if (r.sideBySide.length) {
    console.log("Groth16 step alone, side by side (separate processes, same zkey and witness file, alternated; /usr/bin/time)");
    console.table(
      r.sideBySide.flatMap((x) =>
        x.backends.map((b) => ({
          config: x.config,
          constraints: x.constraints,
          backend: b.backend,
          runs: b.runs.length,
          meanWallS: b.meanWallS,
          minWallS: b.minWallS,
          meanCpuS: b.meanCpuS,
          "cpu/wall": b.cpuPerWall,
          maxRssMiB: b.maxRssMiB,
          load1: x.loadAvg1.join("→"),
        })),
      ),
    );
    console.table(Object.fromEntries(r.sideBySide.map((x) => [x.config, { speedup: x.speedup, speedupMin: x.speedupMin, cpuRatio: x.cpuRatio, memoryRatio: x.memoryRatio, ...(x.vsRapidsnark ? { rapidsnarkWallRatio: x.vsRapidsnark.wallRatio, rapidsnarkMemoryRatio: x.vsRapidsnark.memoryRatio } : {}), proofsVerified: x.proofsVerified }])));
  }
  for (const [name, e] of Object.entries(r.sideBySideErrors)) console.log(`side by side ${name} failed: ${e}`);
  if (r.proofTime.length) console.log("Proof time per job (pool of 1 worker, means after a warm-up job; ms)");
  if (r.proofTime.length) console.table(
    r.proofTime.map((p) => ({
      config: p.config,
      constraints: p.constraints,
      backend: p.backendCommand.startsWith("command:") ? "command" : p.backendCommand,
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
  const runs = [...t.embedded, ...t.cluster, ...t.pinned];
  if (runs.length) console.log(`Throughput (${t.config} config, ${t.constraints} constraints, ${t.opsPerBatch} ops/batch, ${r.settings.throughputJobs} jobs at once)`);
  if (runs.length) console.table(
    runs.map((x) => ({
      mode: x.mode,
      backend: x.backend,
      cpus: x.cpus ? x.cpus.join(",") : "",
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
  if (t.pinnedError) console.log(`pinned part failed: ${t.pinnedError}`);
  if (t.pinnedEfficiency !== null) console.log(`pinned (native, 1 thread, one core per worker): efficiency throughput(2) / (2 · throughput(1)) = ${t.pinnedEfficiency}${t.pinnedBenchCpus ? ` (bench process on cores ${t.pinnedBenchCpus.join(",")})` : " (the bench process shared cores 0-1: fewer than 3 cores)"}`);
  // One worker proving keeps the load near the core count (snarkjs' threads); more workers add their own.
  const single = [...r.proofTime, ...t.embedded, ...t.cluster, ...r.sideBySide].filter((x) => !("workers" in x) || x.workers === 1);
  const busiest = Math.max(0, ...single.flatMap((x) => x.loadAvg1));
  if (busiest > 1.5 * m.availableParallelism + 1) {
    console.log(`note: with one worker proving, the 1-minute load average reached ${busiest} on ${m.availableParallelism} cores: other work shared the machine, so these timings are noisy.`);
  }
  const a = r.acceptance;
  const s = r.submission;
  if (!a) return;
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
