/**
 * Embedded prover pool: proves batches in warm worker processes (prover/worker.ts), one job per
 * worker, jobs queued FIFO. A proof never runs on the caller's event loop.
 *
 * One pool serves one circuit or several (a deployment with several batch shapes: one circuit each).
 * Every worker knows the whole set and loads a circuit the first time it gets a job for it, then keeps
 * it; a job names its circuit (`ProofJob.circuitHash`, default the first). A job naming a circuit
 * the pool does not have is refused at once (ProverError code "circuit"); nothing else changes.
 *
 * A worker that dies mid-job (crash, OOM kill, SIGKILL, timeout) is replaced and the job retried,
 * up to `maxAttempts` in all. Errors the job itself causes (invalid input, a proof that does not
 * verify, a wrong public signal) are deterministic and reject at once.
 *
 * Each worker runs in its own process group, so a worker and any external prover it started
 * (command backend) go together: whenever a worker exits or is killed, its whole group is SIGKILLed.
 *
 * Per job, `ProveOptions.onEvent` sees "leased" when a worker takes it and "attempt_failed" when that
 * attempt ends without a proof; every "leased" is followed by one of the two outcomes (a resolved
 * promise or "attempt_failed").
 */
import { fork, type ChildProcess } from "node:child_process";
import { existsSync, promises as fsp, statSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  backendLabel,
  circuitLabel,
  circuitList,
  type CircuitArtifacts,
  type ProofJob,
  type ProofResult,
  type ProveOptions,
  type Prover,
  type ProverBackend,
  type ProverEvent,
  type ProverStatus,
  type ProverWorkerStatus,
} from "./types";
import type { FromWorker, ToWorker, WireError } from "./worker";
import { defaultBackend, threadsPerWorker } from "./backend";
import { stderrJsonLog } from "../circuits/compile";

export type LogFn = (o: object) => void;

export interface ProverPoolOptions {
  /** The circuit it proves, or every circuit (one per batch shape), the default circuit first. */
  readonly artifacts: CircuitArtifacts | readonly CircuitArtifacts[];
  /** Worker processes; default `defaultPoolSize(artifacts)`. */
  readonly size?: number;
  /** Structured log sink (one object per event); default: JSON lines on stderr. */
  readonly log?: LogFn;
  /** Attempts per job when workers die under it (default 3). */
  readonly maxAttempts?: number;
  /** Kill a worker whose job runs longer than this and retry the job (default: no limit). */
  readonly jobTimeoutMs?: number;
  /** How long a worker may take to load the artifacts and become ready (default 120 s). */
  readonly startTimeoutMs?: number;
  /** After close(), how long an idle worker gets to exit by itself before SIGKILL (default 5 s). */
  readonly closeGraceMs?: number;
  /** How workers run the Groth16 step (default: the native prover when built, else in-process snarkjs; prover/backend.ts). */
  readonly backend?: ProverBackend;
}

export interface WorkerInfo {
  readonly pid: number;
  readonly state: "starting" | "idle" | "busy" | "stopping";
  /** Batch being proven, when busy. */
  readonly batchNumber?: number;
  /** Circuits (hashes) it has loaded so far, in the order it loaded them. */
  readonly loadedCircuits: readonly string[];
}

/** A Prover with the introspection that operations and tests need. */
export interface ProverPool extends Prover {
  readonly size: number;
  /** The first (default) circuit. */
  readonly artifacts: Pick<CircuitArtifacts, "circuitHash" | "vkeyPath">;
  /** Every circuit it proves, the first first. */
  readonly circuits: readonly Pick<CircuitArtifacts, "circuitHash" | "vkeyPath" | "name">[];
  /** Live worker processes. */
  workers(): WorkerInfo[];
  status(): Promise<ProverStatus>;
}

/** … "circuit": the job names a circuit this prover does not have (never retried). */
export type ProverErrorCode = "witness" | "prove" | "verify" | "public_input" | "artifacts" | "circuit" | "internal" | "worker_died" | "workers_cannot_start" | "closed";

/** A rejected ProofJob: `code` says why, `attempts` how many workers tried. */
export class ProverError extends Error {
  readonly code: ProverErrorCode;
  readonly batchNumber: number;
  readonly attempts: number;
  constructor(code: ProverErrorCode, batchNumber: number, attempts: number, message: string) {
    super(message);
    this.name = "ProverError";
    this.code = code;
    this.batchNumber = batchNumber;
    this.attempts = attempts;
  }
}

/**
 * Default pool size. snarkjs already spreads each proof's FFTs and multi-exponentiations over
 * worker threads on every core, so extra processes only overlap the single-threaded phases
 * (witness, reading the zkey, verification) of one proof with the parallel phases of another.
 * Measured on 2 cores (test-config batch circuit, 120k constraints, 4 proofs): 1 worker 12.4 s per
 * proof, 2 workers 12.2 s per proof at twice the latency each. So: half the cores, at least one
 * (1 on 2 cores), and no more than free memory holds (see `estimateProofMemory`).
 */
export function defaultPoolSize(artifacts?: Pick<CircuitArtifacts, "zkeyPath"> | readonly Pick<CircuitArtifacts, "zkeyPath">[]): number {
  // A worker proves one job at a time: the largest proving key bounds its peak.
  let zkeyBytes = 0;
  const list = artifacts === undefined ? [] : Array.isArray(artifacts) ? (artifacts as readonly Pick<CircuitArtifacts, "zkeyPath">[]) : [artifacts as Pick<CircuitArtifacts, "zkeyPath">];
  for (const a of list) {
    try {
      zkeyBytes = Math.max(zkeyBytes, statSync(a.zkeyPath).size);
    } catch {
      // unknown size: the CPU bound alone decides
    }
  }
  return poolSizeFor({ cpus: os.availableParallelism?.() ?? os.cpus().length, freeMemBytes: os.freemem(), zkeyBytes });
}

/** `defaultPoolSize` for given machine figures. */
export function poolSizeFor(sys: { readonly cpus: number; readonly freeMemBytes: number; readonly zkeyBytes: number }): number {
  const byCpu = Math.max(1, Math.ceil(sys.cpus / 2));
  // Leave a fifth of free memory to the sequencer and the OS.
  const byMem = Math.floor((sys.freeMemBytes * 0.8) / estimateProofMemory(sys.zkeyBytes));
  return Math.max(1, Math.min(byCpu, byMem));
}

/**
 * Peak memory (RSS) of one worker proving with a zkey of `zkeyBytes`. snarkjs reads the zkey's
 * point sections into memory, its threads copy bases into their own wasm memories, and FFT
 * buffers scale with the domain. Measured: 126 MiB for a tiny circuit, 620–700 MiB with an
 * 83 MB zkey (120k constraints), i.e. about 128 MiB + 6 × zkey.
 */
export function estimateProofMemory(zkeyBytes: number): number {
  return 6 * zkeyBytes + 128 * 2 ** 20;
}

interface Task {
  readonly id: number;
  readonly job: ProofJob;
  /** The circuit that proves it. */
  readonly circuit: CircuitArtifacts;
  readonly resolve: (r: ProofResult) => void;
  readonly reject: (e: Error) => void;
  readonly onEvent?: (e: ProverEvent) => void;
  attempts: number;
  readonly queuedAt: number;
  lastFailure?: string;
}

interface Slot {
  readonly child: ChildProcess;
  readonly pid: number;
  state: WorkerInfo["state"];
  task: Task | null;
  readonly spawnedAt: number;
  /** ms since epoch, for status(). */
  readonly startedAt: number;
  jobsDone: number;
  /** Jobs that failed on it (deterministic errors); a worker that dies under a job is gone. */
  jobsFailed: number;
  timer: NodeJS.Timeout | null;
  /** Why the pool killed it, when it did (timeout), for the retry message. */
  killReason: string | null;
  initError: WireError | null;
  /** Circuits it has loaded (hashes, in load order). */
  readonly loaded: string[];
  readonly exited: Promise<void>;
}


/** The worker entry next to this module: TypeScript through tsx's require hook, or plain JS when built. */
function workerEntry(): { file: string; execArgv: string[] } {
  const ts = path.join(__dirname, "worker.ts");
  if (existsSync(ts)) return { file: ts, execArgv: ["--require", require.resolve("tsx/cjs")] };
  return { file: path.join(__dirname, "worker.js"), execArgv: [] };
}

/** SIGKILLs a worker's process group (the worker and any prover command it started). */
function killGroup(child: ChildProcess, pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch (e) {
    // ESRCH: the group is already gone. Anything else (no group of its own?): at least kill the worker.
    if ((e as NodeJS.ErrnoException).code !== "ESRCH") child.kill("SIGKILL");
  }
}

/** mkdtemp prefix of a worker's command-backend files, so the pool can remove what a killed worker left. */
function workerTempPrefix(pid: number): string {
  return path.join(os.tmpdir(), `modex-prove-${pid}-`);
}

/** A command backend must name a program; fail at creation rather than in every worker. */
function checkBackend(b: ProverBackend): void {
  if (b.kind === "snarkjs") return;
  if (b.kind === "native") {
    if (!Number.isInteger(b.threads) || b.threads < 0) throw new RangeError(`native prover threads must be a non-negative integer, got ${JSON.stringify(b.threads)}`);
    return;
  }
  if (b.kind !== "command" || !Array.isArray(b.command) || typeof b.command[0] !== "string" || b.command[0] === "" || b.command.some((a) => typeof a !== "string")) {
    throw new RangeError(`prover backend must be {kind:"snarkjs"} or {kind:"command", command:[exe, ...args]}, got ${JSON.stringify(b)}`);
  }
}

export function createProverPool(opts: ProverPoolOptions): ProverPool {
  const circuits = circuitList(opts.artifacts);
  const first = circuits[0];
  const byHash = new Map(circuits.map((c) => [c.circuitHash, c]));
  const several = circuits.length > 1;
  const size = opts.size ?? defaultPoolSize(circuits);
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`prover pool size must be a positive integer, got ${size}`);
  const maxAttempts = opts.maxAttempts ?? 3;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new RangeError(`maxAttempts must be a positive integer, got ${maxAttempts}`);
  const log = opts.log ?? stderrJsonLog;
  const startTimeoutMs = opts.startTimeoutMs ?? 120_000;
  const closeGraceMs = opts.closeGraceMs ?? 5_000;
  const requested = opts.backend ?? defaultBackend(opts.log);
  checkBackend(requested);
  // Native workers asked for every core share the cores out, so that several workers on one machine do not oversubscribe it.
  const backend: ProverBackend = requested.kind === "native" && requested.threads === 0 && size > 1 ? { kind: "native", threads: threadsPerWorker(os.availableParallelism?.() ?? os.cpus().length, size) } : requested;
  const backendName = backendLabel(backend);
  const entry = workerEntry();

  const queue: Task[] = [];
  const slots = new Set<Slot>();
  let nextTaskId = 1;
  let closed = false;
  let closing: Promise<void> | null = null;
  // Workers that died before becoming ready, in a row: bad artifacts must not respawn forever.
  let startFailures = 0;
  let lastStartError = "";
  let respawnTimer: NodeJS.Timeout | null = null;
  // Removal of temp dirs left by killed workers; close() waits for it.
  const cleanups = new Set<Promise<void>>();

  // If the owning process exits without close(), take the workers (and their prover commands) with it.
  const onProcessExit = (): void => {
    for (const s of slots) killGroup(s.child, s.pid);
  };
  process.on("exit", onProcessExit);

  /** A job's circuit in its log lines: the hash's first 16 hex digits, and its name when it has one. */
  const circuitFields = (c: CircuitArtifacts): { circuit: string; circuitName?: string } => ({ circuit: circuitLabel(c), ...(c.name ? { circuitName: c.name } : {}) });

  log({ msg: "prover.pool.start", size, maxAttempts, circuitHash: first.circuitHash, ...(several ? { circuits: circuits.map((c) => c.circuitHash) } : {}), backend: backendName, ...(backend.kind === "native" ? { threadsPerWorker: backend.threads || (os.availableParallelism?.() ?? os.cpus().length) } : {}) });

  /** Reports a job event to its caller; a throwing (or rejecting) handler is logged, never breaks the pool. */
  function emit(task: Task, e: ProverEvent): void {
    if (!task.onEvent) return;
    const failed = (err: unknown): void =>
      log({ msg: "prover.job.event_handler_failed", level: "warn", batch: task.job.batchNumber, event: e.type, error: err instanceof Error ? err.message : String(err) });
    try {
      const r: unknown = task.onEvent(e);
      if (r instanceof Promise) r.catch(failed);
    } catch (err) {
      failed(err);
    }
  }

  function spawnWorker(): void {
    const child = fork(entry.file, [], {
      execArgv: entry.execArgv,
      // Pipe stdout/stderr so stray output becomes structured log lines instead of interleaving with ours.
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      serialization: "json",
      // Own process group: killing -pid also ends a prover command the worker started.
      detached: true,
    });
    const pid = child.pid;
    if (pid === undefined) {
      // spawn itself failed (reported as 'error'); count it like a start failure.
      child.once("error", (e) => onStartFailure(`spawn failed: ${e.message}`));
      return;
    }
    const exited = new Promise<void>((res) => child.once("exit", () => res()));
    const slot: Slot = {
      child,
      pid,
      state: "starting",
      task: null,
      spawnedAt: performance.now(),
      startedAt: Date.now(),
      jobsDone: 0,
      jobsFailed: 0,
      timer: null,
      killReason: null,
      initError: null,
      loaded: [],
      exited,
    };
    slots.add(slot);
    forwardOutput(slot, "stdout");
    forwardOutput(slot, "stderr");
    slot.timer = setTimeout(() => {
      slot.killReason = `did not become ready within ${startTimeoutMs} ms`;
      killGroup(child, pid);
    }, startTimeoutMs);
    child.on("message", (m: FromWorker) => onMessage(slot, m));
    child.on("error", (e) => log({ msg: "prover.worker.error", level: "warn", worker: pid, error: e.message }));
    child.once("exit", (code, signal) => onExit(slot, code, signal));
    send(slot, { type: "init", artifacts: circuits, backend, tempDirPrefix: workerTempPrefix(pid) });
  }

  function forwardOutput(slot: Slot, stream: "stdout" | "stderr"): void {
    const s = slot.child[stream];
    if (!s) return;
    s.setEncoding("utf8");
    let buf = "";
    s.on("data", (chunk: string) => {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.trim()) log({ msg: "prover.worker.output", level: "warn", worker: slot.pid, stream, line });
      }
    });
  }

  function send(slot: Slot, m: ToWorker): void {
    try {
      slot.child.send(m);
    } catch {
      // The channel is already closed; the 'exit' handler deals with the slot and its task.
    }
  }

  function clearTimer(slot: Slot): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
  }

  function onMessage(slot: Slot, m: FromWorker): void {
    switch (m.type) {
      case "ready":
        clearTimer(slot);
        if (slot.state !== "starting") return;
        startFailures = 0;
        slot.state = "idle";
        log({ msg: "prover.worker.ready", worker: slot.pid, startMs: Math.round(performance.now() - slot.spawnedAt), loadMs: m.loadMs });
        dispatch();
        return;
      case "init_failed":
        slot.initError = m.error;
        return;
      case "loaded": {
        if (!slot.loaded.includes(m.circuitHash)) slot.loaded.push(m.circuitHash);
        const name = byHash.get(m.circuitHash)?.name;
        const batch = slot.task?.id === m.taskId ? { batch: slot.task.job.batchNumber } : {};
        log({ msg: "prover.worker.circuit_loaded", worker: slot.pid, circuit: circuitLabel({ circuitHash: m.circuitHash }), ...(name ? { circuitName: name } : {}), loadMs: m.loadMs, loaded: slot.loaded.length, ...batch });
        return;
      }
      case "stage":
        if (slot.task?.id !== m.taskId) return;
        log({ msg: "prover.job.stage", batch: slot.task.job.batchNumber, worker: slot.pid, stage: m.stage, attempt: slot.task.attempts, ...circuitFields(slot.task.circuit) });
        return;
      case "done":
      case "failed": {
        const task = slot.task;
        if (!task || task.id !== m.taskId) return;
        clearTimer(slot);
        slot.task = null;
        slot.state = "idle";
        if (m.type === "done") {
          slot.jobsDone++;
          const result: ProofResult = { ...m.result, worker: String(slot.pid) };
          log({ msg: "prover.job.done", batch: task.job.batchNumber, worker: slot.pid, attempt: task.attempts, ...circuitFields(task.circuit), backend: backendName, ...result.timings, queueMs: Math.round(performance.now() - task.queuedAt), maxRssMb: m.maxRssMb });
          task.resolve(result);
        } else {
          slot.jobsFailed++;
          log({ msg: "prover.job.failed", level: "error", batch: task.job.batchNumber, worker: slot.pid, ...circuitFields(task.circuit), code: m.error.code, error: m.error.message });
          // The job itself is at fault: another worker would fail the same way.
          emit(task, { type: "attempt_failed", batchNumber: task.job.batchNumber, worker: String(slot.pid), attempt: task.attempts, error: m.error.message, willRetry: false });
          task.reject(new ProverError(asCode(m.error.code), task.job.batchNumber, task.attempts, m.error.message));
        }
        dispatch();
        return;
      }
    }
  }

  function onExit(slot: Slot, code: number | null, signal: NodeJS.Signals | null): void {
    clearTimer(slot);
    slots.delete(slot);
    // Whatever ended the worker, a prover command it started must not run on (or keep its temp files).
    killGroup(slot.child, slot.pid);
    if (backend.kind === "command") removeTempDirs(slot.pid);
    const how = slot.killReason ?? (signal ? `killed by ${signal}` : `exited with code ${code}`);
    if (closed) return;
    log({ msg: "prover.worker.exit", level: "warn", worker: slot.pid, state: slot.state, code, signal, reason: how });

    if (slot.state === "starting") {
      onStartFailure(slot.initError ? slot.initError.message : `worker ${slot.pid} ${how} while starting`);
      return;
    }
    const task = slot.task;
    if (task) {
      task.lastFailure = `worker ${slot.pid} ${how} while proving`;
      const willRetry = task.attempts < maxAttempts;
      emit(task, { type: "attempt_failed", batchNumber: task.job.batchNumber, worker: String(slot.pid), attempt: task.attempts, error: task.lastFailure, willRetry });
      if (!willRetry) {
        const msg = `batch ${task.job.batchNumber}: proving failed after ${task.attempts} attempt${task.attempts === 1 ? "" : "s"}; last: ${task.lastFailure}`;
        log({ msg: "prover.job.failed", level: "error", batch: task.job.batchNumber, ...circuitFields(task.circuit), code: "worker_died", error: msg });
        task.reject(new ProverError("worker_died", task.job.batchNumber, task.attempts, msg));
      } else {
        log({ msg: "prover.job.retry", level: "warn", batch: task.job.batchNumber, ...circuitFields(task.circuit), attempt: task.attempts, maxAttempts, cause: task.lastFailure });
        // Back to the front: a retried batch keeps its place ahead of later batches.
        queue.unshift(task);
      }
    }
    replenish();
    dispatch();
  }

  /** Removes the temp dirs of a dead worker (a killed one never reaches its `finally`). */
  function removeTempDirs(pid: number): void {
    const prefix = workerTempPrefix(pid);
    const dir = path.dirname(prefix);
    const done = (async () => {
      const names = await fsp.readdir(dir).catch(() => [] as string[]);
      for (const n of names) {
        if (n.startsWith(path.basename(prefix))) await fsp.rm(path.join(dir, n), { recursive: true, force: true });
      }
    })().catch((e: Error) => log({ msg: "prover.worker.cleanup_failed", level: "warn", worker: pid, error: e.message }));
    cleanups.add(done);
    void done.finally(() => cleanups.delete(done));
  }

  function onStartFailure(cause: string): void {
    startFailures++;
    lastStartError = cause;
    log({ msg: "prover.worker.start_failed", level: "error", failures: startFailures, error: cause });
    if (startFailures >= maxAttempts) {
      // Respawning cannot help (bad artifacts, broken install): fail the queued jobs and wait for new ones.
      for (const task of queue.splice(0)) {
        task.reject(new ProverError("workers_cannot_start", task.job.batchNumber, task.attempts, `batch ${task.job.batchNumber}: prover workers cannot start: ${cause}`));
      }
      return;
    }
    if (!respawnTimer) {
      respawnTimer = setTimeout(() => {
        respawnTimer = null;
        replenish();
      }, 200 * startFailures);
    }
  }

  /** Keeps `size` workers alive (warm), unless starting them keeps failing and nothing waits. */
  function replenish(): void {
    if (closed || respawnTimer) return;
    if (startFailures >= maxAttempts && queue.length === 0) return;
    while (slots.size < size) spawnWorker();
  }

  function dispatch(): void {
    if (closed) return;
    for (const slot of slots) {
      if (queue.length === 0) return;
      if (slot.state !== "idle") continue;
      const task = queue.shift() as Task;
      task.attempts++;
      slot.state = "busy";
      slot.task = task;
      slot.killReason = null;
      if (opts.jobTimeoutMs !== undefined) {
        const ms = opts.jobTimeoutMs;
        slot.timer = setTimeout(() => {
          slot.killReason = `timed out after ${ms} ms`;
          killGroup(slot.child, slot.pid);
        }, ms);
      }
      log({ msg: "prover.job.start", batch: task.job.batchNumber, worker: slot.pid, attempt: task.attempts, ...circuitFields(task.circuit), ...(slot.loaded.includes(task.circuit.circuitHash) ? {} : { loads: true }), queued: queue.length });
      emit(task, { type: "leased", batchNumber: task.job.batchNumber, worker: String(slot.pid), attempt: task.attempts });
      send(slot, { type: "prove", taskId: task.id, job: { ...task.job, circuitHash: task.circuit.circuitHash } });
    }
  }

  function workerStatus(s: Slot): ProverWorkerStatus {
    return {
      id: String(s.pid),
      host: os.hostname(),
      pid: s.pid,
      state: s.state,
      circuitHash: first.circuitHash,
      ...(several ? { circuits: circuits.map((c) => c.circuitHash) } : {}),
      backend: backendName,
      concurrency: 1,
      batches: s.task ? [s.task.job.batchNumber] : [],
      jobsDone: s.jobsDone,
      jobsFailed: s.jobsFailed,
      startedAt: s.startedAt,
    };
  }

  replenish();

  return {
    size,
    artifacts: { circuitHash: first.circuitHash, vkeyPath: first.vkeyPath },
    circuits: circuits.map((c) => ({ circuitHash: c.circuitHash, vkeyPath: c.vkeyPath, ...(c.name ? { name: c.name } : {}) })),
    get pending(): number {
      let busy = 0;
      for (const s of slots) if (s.task) busy++;
      return queue.length + busy;
    },
    workers(): WorkerInfo[] {
      return [...slots].map((s) => ({ pid: s.pid, state: s.state, ...(s.task ? { batchNumber: s.task.job.batchNumber } : {}), loadedCircuits: [...s.loaded] }));
    },
    async status(): Promise<ProverStatus> {
      const all = [...slots];
      return {
        mode: "embedded",
        circuitHash: first.circuitHash,
        ...(several ? { circuits: circuits.map((c) => c.circuitHash) } : {}),
        backend: backendName,
        queued: queue.length,
        leased: all.filter((s) => s.task).length,
        workers: all.map(workerStatus),
      };
    },
    prove(job: ProofJob, proveOpts?: ProveOptions): Promise<ProofResult> {
      if (closed) return Promise.reject(new ProverError("closed", job.batchNumber, 0, `batch ${job.batchNumber}: prover pool is closed`));
      const circuit = job.circuitHash === undefined ? first : byHash.get(job.circuitHash);
      if (!circuit) {
        const msg = `batch ${job.batchNumber}: this prover has no circuit ${String(job.circuitHash)} (it proves ${circuits.map((c) => circuitLabel(c) + (c.name ? ` ${c.name}` : "")).join(", ")})`;
        log({ msg: "prover.job.refused", level: "error", batch: job.batchNumber, code: "circuit", circuit: String(job.circuitHash), error: msg });
        return Promise.reject(new ProverError("circuit", job.batchNumber, 0, msg));
      }
      return new Promise<ProofResult>((resolve, reject) => {
        queue.push({ id: nextTaskId++, job, circuit, resolve, reject, onEvent: proveOpts?.onEvent, attempts: 0, queuedAt: performance.now() });
        log({ msg: "prover.job.queued", batch: job.batchNumber, ...circuitFields(circuit), queued: queue.length });
        if (startFailures >= maxAttempts) {
          // A new job gets a fresh round of start attempts (the cause may have been fixed).
          log({ msg: "prover.pool.restart_workers", lastError: lastStartError });
          startFailures = 0;
        }
        replenish();
        dispatch();
      });
    },
    close(): Promise<void> {
      closing ??= (async () => {
        closed = true;
        if (respawnTimer) clearTimeout(respawnTimer);
        const all = [...slots];
        for (const task of queue.splice(0)) {
          task.reject(new ProverError("closed", task.job.batchNumber, task.attempts, `batch ${task.job.batchNumber}: prover pool closed before the job ran`));
        }
        for (const s of all) {
          clearTimer(s);
          if (s.task) {
            const error = `batch ${s.task.job.batchNumber}: prover pool closed while proving`;
            emit(s.task, { type: "attempt_failed", batchNumber: s.task.job.batchNumber, worker: String(s.pid), attempt: s.task.attempts, error, willRetry: false });
            s.task.reject(new ProverError("closed", s.task.job.batchNumber, s.task.attempts, error));
            s.task = null;
          }
          // Closing the channel asks an idle worker to release its threads and exit. A busy one would
          // only notice after its proof, which nobody waits for any more: SIGTERM ends it now.
          if (s.state === "busy") s.child.kill("SIGTERM");
          else if (s.child.connected) s.child.disconnect();
          s.state = "stopping";
        }
        await Promise.all(
          all.map(async (s) => {
            let t: NodeJS.Timeout | undefined;
            const grace = new Promise<boolean>((res) => (t = setTimeout(() => res(true), closeGraceMs)));
            const late = await Promise.race([s.exited.then(() => false), grace]);
            clearTimeout(t);
            if (late) {
              killGroup(s.child, s.pid);
              await s.exited;
            }
          }),
        );
        await Promise.all([...cleanups]);
        process.removeListener("exit", onProcessExit);
        log({ msg: "prover.pool.closed", workers: all.length });
      })();
      return closing;
    },
  };
}

function asCode(code: string): ProverErrorCode {
  const known: ProverErrorCode[] = ["witness", "prove", "verify", "public_input", "artifacts", "circuit", "internal"];
  return (known as string[]).includes(code) ? (code as ProverErrorCode) : "internal";
}
