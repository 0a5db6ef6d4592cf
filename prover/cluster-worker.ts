/**
 * Cluster mode, the worker side: `modex prover worker --redis URL …`.
 *
 * Consumes the BullMQ queue of its own circuit (prover/redis-queue.ts: `proofs-<hash16>`, prefix
 * "modex") and hands each job to a local embedded pool (prover/pool.ts), so proofs run in child
 * processes and this event loop stays free to renew the jobs' locks. A worker that dies or stalls
 * loses its lock; another worker's stalled check puts the job back and someone else proves it.
 *
 *   modex prover worker --redis URL [--concurrency N] [--config test|default|production]
 *     [--keys-dir DIR] [--backend native|snarkjs|command] [--prover-threads N] [--prover-command "CMD ARGS"] [--lock-ms N]
 *     [--drain-timeout-s N] [--circuit-wasm F --zkey F --vkey F --circuit-hash H]
 *
 * SIGTERM/SIGINT drain: no new jobs, running jobs finish, then exit 0. After --drain-timeout-s, or on
 * a second signal, it stops at once (exit 1): the abandoned jobs' locks expire and they are retried
 * elsewhere. A worker whose proving processes no longer start stops the same way (exit 1).
 *
 * Logs are JSON lines on stderr, "prover.worker.*" for this process and "prover.local.*" for its local
 * pool. Once it consumes its queue it logs msg "prover.worker.ready" and prints that one line on stdout.
 */
import * as os from "node:os";
import { parseArgs } from "node:util";
import { RedisConnection, UnrecoverableError, Worker, type Job } from "bullmq";
import { createProverPool, ProverError, type ProverPool } from "./pool";
import { parseBackend } from "./select";
import {
  CONNECT_TIMEOUT_MS,
  connectionFor,
  encodeFailure,
  errorText,
  HEARTBEAT_INTERVAL_MS,
  HEARTBEAT_TTL_MS,
  QUEUE_PREFIX,
  queueNameFor,
  redactRedisUrl,
  stderrJsonLog,
  throttled,
  withTimeout,
  workerKey,
  type ClusterJobData,
  type ClusterProgress,
} from "./redis-queue";
import { backendLabel, type CircuitArtifacts, type ProofResult, type ProverBackend, type ProverWorkerStatus } from "./types";
import { defaultBackend } from "./backend";

export type LogFn = (o: object) => void;

export interface ProverWorkerOptions {
  readonly redisUrl: string;
  readonly artifacts: CircuitArtifacts;
  /** Jobs proven at once (= local worker processes); default 1. */
  readonly concurrency?: number;
  readonly backend?: ProverBackend;
  /** BullMQ lock duration: a worker silent this long loses its job (default 30 s). */
  readonly lockMs?: number;
  readonly log?: LogFn;
  /** How long the local pool may take to start its processes (default 120 s). */
  readonly startTimeoutMs?: number;
}

export interface ProverWorkerHandle {
  /** "host/pid". */
  readonly id: string;
  readonly queueName: string;
  status(): ProverWorkerStatus;
  /**
   * Stops taking jobs and lets running ones finish, at most `timeoutMs` (default: no limit); `force`
   * (or the timeout) abandons them instead. Resolves to how it ended. Idempotent; a forced call may
   * follow a draining one.
   */
  stop(opts?: { readonly timeoutMs?: number; readonly force?: boolean }): Promise<"drained" | "forced">;
  /** Resolves when this worker cannot go on (its proving processes no longer start); the owner should stop it. */
  readonly fatal: Promise<Error>;
}

/** Proof errors the job itself causes: another worker would fail the same way. */
const DETERMINISTIC = new Set<string>(["witness", "public_input", "verify", "artifacts"]);

/** Starts a cluster worker in this process; resolves once it consumes its queue. */
export async function startProverWorker(opts: ProverWorkerOptions): Promise<ProverWorkerHandle> {
  const log = opts.log ?? stderrJsonLog;
  const concurrency = opts.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  const lockMs = opts.lockMs ?? 30_000;
  if (!Number.isInteger(lockMs) || lockMs < 1000) throw new RangeError(`lockMs must be an integer ≥ 1000, got ${lockMs}`);
  const backend = opts.backend ?? defaultBackend(log);
  const { artifacts } = opts;
  const host = os.hostname();
  const id = `${host}/${process.pid}`;
  const queueName = queueNameFor(artifacts.circuitHash);
  const startedAt = Date.now();

  let state: ProverWorkerStatus["state"] = "starting";
  const running = new Map<string, number>();
  let jobsDone = 0;
  let jobsFailed = 0;

  const status = (): ProverWorkerStatus => ({
    id,
    host,
    pid: process.pid,
    state,
    circuitHash: artifacts.circuitHash,
    backend: backendLabel(backend),
    concurrency,
    batches: [...running.values()].sort((a, b) => a - b),
    jobsDone,
    jobsFailed,
    startedAt,
  });

  // Heartbeats on their own connection: they must outlive the BullMQ worker's during a drain.
  const redisError = throttled(log);
  const hbConn = new RedisConnection(connectionFor(opts.redisUrl), { shared: false });
  hbConn.on("error", (e: unknown) => redisError({ msg: "prover.worker.redis_error", level: "warn", worker: id, error: errorText(e) }));
  let hbClient: Awaited<RedisConnection["client"]>;
  try {
    hbClient = await withTimeout(hbConn.client, CONNECT_TIMEOUT_MS, `cannot reach Redis at ${redactRedisUrl(opts.redisUrl)} within ${CONNECT_TIMEOUT_MS / 1000} s`);
  } catch (e) {
    await hbConn.close(true).catch(() => undefined);
    throw e;
  }
  let hbTimer: NodeJS.Timeout | null = null;
  let hbStopped = false;
  const beat = (): void => {
    if (hbStopped) return;
    hbClient.set(workerKey(id), JSON.stringify(status()), { PX: HEARTBEAT_TTL_MS }).catch((e: unknown) => log({ msg: "prover.worker.heartbeat_failed", level: "warn", worker: id, error: errorText(e) }));
  };
  const setState = (s: ProverWorkerStatus["state"]): void => {
    state = s;
    beat();
  };
  beat();
  hbTimer = setInterval(beat, HEARTBEAT_INTERVAL_MS);

  // The local pool: one process per concurrent job. One attempt each: a process that dies fails the
  // BullMQ attempt, and BullMQ decides the retry (possibly on another machine).
  let poolStartFailure: string | null = null;
  const poolLog: LogFn = (o) => {
    const m = o as { msg?: string; error?: string };
    if (m.msg === "prover.worker.start_failed") poolStartFailure = m.error ?? "a prover process failed to start";
    // Renamed (prover.worker.ready → prover.local.worker.ready, …): "prover.worker.*" is this process's own.
    log({ ...o, ...(typeof m.msg === "string" ? { msg: m.msg.replace(/^prover\./, "prover.local.") } : {}), clusterWorker: id });
  };
  const poolOptions = { artifacts, size: concurrency, log: poolLog, maxAttempts: 1, backend };
  let pool: ProverPool;
  try {
    pool = createProverPool(poolOptions);
  } catch (e) {
    await shutdownHeartbeat();
    throw e;
  }

  async function shutdownHeartbeat(): Promise<void> {
    hbStopped = true;
    if (hbTimer) clearInterval(hbTimer);
    hbTimer = null;
    await hbClient.del(workerKey(id)).catch(() => 0);
    await hbConn.close().catch(() => undefined);
  }

  // Do not take jobs before the provers can: wait for the local processes to be ready.
  try {
    const t0 = Date.now();
    const limit = opts.startTimeoutMs ?? 120_000;
    for (;;) {
      if (poolStartFailure) throw new Error(`prover processes cannot start: ${poolStartFailure}`);
      if (pool.workers().filter((w) => w.state === "idle").length >= concurrency) break;
      if (Date.now() - t0 > limit) throw new Error(`prover processes not ready within ${limit} ms`);
      await new Promise((r) => setTimeout(r, 25));
    }
  } catch (e) {
    await pool.close();
    await shutdownHeartbeat();
    throw e;
  }

  let forced = false;
  let reportFatal: (e: Error) => void = () => undefined;
  const fatal = new Promise<Error>((r) => (reportFatal = r));

  const processor = async (job: Job<ClusterJobData, ProofResult>): Promise<ProofResult> => {
    const data = job.data as Partial<ClusterJobData> | undefined;
    if (!data || typeof data.batchNumber !== "number" || typeof data.publicInput !== "string" || typeof data.circuitInput !== "object" || data.circuitInput === null || typeof data.circuitHash !== "string") {
      throw new UnrecoverableError(encodeFailure("invalid_job", `job ${job.id} is not a proof job`));
    }
    if (data.circuitHash !== artifacts.circuitHash) {
      log({ msg: "prover.worker.refused", level: "error", worker: id, job: job.id, batch: data.batchNumber, jobCircuit: data.circuitHash, circuit: artifacts.circuitHash });
      throw new UnrecoverableError(encodeFailure("circuit", `circuit hash mismatch: job ${data.circuitHash}, worker ${artifacts.circuitHash}`));
    }
    const batch = data.batchNumber;
    // attemptsStarted counts every lease, stalled ones included (attemptsMade only counts failures).
    const attempt = job.attemptsStarted > 0 ? job.attemptsStarted : job.attemptsMade + 1;
    running.set(String(job.id), batch);
    setState("busy");
    const t0 = performance.now();
    try {
      const progress: ClusterProgress = { worker: id, attempt, stage: "leased" };
      await job.updateProgress({ ...progress });
      log({ msg: "prover.worker.job_start", worker: id, job: job.id, batch, attempt });
      let r: ProofResult;
      try {
        r = await pool.prove({ batchNumber: batch, circuitInput: data.circuitInput, publicInput: data.publicInput });
      } catch (e) {
        const code = e instanceof ProverError ? e.code : "internal";
        if (forced) {
          // Stopped under it: the failure cannot reach Redis any more; the lease expires and the job is retried elsewhere.
          log({ msg: "prover.worker.job_abandoned", level: "warn", worker: id, job: job.id, batch, attempt });
          throw new Error(encodeFailure("worker_died", `worker ${id} stopped while proving`));
        }
        jobsFailed++;
        log({ msg: "prover.worker.job_failed", level: "error", worker: id, job: job.id, batch, attempt, code, error: errorText(e) });
        if (DETERMINISTIC.has(code)) throw new UnrecoverableError(encodeFailure(code, errorText(e)));
        // This machine cannot prove any more: stop taking jobs rather than burn their attempts.
        if (code === "workers_cannot_start") reportFatal(new Error(`prover processes cannot start: ${errorText(e)}`));
        throw new Error(encodeFailure(code, `worker ${id}: ${errorText(e)}`));
      }
      jobsDone++;
      log({ msg: "prover.worker.job_done", worker: id, job: job.id, batch, attempt, wallMs: Math.round(performance.now() - t0), ...r.timings });
      return { batchNumber: r.batchNumber, proof: r.proof, publicSignals: r.publicSignals, timings: r.timings, worker: id };
    } finally {
      running.delete(String(job.id));
      if (state === "busy" && running.size === 0) setState("idle");
      else beat();
    }
  };

  const worker = new Worker<ClusterJobData, ProofResult>(queueName, processor, {
    connection: connectionFor(opts.redisUrl, { blocking: true }),
    prefix: QUEUE_PREFIX,
    name: id,
    concurrency,
    lockDuration: lockMs,
    stalledInterval: lockMs,
    // One stall is forgiven (a lost connection, a killed machine); a job that stalls twice fails.
    maxStalledCount: 1,
    autorun: false,
  });
  worker.on("error", (e) => redisError({ msg: "prover.worker.redis_error", level: "warn", worker: id, error: errorText(e) }));
  worker.on("stalled", (jobId) => log({ msg: "prover.worker.job_stalled", level: "warn", worker: id, job: jobId }));
  try {
    await withTimeout(worker.waitUntilReady(), CONNECT_TIMEOUT_MS, `cannot reach Redis at ${redactRedisUrl(opts.redisUrl)} within ${CONNECT_TIMEOUT_MS / 1000} s`);
  } catch (e) {
    await worker.close(true).catch(() => undefined);
    await pool.close();
    await shutdownHeartbeat();
    throw e;
  }
  const runDone = worker.run().catch((e: unknown) => log({ msg: "prover.worker.run_failed", level: "error", worker: id, error: errorText(e) }));
  setState("idle");

  let forcing: Promise<void> | null = null;
  let finished: Promise<"drained" | "forced"> | null = null;
  let signalForce: () => void = () => undefined;
  const forceSignal = new Promise<void>((r) => (signalForce = r));

  // Stops renewing locks and drops the connections without waiting for running jobs: their leases
  // expire and another worker's stalled check hands them out again (without spending an attempt).
  const forceClose = (): Promise<void> => {
    forcing ??= (async () => {
      forced = true;
      signalForce();
      setState("stopping");
      log({ msg: "prover.worker.force_stop", level: "warn", worker: id, abandoned: [...running.values()] });
      await worker.close(true).catch(() => undefined);
    })();
    return forcing;
  };

  const stop = (o: { readonly timeoutMs?: number; readonly force?: boolean } = {}): Promise<"drained" | "forced"> => {
    if (o.force) void forceClose();
    finished ??= (async () => {
      if (!forced) {
        setState("draining");
        log({ msg: "prover.worker.draining", worker: id, running: [...running.values()] });
      }
      // pause() stops fetching and resolves once the running jobs are finished (locks keep being renewed meanwhile).
      const paused = worker.pause().then(
        () => "drained" as const,
        (e: unknown) => {
          log({ msg: "prover.worker.pause_failed", level: "warn", worker: id, error: errorText(e) });
          return "drained" as const;
        },
      );
      let timer: NodeJS.Timeout | undefined;
      const waits: Promise<"drained" | "forced">[] = [paused, forceSignal.then(() => "forced" as const)];
      if (o.timeoutMs !== undefined) waits.push(new Promise<"forced">((r) => (timer = setTimeout(() => r("forced"), o.timeoutMs))));
      const how = forced ? "forced" : await Promise.race(waits);
      clearTimeout(timer);
      if (how === "forced" || forced) await forceClose();
      else {
        setState("stopping");
        await worker.close().catch((e: unknown) => log({ msg: "prover.worker.close_failed", level: "warn", worker: id, error: errorText(e) }));
      }
      // Forced: this rejects the abandoned proofs; their failures can no longer reach Redis.
      await pool.close();
      await Promise.race([runDone, new Promise((r) => setTimeout(r, 5_000).unref())]);
      await shutdownHeartbeat();
      const result = forced ? "forced" : "drained";
      log({ msg: "prover.worker.stopped", worker: id, how: result, jobsDone, jobsFailed });
      return result;
    })();
    return finished;
  };

  log({ msg: "prover.worker.ready", worker: id, queue: queueName, redis: redactRedisUrl(opts.redisUrl), circuitHash: artifacts.circuitHash, concurrency, lockMs, backend: backendLabel(backend) });
  return { id, queueName, status, stop, fatal };
}

// ------------------------------------------------------------------------------------------ CLI

const USAGE = `usage: modex prover worker --redis URL [options]

Proves batches from the cluster queue in Redis, in --concurrency local worker processes.
SIGTERM/SIGINT drains: no new job, running ones finish, then exit 0 (a second signal stops at once).

  --redis URL             redis://[user:password@]host:port[/db] (default $MODEX_REDIS_URL)
  --concurrency N         jobs proven at once on this machine (default 1: one proof already uses every core)
  --config NAME           test, default or production: the circuit, from build/ and .modex/keys/
                          (default $MODEX_CONFIG or default; npm run setup -- --config NAME makes them)
  --keys-dir DIR          where the keys are (default .modex/keys)
  --circuit-wasm F --zkey F --vkey F --circuit-hash H
                          the artifacts as files instead of --config
  --backend native|snarkjs|command  the Groth16 step (default native when built, else snarkjs)
  --prover-threads N          with native: threads per proof (default 0 = every core)
  --prover-command "CMD ARGS" with --backend command: called as CMD ARGS <zkey> <witness.wtns> <proof.json> <public.json>
  --lock-ms N             lease: a worker silent this long loses its job to another (default 30000)
  --drain-timeout-s N     on SIGTERM, wait at most this long for running jobs, then abandon them (default: no limit)
`;

class UsageError extends Error {}

interface WorkerCli {
  readonly redisUrl: string;
  readonly concurrency: number;
  readonly config: string;
  readonly keysDir?: string;
  readonly backend: ProverBackend;
  readonly lockMs: number;
  readonly drainTimeoutMs?: number;
  readonly explicit?: CircuitArtifacts;
}

function parseWorkerCli(argv: readonly string[]): WorkerCli | "help" {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        redis: { type: "string" },
        concurrency: { type: "string" },
        config: { type: "string" },
        "keys-dir": { type: "string" },
        backend: { type: "string" },
        "prover-command": { type: "string" },
        "prover-threads": { type: "string" },
        "lock-ms": { type: "string" },
        "drain-timeout-s": { type: "string" },
        "circuit-wasm": { type: "string" },
        zkey: { type: "string" },
        vkey: { type: "string" },
        "circuit-hash": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    throw new UsageError(errorText(e));
  }
  if (values.help) return "help";
  const str = (k: string): string | undefined => values[k] as string | undefined;
  const int = (k: string, min: number): number | undefined => {
    const s = str(k);
    if (s === undefined) return undefined;
    if (!/^\d+$/.test(s) || Number(s) < min) throw new UsageError(`--${k} must be an integer ≥ ${min}`);
    return Number(s);
  };
  const redisUrl = str("redis") ?? process.env.MODEX_REDIS_URL;
  if (!redisUrl) throw new UsageError("--redis URL is required (or set MODEX_REDIS_URL)");
  if (!/^rediss?:\/\//.test(redisUrl)) throw new UsageError(`--redis must be a redis:// or rediss:// URL, got ${JSON.stringify(redactRedisUrl(redisUrl))}`);

  let backend: ProverBackend;
  try {
    backend = parseBackend(str("backend"), str("prover-command"), str("prover-threads"));
  } catch (e) {
    throw new UsageError(errorText(e));
  }

  const files = { wasm: str("circuit-wasm"), zkey: str("zkey"), vkey: str("vkey"), hash: str("circuit-hash") };
  const given = Object.values(files).filter((v) => v !== undefined).length;
  let explicit: CircuitArtifacts | undefined;
  if (given > 0) {
    if (given < 4) throw new UsageError("explicit artifacts need all of --circuit-wasm, --zkey, --vkey and --circuit-hash");
    if (str("config") !== undefined) throw new UsageError("--config and explicit artifacts (--circuit-wasm …) exclude each other");
    if (!/^[0-9a-f]{16,}$/.test(files.hash as string)) throw new UsageError("--circuit-hash must be lowercase hex (the circuit's sha256)");
    explicit = { circuitHash: files.hash as string, wasmPath: files.wasm as string, zkeyPath: files.zkey as string, vkeyPath: files.vkey as string };
  }
  const drainS = int("drain-timeout-s", 0);
  const config = str("config") ?? process.env.MODEX_CONFIG ?? "default";
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const names = Object.keys((require("../core/params") as typeof import("../core/params")).CONFIGS);
  if (!explicit && !names.includes(config)) throw new UsageError(`--config must be one of ${names.join(", ")}, got ${JSON.stringify(config)}`);
  return {
    redisUrl,
    concurrency: int("concurrency", 1) ?? 1,
    config,
    keysDir: str("keys-dir"),
    backend,
    lockMs: int("lock-ms", 1000) ?? 30_000,
    drainTimeoutMs: drainS === undefined ? undefined : drainS * 1000,
    explicit,
  };
}

/** The batch circuit of a named config, compiled, with its proving keys (like sequencer/main.ts). */
async function configArtifacts(config: string, keysDir: string | undefined, log: LogFn): Promise<CircuitArtifacts> {
  // Loaded only here (require, not import(): tsx's CommonJS hook resolves .ts only through require).
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { configByName } = require("../core/params") as typeof import("../core/params");
  const { batchCircuitName, batchCircuitSource } = require("../circuits/batch") as typeof import("../circuits/batch");
  const { compileCircuit } = require("../circuits/compile") as typeof import("../circuits/compile");
  const { loadKeys } = require("./keys") as typeof import("./keys");
  /* eslint-enable @typescript-eslint/no-require-imports */
  const p = configByName(config);
  const circuit = await compileCircuit({ name: batchCircuitName(p), mainSource: batchCircuitSource(p), log });
  const keys = await loadKeys(circuit, { keysRoot: keysDir });
  if (!keys) throw new Error(`no proving keys for ${circuit.name} (${circuit.circuitHash})${keysDir ? ` in ${keysDir}` : ""}; run: npm run setup -- --config ${config}`);
  return { circuitHash: circuit.circuitHash, wasmPath: circuit.wasmPath, zkeyPath: keys.zkeyPath, vkeyPath: keys.vkeyPath };
}

/** Runs `modex prover worker ARGS` until SIGTERM/SIGINT; resolves to the exit status. */
export async function runProverWorker(argv: readonly string[]): Promise<number> {
  let cli: WorkerCli | "help";
  try {
    cli = parseWorkerCli(argv);
  } catch (e) {
    process.stderr.write(`modex prover worker: ${errorText(e)}\n${USAGE}`);
    return 2;
  }
  if (cli === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  const log: LogFn = stderrJsonLog;
  let handle: ProverWorkerHandle;
  try {
    const artifacts = cli.explicit ?? (await configArtifacts(cli.config, cli.keysDir, log));
    handle = await startProverWorker({ redisUrl: cli.redisUrl, artifacts, concurrency: cli.concurrency, backend: cli.backend, lockMs: cli.lockMs, log });
    process.stdout.write(
      JSON.stringify({ msg: "prover.worker.ready", worker: handle.id, pid: process.pid, queue: handle.queueName, circuitHash: artifacts.circuitHash, concurrency: cli.concurrency, redis: redactRedisUrl(cli.redisUrl) }) + "\n",
    );
  } catch (e) {
    log({ msg: "prover.worker.failed", level: "error", error: errorText(e) });
    return 1;
  }

  const h = handle;
  const drainTimeoutMs = cli.drainTimeoutMs;
  return new Promise<number>((resolve) => {
    let signals = 0;
    const finish = (done: Promise<"drained" | "forced">, code: (how: "drained" | "forced") => number): void => {
      void done.then(
        (how) => {
          process.removeListener("SIGTERM", onSignal);
          process.removeListener("SIGINT", onSignal);
          resolve(code(how));
        },
        (e: unknown) => {
          log({ msg: "prover.worker.stop_failed", level: "error", worker: h.id, error: errorText(e) });
          resolve(1);
        },
      );
    };
    const onSignal = (signal: NodeJS.Signals): void => {
      signals++;
      log({ msg: "prover.worker.signal", worker: h.id, signal, drain: signals === 1 });
      const done = h.stop(signals === 1 ? { timeoutMs: drainTimeoutMs } : { force: true });
      if (signals === 1) finish(done, (how) => (how === "drained" ? 0 : 1));
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
    void h.fatal.then((e) => {
      if (signals > 0) return;
      signals++;
      log({ msg: "prover.worker.fatal", level: "error", worker: h.id, error: e.message });
      finish(h.stop({ timeoutMs: drainTimeoutMs }), () => 1);
    });
  });
}

if (require.main === module) {
  runProverWorker(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`modex prover worker: internal error: ${(e instanceof Error && e.stack) || String(e)}\n`);
      process.exit(1);
    },
  );
}
