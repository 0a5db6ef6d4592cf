/**
 * Cluster mode, the sequencer side: a Prover whose jobs go onto a BullMQ queue in Redis and are
 * proven by `modex prover worker` processes anywhere (prover/cluster-worker.ts).
 *
 * - One queue per circuit (`proofs-<hash16>`, prefix "modex"), so a worker never sees a job of
 *   another circuit. A prover of several circuits (one per batch shape) sends each job to the queue
 *   of its circuit (`ProofJob.circuitHash`, default the first) and refuses a job of any other.
 * - Job ids are deterministic (`b<batch>-<sha256(publicInput)[:12]>`): a restarted sequencer proving
 *   the same batch re-attaches to the job it queued before (waiting, running, or already proven)
 *   instead of queueing a duplicate. close() leaves the jobs in Redis for that.
 * - Leases, lock renewal, stalled-job recovery and retries with backoff are BullMQ's; this side only
 *   watches the queue's event stream and turns it into ProverEvents.
 * - The result comes over the network: its shape and public signal are checked here, the proof
 *   itself is verified by the sequencer before it accepts it.
 */
import { Queue, QueueEvents, type Job } from "bullmq";
import { ProverError, type LogFn, type ProverErrorCode } from "./pool";
import {
  checkResult,
  CONNECT_TIMEOUT_MS,
  connectionFor,
  decodeFailure,
  errorText,
  jobIdFor,
  parseWorkerStatus,
  QUEUE_PREFIX,
  queueNameFor,
  redactRedisUrl,
  stderrJsonLog,
  throttled,
  toProofResult,
  withTimeout,
  WORKER_KEY_PREFIX,
  type ClusterJobData,
} from "./redis-queue";
import { circuitLabel, circuitList, type CircuitArtifacts, type ProofJob, type ProofResult, type ProveOptions, type Prover, type ProverEvent, type ProverStatus, type ProverWorkerStatus } from "./types";

/** What the sequencer side knows of a circuit. */
export type ClusterCircuit = Pick<CircuitArtifacts, "circuitHash" | "vkeyPath" | "name">;

export interface ClusterProverOptions {
  /** redis://[user:password@]host:port[/db] (or rediss://). */
  readonly redisUrl: string;
  /** The circuit, or every circuit (one per batch shape), the default first: one queue each. */
  readonly artifacts: ClusterCircuit | readonly ClusterCircuit[];
  readonly log?: LogFn;
  /** Attempts per job across the cluster, stalls not counted (default 3). */
  readonly attempts?: number;
  /**
   * The workers' lock duration (default 30 s, as `--lock-ms`). A job's lost events are re-read from
   * its state at this period at most (every 1–5 s).
   */
  readonly lockMs?: number;
}

export interface ClusterProver extends Prover {
  /** The first (default) circuit. */
  readonly artifacts: Pick<CircuitArtifacts, "circuitHash" | "vkeyPath">;
  readonly circuits: readonly ClusterCircuit[];
  /** The first circuit's queue. */
  readonly queueName: string;
  /** Every circuit's queue, in the order of `circuits`. */
  readonly queueNames: readonly string[];
  status(): Promise<ProverStatus>;
}

/** One circuit's queue and the event stream this side reads from it. */
interface Lane {
  readonly circuit: ClusterCircuit;
  readonly queueName: string;
  readonly queue: Queue<ClusterJobData, ProofResult>;
  readonly events: QueueEvents;
}

interface Waiter {
  readonly job: ProofJob;
  readonly lane: Lane;
  readonly jobId: string;
  /** lane + job id: job ids are unique per queue only. */
  readonly key: string;
  readonly onEvent?: (e: ProverEvent) => void;
  readonly resolve: (r: ProofResult) => void;
  readonly reject: (e: Error) => void;
  settled: boolean;
  /** Highest attempt seen leased, and by whom. */
  lastAttempt: number;
  lastWorker: string | null;
  /** Attempts already reported as failed. */
  readonly failedAttempts: Set<number>;
  /** Redis work for this waiter runs in order (events and polls). */
  chain: Promise<void>;
}

/** How long status() waits for Redis. */
const STATUS_TIMEOUT_MS = 2_000;

const STATES_WAITING = new Set(["waiting", "delayed", "prioritized", "active", "waiting-children", "paused"]);

const PROVER_CODES = new Set<string>(["witness", "prove", "verify", "public_input", "artifacts", "circuit", "internal", "worker_died", "workers_cannot_start"]);

export async function createClusterProver(opts: ClusterProverOptions): Promise<ClusterProver> {
  const log = opts.log ?? stderrJsonLog;
  const attempts = opts.attempts ?? 3;
  if (!Number.isInteger(attempts) || attempts < 1) throw new RangeError(`attempts must be a positive integer, got ${attempts}`);
  const lockMs = opts.lockMs ?? 30_000;
  if (!Number.isFinite(lockMs) || lockMs <= 0) throw new RangeError(`lockMs must be positive, got ${lockMs}`);
  const pollMs = Math.min(5_000, Math.max(1_000, Math.round(lockMs / 2)));
  const circuits = circuitList(opts.artifacts);
  const circuitHash = circuits[0].circuitHash;
  const redisShown = redactRedisUrl(opts.redisUrl);
  const redisError = throttled(log);

  const lanes: Lane[] = [];
  try {
    for (const circuit of circuits) lanes.push(await openLane(circuit));
  } catch (e) {
    for (const l of lanes) {
      await l.events.close().catch(() => undefined);
      await l.queue.close().catch(() => undefined);
    }
    throw new Error(`cluster prover: cannot use Redis at ${redisShown}: ${errorText(e)}`);
  }
  const laneOf = new Map(lanes.map((l) => [l.circuit.circuitHash, l]));
  const queueName = lanes[0].queueName;

  async function openLane(circuit: ClusterCircuit): Promise<Lane> {
    const name = queueNameFor(circuit.circuitHash);
    const queue = new Queue<ClusterJobData, ProofResult>(name, { connection: connectionFor(opts.redisUrl), prefix: QUEUE_PREFIX });
    queue.on("error", (e) => redisError({ msg: "prover.cluster.redis_error", level: "warn", queue: name, error: errorText(e) }));
    let events: QueueEvents | null = null;
    try {
      await withTimeout(queue.waitUntilReady(), CONNECT_TIMEOUT_MS, `no connection within ${CONNECT_TIMEOUT_MS / 1000} s`);
      const client = await queue.client;
      // Read the event stream from its current end, not from whenever the first XREAD happens to run:
      // no event of a job added after this point can be missed.
      const lastEventId = await lastStreamId(client, queue.keys.events).catch(() => "$");
      events = new QueueEvents(name, { connection: connectionFor(opts.redisUrl, { blocking: true }), prefix: QUEUE_PREFIX, lastEventId });
      events.on("error", (e) => redisError({ msg: "prover.cluster.redis_error", level: "warn", queue: name, error: errorText(e) }));
      await withTimeout(events.waitUntilReady(), CONNECT_TIMEOUT_MS, `no connection within ${CONNECT_TIMEOUT_MS / 1000} s`);
    } catch (e) {
      await events?.close().catch(() => undefined);
      await queue.close().catch(() => undefined);
      throw e;
    }
    return { circuit, queueName: name, queue, events };
  }

  const waiters = new Map<string, Set<Waiter>>();
  /** Jobs whose result this instance already handed out: proving them again means the caller rejected it. */
  const delivered = new Set<string>();
  let closed = false;
  let closing: Promise<void> | null = null;

  log({ msg: "prover.cluster.start", queue: queueName, redis: redisShown, circuitHash, ...(lanes.length > 1 ? { queues: lanes.map((l) => l.queueName), circuits: circuits.map((c) => c.circuitHash) } : {}), attempts });

  const waiterKey = (lane: Lane, jobId: string): string => `${lane.queueName}/${jobId}`;
  const forJob = (lane: Lane, jobId: string): Waiter[] => [...(waiters.get(waiterKey(lane, jobId)) ?? [])];
  /** A job's circuit in its log lines. */
  const circuitFields = (w: Waiter): { circuit: string; circuitName?: string } => ({ circuit: circuitLabel(w.lane.circuit), ...(w.lane.circuit.name ? { circuitName: w.lane.circuit.name } : {}) });

  function enqueue(w: Waiter, fn: () => Promise<void>): void {
    w.chain = w.chain
      .then(() => (w.settled ? undefined : fn()))
      .catch((e: unknown) => {
        if (!w.settled && !closed) log({ msg: "prover.cluster.redis_error", level: "warn", batch: w.job.batchNumber, job: w.jobId, error: errorText(e) });
      });
  }

  function emit(w: Waiter, e: ProverEvent): void {
    if (!w.onEvent || w.settled) return;
    try {
      const r: unknown = w.onEvent(e);
      if (r instanceof Promise) r.catch((err: unknown) => log({ msg: "prover.cluster.event_handler_failed", level: "warn", batch: w.job.batchNumber, event: e.type, error: errorText(err) }));
    } catch (err) {
      log({ msg: "prover.cluster.event_handler_failed", level: "warn", batch: w.job.batchNumber, event: e.type, error: errorText(err) });
    }
  }

  function settle(w: Waiter): boolean {
    if (w.settled) return false;
    w.settled = true;
    const set = waiters.get(w.key);
    set?.delete(w);
    if (set && set.size === 0) waiters.delete(w.key);
    return true;
  }

  function onProgress(w: Waiter, data: unknown): void {
    if (typeof data !== "object" || data === null) return;
    const p = data as { worker?: unknown; attempt?: unknown; stage?: unknown };
    if (p.stage !== "leased" || typeof p.worker !== "string" || typeof p.attempt !== "number" || !Number.isInteger(p.attempt)) return;
    if (p.attempt <= w.lastAttempt) return;
    w.lastAttempt = p.attempt;
    w.lastWorker = p.worker;
    log({ msg: "prover.cluster.leased", batch: w.job.batchNumber, job: w.jobId, ...circuitFields(w), worker: p.worker, attempt: p.attempt });
    emit(w, { type: "leased", batchNumber: w.job.batchNumber, worker: p.worker, attempt: p.attempt });
  }

  function attemptFailed(w: Waiter, attempt: number, worker: string | null, error: string, willRetry: boolean): void {
    if (attempt < 1 || w.failedAttempts.has(attempt)) return;
    w.failedAttempts.add(attempt);
    log({ msg: "prover.cluster.attempt_failed", level: "warn", batch: w.job.batchNumber, job: w.jobId, ...circuitFields(w), worker, attempt, willRetry, error });
    emit(w, { type: "attempt_failed", batchNumber: w.job.batchNumber, worker, attempt, error, willRetry });
  }

  function workerOf(w: Waiter, attempt: number, j: Job | undefined): string | null {
    if (attempt === w.lastAttempt && w.lastWorker) return w.lastWorker;
    return j?.processedBy ?? null;
  }

  async function onCompleted(w: Waiter, value: unknown): Promise<void> {
    const bad = checkResult(value, w.job);
    if (bad !== null) {
      if (!settle(w)) return;
      // Unusable: drop it so that the next prove() of this batch queues a fresh job.
      await w.lane.queue.remove(w.jobId).catch(() => 0);
      const msg = `batch ${w.job.batchNumber}: the cluster returned an unusable result for job ${w.jobId}: ${bad}`;
      log({ msg: "prover.cluster.bad_result", level: "error", batch: w.job.batchNumber, job: w.jobId, error: bad });
      w.reject(new ProverError("internal", w.job.batchNumber, Math.max(1, w.lastAttempt), msg));
      return;
    }
    const result = toProofResult(value);
    if (!settle(w)) return;
    delivered.add(w.key);
    log({ msg: "prover.cluster.done", batch: w.job.batchNumber, job: w.jobId, ...circuitFields(w), worker: result.worker, ...result.timings });
    w.resolve(result);
  }

  async function onFailed(w: Waiter, reason: string | undefined): Promise<void> {
    const j = await w.lane.queue.getJob(w.jobId).catch(() => undefined);
    const started = Math.max(j?.attemptsStarted ?? 0, j?.attemptsMade ?? 0, w.lastAttempt, 1);
    const { code, message } = decodeFailure(reason ?? j?.failedReason);
    attemptFailed(w, started, workerOf(w, started, j), message, false);
    if (!settle(w)) return;
    const stalled = /stalled more than allowable limit/.test(message);
    const c: ProverErrorCode = stalled ? "worker_died" : code !== null && PROVER_CODES.has(code) ? (code as ProverErrorCode) : "internal";
    const msg = `batch ${w.job.batchNumber}: proving failed after ${started} attempt${started === 1 ? "" : "s"} on the cluster (job ${w.jobId}); last: ${message}`;
    log({ msg: "prover.cluster.failed", level: "error", batch: w.job.batchNumber, job: w.jobId, ...circuitFields(w), code: c, error: message });
    w.reject(new ProverError(c, w.job.batchNumber, started, msg));
  }

  function jobData(w: Waiter): ClusterJobData {
    return { batchNumber: w.job.batchNumber, circuitInput: w.job.circuitInput, publicSignals: w.job.publicSignals, circuitHash: w.lane.circuit.circuitHash };
  }

  async function add(w: Waiter): Promise<Job<ClusterJobData, ProofResult>> {
    const j = await w.lane.queue.add(`batch-${w.job.batchNumber}`, jobData(w), {
      jobId: w.jobId,
      attempts,
      backoff: { type: "exponential", delay: 1_000 },
      removeOnComplete: { age: 86_400, count: 1_000 },
      removeOnFail: { age: 7 * 86_400 },
    });
    log({ msg: "prover.cluster.queued", batch: w.job.batchNumber, job: w.jobId, queue: w.lane.queueName, ...circuitFields(w) });
    return j;
  }

  /**
   * Brings a waiter in line with the job's state in Redis. On entry it also creates the job, or
   * revives a failed one; later (polls) it only catches up on outcomes whose events were missed.
   */
  async function sync(w: Waiter, entry: boolean): Promise<void> {
    let j = await w.lane.queue.getJob(w.jobId);
    if (!j) {
      if (!entry) log({ msg: "prover.cluster.job_vanished", level: "warn", batch: w.job.batchNumber, job: w.jobId });
      j = await add(w);
    } else if (entry) {
      log({ msg: "prover.cluster.reattached", batch: w.job.batchNumber, job: w.jobId });
    }
    if (w.settled) return;
    let state = await w.lane.queue.getJobState(w.jobId);
    if (state === "completed" && entry && delivered.has(w.key)) {
      // This instance already delivered that proof and is asked again: the caller did not accept it.
      log({ msg: "prover.cluster.reprove", level: "warn", batch: w.job.batchNumber, job: w.jobId });
      delivered.delete(w.key);
      await w.lane.queue.remove(w.jobId);
      j = await add(w);
      state = await w.lane.queue.getJobState(w.jobId);
    }
    if (state === "completed") {
      const done = j.returnvalue !== null && j.returnvalue !== undefined ? j : await w.lane.queue.getJob(w.jobId);
      await onCompleted(w, done?.returnvalue);
    } else if (state === "failed") {
      if (entry) {
        log({ msg: "prover.cluster.retry_failed_job", level: "warn", batch: w.job.batchNumber, job: w.jobId, lastError: decodeFailure(j.failedReason).message });
        await j.retry("failed", { resetAttemptsMade: true });
      } else {
        await onFailed(w, j.failedReason);
      }
    } else if (STATES_WAITING.has(state)) {
      if (state === "active") onProgress(w, j.progress);
    }
    // "unknown": removed between our calls; the next poll re-adds it.
  }

  for (const lane of lanes) listen(lane);

  /** Turns one queue's event stream into its waiters' events. */
  function listen(lane: Lane): void {
    const qe = lane.events;
    qe.on("progress", ({ jobId, data }) => {
      for (const w of forJob(lane, jobId)) enqueue(w, async () => onProgress(w, data));
    });
    qe.on("stalled", ({ jobId }) => {
      for (const w of forJob(lane, jobId)) {
        const attempt = w.lastAttempt;
        const worker = w.lastWorker;
        enqueue(w, async () => {
          // Past maxStalledCount the job carries a deferred failure: it fails when next taken.
          const j = await w.lane.queue.getJob(w.jobId).catch(() => undefined);
          attemptFailed(w, Math.max(1, attempt), worker, `worker ${worker ?? "?"} stopped renewing its lease (stalled: killed, hung or cut off from Redis)`, !j?.deferredFailure);
        });
      }
    });
    qe.on("delayed", ({ jobId }) => {
      // A failed attempt with retries left (we always add with backoff, so a retry is a delay).
      for (const w of forJob(lane, jobId)) {
        enqueue(w, async () => {
          const j = await w.lane.queue.getJob(w.jobId);
          if (!j) return;
          const attempt = Math.max(j.attemptsStarted ?? 0, w.lastAttempt, 1);
          attemptFailed(w, attempt, workerOf(w, attempt, j), decodeFailure(j.failedReason).message, true);
        });
      }
    });
    qe.on("completed", ({ jobId, returnvalue }) => {
      for (const w of forJob(lane, jobId)) enqueue(w, () => onCompleted(w, returnvalue));
    });
    qe.on("failed", ({ jobId, failedReason }) => {
      for (const w of forJob(lane, jobId)) enqueue(w, () => onFailed(w, failedReason));
    });
  }

  // Fallback for lost events (a Redis reconnect, a trimmed stream): re-read each job's state now and then.
  const poll = setInterval(() => {
    for (const set of waiters.values()) for (const w of set) enqueue(w, () => sync(w, false));
  }, pollMs);
  poll.unref();

  const prover: ClusterProver = {
    artifacts: { circuitHash, vkeyPath: circuits[0].vkeyPath },
    circuits: circuits.map((c) => ({ circuitHash: c.circuitHash, vkeyPath: c.vkeyPath, ...(c.name ? { name: c.name } : {}) })),
    queueName,
    queueNames: lanes.map((l) => l.queueName),
    get pending(): number {
      let n = 0;
      for (const s of waiters.values()) n += s.size;
      return n;
    },
    prove(job: ProofJob, proveOpts?: ProveOptions): Promise<ProofResult> {
      if (closed) return Promise.reject(new ProverError("closed", job.batchNumber, 0, `batch ${job.batchNumber}: cluster prover is closed`));
      const lane = job.circuitHash === undefined ? lanes[0] : laneOf.get(job.circuitHash);
      if (!lane) {
        const msg = `batch ${job.batchNumber}: this prover has no circuit ${String(job.circuitHash)} (it proves ${circuits.map((c) => circuitLabel(c) + (c.name ? ` ${c.name}` : "")).join(", ")})`;
        log({ msg: "prover.cluster.refused", level: "error", batch: job.batchNumber, code: "circuit", circuit: String(job.circuitHash), error: msg });
        return Promise.reject(new ProverError("circuit", job.batchNumber, 0, msg));
      }
      return new Promise<ProofResult>((resolve, reject) => {
        const jobId = jobIdFor(job);
        const key = waiterKey(lane, jobId);
        const w: Waiter = {
          job,
          lane,
          jobId,
          key,
          onEvent: proveOpts?.onEvent,
          resolve,
          reject,
          settled: false,
          lastAttempt: 0,
          lastWorker: null,
          failedAttempts: new Set(),
          chain: Promise.resolve(),
        };
        // Listening before the job exists: its events cannot slip past.
        let set = waiters.get(key);
        if (!set) waiters.set(key, (set = new Set()));
        set.add(w);
        w.chain = w.chain.then(() =>
          sync(w, true).catch((e: unknown) => {
            if (!settle(w)) return;
            reject(new Error(`batch ${job.batchNumber}: cannot queue the proof job ${jobId} (queue ${lane.queueName}) on ${redisShown}: ${errorText(e)}`));
          }),
        );
      });
    },
    async status(): Promise<ProverStatus> {
      // Commands wait while Redis is away: an operator's status call must answer anyway.
      const [perLane, workers] = await withTimeout(
        Promise.all([Promise.all(lanes.map((l) => l.queue.getJobCounts("waiting", "delayed", "prioritized", "active"))), lanes[0].queue.client.then(listWorkers)]),
        STATUS_TIMEOUT_MS,
        `Redis at ${redisShown} did not answer within ${STATUS_TIMEOUT_MS / 1000} s`,
      );
      const sum = (k: string): number => perLane.reduce((n, c) => n + (c[k] ?? 0), 0);
      const ours = new Set(circuits.map((c) => c.circuitHash));
      const serves = (w: ProverWorkerStatus): boolean => (w.circuits ?? [w.circuitHash]).some((h) => ours.has(h));
      const backends = [...new Set(workers.filter(serves).map((w) => w.backend))].sort();
      return {
        mode: "cluster",
        circuitHash,
        ...(circuits.length > 1 ? { circuits: circuits.map((c) => c.circuitHash) } : {}),
        backend: backends.length ? backends.join(", ") : "unknown (no live worker)",
        queued: sum("waiting") + sum("delayed") + sum("prioritized"),
        leased: sum("active"),
        workers,
        queue: redisShown,
      };
    },
    close(): Promise<void> {
      closing ??= (async () => {
        closed = true;
        clearInterval(poll);
        for (const set of [...waiters.values()]) {
          for (const w of [...set]) {
            if (!settle(w)) continue;
            w.reject(new ProverError("closed", w.job.batchNumber, w.lastAttempt, `batch ${w.job.batchNumber}: cluster prover closed while waiting for job ${w.jobId} (it stays in Redis; proving the batch again re-attaches to it)`));
          }
        }
        for (const l of lanes) {
          await l.events.close().catch(() => undefined);
          await l.queue.close().catch(() => undefined);
        }
        log({ msg: "prover.cluster.closed", queue: queueName, ...(lanes.length > 1 ? { queues: lanes.map((l) => l.queueName) } : {}) });
      })();
      return closing;
    },
  };
  return prover;
}

type RedisClientLike = Awaited<Queue["client"]>;

const LAST_ID_SCRIPT = "modexLastStreamId";

/** The id of the newest entry of a stream ("0-0" when empty). */
async function lastStreamId(client: RedisClientLike, key: string): Promise<string> {
  client.defineCommand(LAST_ID_SCRIPT, {
    numberOfKeys: 1,
    lua: "local r = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1) if #r == 0 then return '0-0' end return r[1][1]",
  });
  const id: unknown = await client.runCommand(LAST_ID_SCRIPT, [key]);
  if (typeof id !== "string" || !/^\d+-\d+$/.test(id)) throw new Error(`unexpected stream id ${String(id)}`);
  return id;
}

/** Live workers of every circuit, from their heartbeat keys. */
export async function listWorkers(client: RedisClientLike): Promise<ProverWorkerStatus[]> {
  const keys = new Set<string>();
  let cursor = "0";
  do {
    const [next, batch] = await client.scan(cursor, { MATCH: `${WORKER_KEY_PREFIX}*`, COUNT: 200 });
    for (const k of batch) keys.add(k);
    cursor = String(next);
  } while (cursor !== "0");
  const values = await Promise.all([...keys].map((k) => client.get(k)));
  return values
    .map(parseWorkerStatus)
    .filter((w): w is ProverWorkerStatus => w !== null)
    .sort((a, b) => a.id.localeCompare(b.id));
}
