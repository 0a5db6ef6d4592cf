/**
 * Cluster mode, the worker side: `modex prover worker --redis URL …`.
 *
 * Consumes the BullMQ queue of each of its circuits (prover/redis-queue.ts: `proofs-<hash16>`, prefix
 * "modex"; `--config NAME` serves every batch shape of the config, one circuit each) and hands each job
 * to a local embedded pool (prover/pool.ts) that knows every circuit, so proofs run in child
 * processes and this event loop stays free to renew the jobs' locks. `--concurrency` bounds the jobs
 * it proves at once over all its queues together (see startProverWorker). A worker that dies or stalls
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
 * pool. Once it consumes its queues it logs msg "prover.worker.ready" and prints that one line on stdout.
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
import { backendLabel, circuitLabel, circuitList, type CircuitArtifacts, type ProofResult, type ProverBackend, type ProverWorkerStatus } from "./types";
import { defaultBackend } from "./backend";
import { isDecimalList } from "./verify";

export type LogFn = (o: object) => void;

export interface ProverWorkerOptions {
  readonly redisUrl: string;
  /** The circuit it serves, or every circuit (one per batch shape): it consumes each one's queue. */
  readonly artifacts: CircuitArtifacts | readonly CircuitArtifacts[];
  /** Jobs proven at once (= local worker processes), over all its queues together; default 1. */
  readonly concurrency?: number;
  readonly backend?: ProverBackend;
  /** BullMQ lock duration: a worker silent this long loses its job (default 30 s). */
  readonly lockMs?: number;
  readonly log?: LogFn;
  /** How long the local pool may take to start its processes (default 120 s). */
  readonly startTimeoutMs?: number;
  /** How often an idle worker asks its queues for a job (default 200 ms). */
  readonly pollMs?: number;
}

export interface ProverWorkerHandle {
  /** "host/pid". */
  readonly id: string;
  /** The first circuit's queue. */
  readonly queueName: string;
  /** Every queue it consumes, one per circuit, in the order of its artifacts. */
  readonly queueNames: readonly string[];
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
const DETERMINISTIC = new Set<string>(["witness", "public_input", "verify", "artifacts", "circuit"]);

/** One circuit's queue, consumed through a BullMQ Worker that only fetches (no run loop of its own). */
interface Lane {
  readonly circuit: CircuitArtifacts;
  readonly queueName: string;
  readonly worker: Worker<ClusterJobData, ProofResult>;
}

/** A job this worker holds: its lock is renewed until it is reported (or abandoned). */
interface Held {
  readonly lane: Lane;
  readonly job: Job<ClusterJobData, ProofResult>;
  readonly token: string;
  readonly done: Promise<void>;
}

/**
 * Starts a cluster worker in this process; resolves once it consumes its queues.
 *
 * Several circuits, one concurrency limit: a single loop fetches jobs (BullMQ's manual fetching,
 * `getNextJob`) from the circuits' queues in turn, only while fewer than `concurrency` jobs run, and
 * renews their locks itself. So the limit holds over all queues at once, with no job taken that it
 * cannot start (one BullMQ run loop per queue would either prove up to concurrency × queues jobs at
 * once, or need the limit split so that a queue with work could not use another's idle share). An
 * idle worker asks every `pollMs` (200 ms): nothing next to a proof's seconds.
 */
export async function startProverWorker(opts: ProverWorkerOptions): Promise<ProverWorkerHandle> {
  const log = opts.log ?? stderrJsonLog;
  const concurrency = opts.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  const lockMs = opts.lockMs ?? 30_000;
  if (!Number.isInteger(lockMs) || lockMs < 1000) throw new RangeError(`lockMs must be an integer ≥ 1000, got ${lockMs}`);
  const pollMs = opts.pollMs ?? 200;
  if (!Number.isFinite(pollMs) || pollMs <= 0) throw new RangeError(`pollMs must be positive, got ${pollMs}`);
  const backend = opts.backend ?? defaultBackend(log);
  const circuits = circuitList(opts.artifacts);
  const several = circuits.length > 1;
  const first = circuits[0];
  const host = os.hostname();
  const id = `${host}/${process.pid}`;
  const queueNames = circuits.map((c) => queueNameFor(c.circuitHash));
  const queueName = queueNames[0];
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
    circuitHash: first.circuitHash,
    ...(several ? { circuits: circuits.map((c) => c.circuitHash) } : {}),
    backend: backendLabel(backend),
    concurrency,
    batches: [...running.values()].sort((a, b) => a - b),
    jobsDone,
    jobsFailed,
    startedAt,
  });

  // Heartbeats on their own connection: they must outlive the BullMQ workers' during a drain.
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

  // The local pool: one process per concurrent job, each knowing every circuit (loaded on its first
  // job). One attempt each: a process that dies fails the BullMQ attempt, and BullMQ decides the
  // retry (possibly on another machine).
  let poolStartFailure: string | null = null;
  const poolLog: LogFn = (o) => {
    const m = o as { msg?: string; error?: string };
    if (m.msg === "prover.worker.start_failed") poolStartFailure = m.error ?? "a prover process failed to start";
    // Renamed (prover.worker.ready → prover.local.worker.ready, …): "prover.worker.*" is this process's own.
    log({ ...o, ...(typeof m.msg === "string" ? { msg: m.msg.replace(/^prover\./, "prover.local.") } : {}), clusterWorker: id });
  };
  const poolOptions = { artifacts: circuits, size: concurrency, log: poolLog, maxAttempts: 1, backend };
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

  const processor = async (lane: Lane, job: Job<ClusterJobData, ProofResult>): Promise<ProofResult> => {
    const data = job.data as Partial<ClusterJobData> | undefined;
    if (!data || typeof data.batchNumber !== "number" || !isDecimalList(data.publicSignals) || data.publicSignals.length === 0 || typeof data.circuitInput !== "object" || data.circuitInput === null || typeof data.circuitHash !== "string") {
      throw new UnrecoverableError(encodeFailure("invalid_job", `job ${job.id} is not a proof job`));
    }
    const circuit = lane.circuit;
    if (data.circuitHash !== circuit.circuitHash) {
      log({ msg: "prover.worker.refused", level: "error", worker: id, job: job.id, queue: lane.queueName, batch: data.batchNumber, jobCircuit: data.circuitHash, circuit: circuit.circuitHash });
      const serves = several ? ` (queue ${lane.queueName}; this worker serves ${circuits.map((c) => c.circuitHash).join(", ")})` : "";
      throw new UnrecoverableError(encodeFailure("circuit", `circuit hash mismatch: job ${data.circuitHash}, worker ${circuit.circuitHash}${serves}`));
    }
    const batch = data.batchNumber;
    const shown = { circuit: circuitLabel(circuit), ...(circuit.name ? { circuitName: circuit.name } : {}) };
    // attemptsStarted counts every lease, stalled ones included (attemptsMade only counts failures).
    const attempt = job.attemptsStarted > 0 ? job.attemptsStarted : job.attemptsMade + 1;
    running.set(`${lane.queueName}/${String(job.id)}`, batch);
    setState("busy");
    const t0 = performance.now();
    try {
      const progress: ClusterProgress = { worker: id, attempt, stage: "leased" };
      await job.updateProgress({ ...progress });
      log({ msg: "prover.worker.job_start", worker: id, job: job.id, batch, attempt, ...shown });
      let r: ProofResult;
      try {
        r = await pool.prove({ batchNumber: batch, circuitInput: data.circuitInput, publicSignals: data.publicSignals, circuitHash: circuit.circuitHash });
      } catch (e) {
        const code = e instanceof ProverError ? e.code : "internal";
        if (forced) {
          // Stopped under it: the failure cannot reach Redis any more; the lease expires and the job is retried elsewhere.
          log({ msg: "prover.worker.job_abandoned", level: "warn", worker: id, job: job.id, batch, attempt, ...shown });
          throw new Error(encodeFailure("worker_died", `worker ${id} stopped while proving`));
        }
        jobsFailed++;
        log({ msg: "prover.worker.job_failed", level: "error", worker: id, job: job.id, batch, attempt, ...shown, code, error: errorText(e) });
        if (DETERMINISTIC.has(code)) throw new UnrecoverableError(encodeFailure(code, errorText(e)));
        // This machine cannot prove any more: stop taking jobs rather than burn their attempts.
        if (code === "workers_cannot_start") reportFatal(new Error(`prover processes cannot start: ${errorText(e)}`));
        throw new Error(encodeFailure(code, `worker ${id}: ${errorText(e)}`));
      }
      jobsDone++;
      log({ msg: "prover.worker.job_done", worker: id, job: job.id, batch, attempt, ...shown, wallMs: Math.round(performance.now() - t0), ...r.timings });
      return { batchNumber: r.batchNumber, proof: r.proof, publicSignals: r.publicSignals, timings: r.timings, worker: id };
    } finally {
      running.delete(`${lane.queueName}/${String(job.id)}`);
      if (state === "busy" && running.size === 0) setState("idle");
      else beat();
    }
  };

  // One fetching BullMQ Worker per queue: its stalled-job check, no run loop (the loop below fetches).
  const lanes: Lane[] = circuits.map((circuit, i) => {
    const worker = new Worker<ClusterJobData, ProofResult>(queueNames[i], null, {
      connection: connectionFor(opts.redisUrl, { blocking: true }),
      prefix: QUEUE_PREFIX,
      name: id,
      lockDuration: lockMs,
      stalledInterval: lockMs,
      // One stall is forgiven (a lost connection, a killed machine); a job that stalls twice fails.
      maxStalledCount: 1,
      autorun: false,
    });
    worker.on("error", (e) => redisError({ msg: "prover.worker.redis_error", level: "warn", worker: id, queue: queueNames[i], error: errorText(e) }));
    worker.on("stalled", (jobId) => log({ msg: "prover.worker.job_stalled", level: "warn", worker: id, job: jobId, queue: queueNames[i] }));
    return { circuit, queueName: queueNames[i], worker };
  });
  const closeLanes = (force: boolean): Promise<unknown> =>
    Promise.all(lanes.map((l) => l.worker.close(force).catch((e: unknown) => log({ msg: "prover.worker.close_failed", level: "warn", worker: id, queue: l.queueName, error: errorText(e) }))));
  try {
    await withTimeout(Promise.all(lanes.map((l) => l.worker.waitUntilReady())), CONNECT_TIMEOUT_MS, `cannot reach Redis at ${redactRedisUrl(opts.redisUrl)} within ${CONNECT_TIMEOUT_MS / 1000} s`);
    for (const l of lanes) await l.worker.startStalledCheckTimer();
  } catch (e) {
    await closeLanes(true);
    await pool.close();
    await shutdownHeartbeat();
    throw e;
  }

  // The jobs it holds, and their locks, renewed at a third of the lock duration (BullMQ's own loop: half).
  const held = new Map<string, Held>();
  const renew = setInterval(() => {
    if (forced) return;
    for (const h of held.values()) {
      h.job.extendLock(h.token, lockMs).then(
        (ok) => {
          if (!ok) log({ msg: "prover.worker.lock_lost", level: "warn", worker: id, job: h.job.id, queue: h.lane.queueName });
        },
        (e: unknown) => redisError({ msg: "prover.worker.redis_error", level: "warn", worker: id, job: h.job.id, error: errorText(e) }),
      );
    }
  }, Math.max(250, Math.floor(lockMs / 3)));

  /** Proves a fetched job, then reports its outcome to BullMQ (which retries or fails it). */
  const take = (lane: Lane, job: Job<ClusterJobData, ProofResult>, token: string): void => {
    const key = `${lane.queueName}/${String(job.id)}`;
    const done = (async () => {
      let outcome: { readonly ok: true; readonly value: ProofResult } | { readonly ok: false; readonly error: Error };
      try {
        outcome = { ok: true, value: await processor(lane, job) };
      } catch (e) {
        outcome = { ok: false, error: e instanceof Error ? e : new Error(String(e)) };
      }
      // Forced: the lease is abandoned and expires; nothing reaches Redis.
      if (forced) return;
      try {
        if (outcome.ok) await job.moveToCompleted(outcome.value, token, false);
        else await job.moveToFailed(outcome.error, token, false);
      } catch (e) {
        // The lock was lost meanwhile (the job was handed to another worker) or Redis is away: the stalled check decides.
        log({ msg: "prover.worker.report_failed", level: "warn", worker: id, job: job.id, queue: lane.queueName, error: errorText(e) });
      }
    })().finally(() => {
      held.delete(key);
      wake();
    });
    held.set(key, { lane, job, token, done });
  };

  let fetching = true;
  let wakeUp: (() => void) | null = null;
  const wake = (): void => {
    const f = wakeUp;
    wakeUp = null;
    f?.();
  };
  const pause = (ms: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        wakeUp = null;
        resolve();
      }, ms);
      wakeUp = () => {
        clearTimeout(t);
        resolve();
      };
    });
  let tokens = 0;
  let next = 0;
  const loop = async (): Promise<void> => {
    while (fetching) {
      if (held.size >= concurrency) {
        await pause(pollMs * 10);
        continue;
      }
      let got = false;
      // Round robin over the queues, so that no circuit's jobs wait behind another's.
      for (let i = 0; i < lanes.length && fetching && !got; i++) {
        const lane = lanes[(next + i) % lanes.length];
        const token = `${id}:${tokens++}`;
        let job: Job<ClusterJobData, ProofResult> | undefined;
        try {
          job = await lane.worker.getNextJob(token, { block: false });
        } catch (e) {
          redisError({ msg: "prover.worker.redis_error", level: "warn", worker: id, queue: lane.queueName, error: errorText(e) });
          continue;
        }
        if (job) {
          next = (next + i + 1) % lanes.length;
          got = true;
          take(lane, job, token);
        }
      }
      if (!got && fetching) await pause(pollMs);
    }
  };
  const loopDone = loop().catch((e: unknown) => log({ msg: "prover.worker.run_failed", level: "error", worker: id, error: errorText(e) }));
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
      fetching = false;
      wake();
      clearInterval(renew);
      signalForce();
      setState("stopping");
      log({ msg: "prover.worker.force_stop", level: "warn", worker: id, abandoned: [...running.values()] });
      await closeLanes(true);
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
      // No new job; the running ones finish (their locks keep being renewed) and are reported.
      fetching = false;
      wake();
      const drained = (async () => {
        await loopDone;
        while (held.size > 0) await Promise.all([...held.values()].map((h) => h.done));
        return "drained" as const;
      })();
      let timer: NodeJS.Timeout | undefined;
      const waits: Promise<"drained" | "forced">[] = [drained, forceSignal.then(() => "forced" as const)];
      if (o.timeoutMs !== undefined) waits.push(new Promise<"forced">((r) => (timer = setTimeout(() => r("forced"), o.timeoutMs))));
      const how = forced ? "forced" : await Promise.race(waits);
      clearTimeout(timer);
      if (how === "forced" || forced) await forceClose();
      else {
        setState("stopping");
        clearInterval(renew);
        await closeLanes(false);
      }
      // Forced: this rejects the abandoned proofs; their failures can no longer reach Redis.
      await pool.close();
      await Promise.race([Promise.all([loopDone, ...[...held.values()].map((h) => h.done)]), new Promise((r) => setTimeout(r, 5_000).unref())]);
      await shutdownHeartbeat();
      const result = forced ? "forced" : "drained";
      log({ msg: "prover.worker.stopped", worker: id, how: result, jobsDone, jobsFailed });
      return result;
    })();
    return finished;
  };

  log({
    msg: "prover.worker.ready",
    worker: id,
    queue: queueName,
    ...(several ? { queues: queueNames, circuits: circuits.map((c) => c.circuitHash) } : {}),
    redis: redactRedisUrl(opts.redisUrl),
    circuitHash: first.circuitHash,
    concurrency,
    lockMs,
    backend: backendLabel(backend),
  });
  return { id, queueName, queueNames, status, stop, fatal };
}

// ------------------------------------------------------------------------------------------ CLI

const USAGE = `usage: modex prover worker --redis URL [options]

Proves batches from the cluster queue in Redis, in --concurrency local worker processes.
SIGTERM/SIGINT drains: no new job, running ones finish, then exit 0 (a second signal stops at once).

  --redis URL             redis://[user:password@]host:port[/db] (default $MODEX_REDIS_URL)
  --concurrency N         jobs proven at once on this machine, over all its queues (default 1: one proof
                          already uses every core)
  --config NAME           test, default or production: the batch circuit of each of its shapes, from
                          build/ and .modex/keys/, one queue each (default $MODEX_CONFIG or default;
                          npm run setup -- --config NAME makes them)
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

/**
 * The batch circuits of a named config, one per batch shape (`shapesOf`: the config's own slot counts
 * first), each compiled (cached under build/circuits) and with its proving keys.
 */
async function configArtifacts(config: string, keysDir: string | undefined, log: LogFn): Promise<CircuitArtifacts[]> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { configByName } = require("../core/params") as typeof import("../core/params");
  return paramsArtifacts(configByName(config), { keysDir, log, setupHint: `npm run setup -- --config ${config}` });
}

/**
 * The batch circuit of every shape of `p` (withShape + batchCircuitSource + compileCircuit, then its
 * keys), in `shapesOf(p)` order. Keys must exist (npm run setup), unless `ensure` makes development
 * keys for a circuit that has none (tests, devnets: insecure).
 */
export async function paramsArtifacts(p: import("../core/params").Params, o: { readonly keysDir?: string; readonly log?: LogFn; readonly ensure?: boolean; readonly setupHint?: string } = {}): Promise<CircuitArtifacts[]> {
  // Loaded only here (require, not import(): tsx's CommonJS hook resolves .ts only through require).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { shapeKeys } = require("./shape-keys") as typeof import("./shape-keys");
  const shapes = await shapeKeys(p, { keysRoot: o.keysDir, log: o.log, ensure: o.ensure, setupHint: o.setupHint });
  return shapes.map((s) => s.artifacts);
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
    const artifacts = cli.explicit ? [cli.explicit] : await configArtifacts(cli.config, cli.keysDir, log);
    handle = await startProverWorker({ redisUrl: cli.redisUrl, artifacts, concurrency: cli.concurrency, backend: cli.backend, lockMs: cli.lockMs, log });
    const several = artifacts.length > 1 ? { queues: handle.queueNames, circuits: artifacts.map((a) => a.circuitHash) } : {};
    process.stdout.write(
      JSON.stringify({ msg: "prover.worker.ready", worker: handle.id, pid: process.pid, queue: handle.queueName, circuitHash: artifacts[0].circuitHash, ...several, concurrency: cli.concurrency, redis: redactRedisUrl(cli.redisUrl) }) + "\n",
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
