/**
 * Signature verification off the event loop: a pool of worker threads running core/eddsa-fast.ts.
 *
 * Acceptance verifies an operation's signature here first (stateless: message, signature and the
 * signer's key read from the pending view), then runs core's rules synchronously with
 * `signatureCheck(verified)`: it answers for exactly the verified (message, signature, key) and
 * verifies anything else on the main thread, so the accepted set is core's.
 *
 * Requests that arrive in one turn of the event loop go to the workers as one message per worker
 * (flushed on setImmediate). While no worker is ready (starting up), after one died, or after
 * close(), verification runs on the main thread: nothing is ever accepted unverified.
 */
import { existsSync } from "node:fs";
import { cpus } from "node:os";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { verifySignature, type PublicKey, type Signature, type SignatureCheck } from "../core/eddsa";
import { errorMessage, type LogFn } from "./log";
import type { StateReader } from "./pending";

/** One verification as it crosses to a worker (bigints survive structured cloning). */
export interface WireJob {
  readonly m: bigint;
  readonly r8x: bigint;
  readonly r8y: bigint;
  readonly s: bigint;
  readonly ax: bigint;
  readonly ay: bigint;
}

export interface VerifyRequest {
  readonly ids: number[];
  readonly jobs: WireJob[];
}

export type VerifyReply = { readonly type: "ready" } | { readonly type: "results"; readonly ids: number[]; readonly ok: boolean[] };

export interface VerifierPool {
  /** Number of worker threads (0: everything on the main thread). */
  readonly size: number;
  /** verifySignature(message, sig, pub), on a worker when one is ready. Never rejects. */
  verify(message: bigint, sig: Signature, pub: PublicKey): Promise<boolean>;
  /** Ends the workers; verifications in flight finish on the main thread. */
  close(): Promise<void>;
  /** Verifications done by workers and on the main thread (for tests and metrics). */
  stats(): { workers: number; ready: number; offloaded: number; mainThread: number };
}

export function defaultVerifierPoolSize(): number {
  return Math.max(1, cpus().length - 1);
}

interface Job {
  readonly message: bigint;
  readonly sig: Signature;
  readonly pub: PublicKey;
  readonly resolve: (ok: boolean) => void;
}

interface Slot {
  readonly worker: Worker;
  ready: boolean;
  dead: boolean;
  readonly inflight: Map<number, Job>;
}

/** The worker entry next to this module: TypeScript through tsx's require hook, or plain JS when built. */
function spawnWorker(): Worker {
  const ts = path.join(__dirname, "verify-worker.ts");
  if (existsSync(ts)) {
    const code = `require(${JSON.stringify(require.resolve("tsx/cjs/api"))}).register();\nrequire(${JSON.stringify(ts)});\n`;
    return new Worker(code, { eval: true });
  }
  return new Worker(path.join(__dirname, "verify-worker.js"));
}

function isWireable(message: unknown, sig: Signature, pub: PublicKey): boolean {
  return (
    typeof message === "bigint" && typeof sig === "object" && sig !== null && typeof pub === "object" && pub !== null &&
    typeof sig.r8x === "bigint" && typeof sig.r8y === "bigint" && typeof sig.s === "bigint" && typeof pub.ax === "bigint" && typeof pub.ay === "bigint"
  );
}

export function createVerifierPool(opts: { size?: number; log?: LogFn } = {}): VerifierPool {
  const size = opts.size ?? defaultVerifierPoolSize();
  if (!Number.isInteger(size) || size < 0) throw new RangeError(`verifier pool size must be an integer ≥ 0, got ${size}`);
  const log = opts.log ?? (() => undefined);
  const slots: Slot[] = [];
  let queue: Job[] = [];
  let flushScheduled = false;
  let closed = false;
  let nextId = 1;
  let offloaded = 0;
  let mainThread = 0;

  const onMain = (j: Job): void => {
    mainThread++;
    j.resolve(verifySignature(j.message, j.sig, j.pub));
  };

  const retire = (slot: Slot, why: string): void => {
    if (slot.dead) return;
    slot.dead = true;
    slot.ready = false;
    if (!closed) log({ level: "warn", msg: "verifier.worker_lost", reason: why, inflight: slot.inflight.size });
    const jobs = [...slot.inflight.values()];
    slot.inflight.clear();
    for (const j of jobs) onMain(j);
  };

  for (let i = 0; i < size; i++) {
    let worker: Worker;
    try {
      worker = spawnWorker();
    } catch (e) {
      log({ level: "warn", msg: "verifier.worker_failed", error: errorMessage(e) });
      continue;
    }
    const slot: Slot = { worker, ready: false, dead: false, inflight: new Map() };
    worker.unref();
    worker.on("message", (r: VerifyReply) => {
      if (r.type === "ready") {
        if (!slot.dead) slot.ready = true;
        return;
      }
      for (let k = 0; k < r.ids.length; k++) {
        const j = slot.inflight.get(r.ids[k]);
        if (!j) continue;
        slot.inflight.delete(r.ids[k]);
        offloaded++;
        j.resolve(r.ok[k] === true);
      }
    });
    worker.on("error", (e) => retire(slot, errorMessage(e)));
    worker.on("exit", (code) => retire(slot, `exited with code ${code}`));
    slots.push(slot);
  }

  const flush = (): void => {
    flushScheduled = false;
    const jobs = queue;
    queue = [];
    const ready = slots.filter((s) => s.ready && !s.dead);
    if (ready.length === 0) {
      for (const j of jobs) onMain(j);
      return;
    }
    // Spread the turn's jobs over the workers, least loaded first; one message per worker.
    const load = ready.map((s) => s.inflight.size);
    const out = ready.map(() => ({ ids: [] as number[], jobs: [] as WireJob[] }));
    for (const j of jobs) {
      let w = 0;
      for (let k = 1; k < ready.length; k++) if (load[k] < load[w]) w = k;
      load[w]++;
      const id = nextId++;
      ready[w].inflight.set(id, j);
      out[w].ids.push(id);
      out[w].jobs.push({ m: j.message, r8x: j.sig.r8x, r8y: j.sig.r8y, s: j.sig.s, ax: j.pub.ax, ay: j.pub.ay });
    }
    ready.forEach((s, k) => {
      if (out[k].ids.length === 0) return;
      try {
        s.worker.postMessage(out[k] satisfies VerifyRequest);
      } catch (e) {
        retire(s, errorMessage(e));
      }
    });
  };

  return {
    size: slots.length,
    verify(message, sig, pub) {
      return new Promise<boolean>((resolve) => {
        const job: Job = { message, sig, pub, resolve };
        // Malformed input never verifies; the main thread answers it (and anything while no worker is ready).
        if (closed || !isWireable(message, sig, pub) || !slots.some((s) => s.ready && !s.dead)) return onMain(job);
        queue.push(job);
        if (!flushScheduled) {
          flushScheduled = true;
          setImmediate(flush);
        }
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      const jobs = queue;
      queue = [];
      for (const j of jobs) onMain(j);
      for (const s of slots) retire(s, "closed");
      await Promise.allSettled(slots.map((s) => s.worker.terminate()));
    },
    stats() {
      return { workers: slots.filter((s) => !s.dead).length, ready: slots.filter((s) => s.ready && !s.dead).length, offloaded, mainThread };
    },
  };
}

/** A signature verified ahead of the synchronous acceptance step. */
export interface Verified {
  readonly message: bigint;
  readonly sig: Signature;
  readonly pub: PublicKey;
  readonly ok: boolean;
}

/**
 * Verifies `sig` on `message` under `account`'s key as `view` has it now, on the pool. null when
 * there is nothing worth verifying ahead (no pool, an account outside the tree or unregistered, a
 * message that cannot be built): the synchronous step then rejects or verifies it itself.
 */
export async function preverify(pool: VerifierPool | null, view: StateReader, account: number, message: () => bigint, sig: Signature): Promise<Verified | null> {
  if (!pool || pool.size === 0) return null;
  if (!Number.isInteger(account) || account < 0 || account >= view.accountCapacity) return null;
  let m: bigint;
  try {
    m = message();
  } catch {
    return null;
  }
  const acc = view.account(account);
  if (!acc.registered) return null;
  const pub = { ax: acc.ax, ay: acc.ay };
  const snap: Signature = { r8x: sig.r8x, r8y: sig.r8y, s: sig.s };
  return { message: m, sig: snap, pub, ok: await pool.verify(m, snap, pub) };
}

/**
 * The SignatureCheck for core's rules after `preverify`: the verified answer for exactly the
 * verified (message, signature, key), verifySignature for anything else (or when nothing was verified).
 */
export function signatureCheck(v: Verified | null, record?: VerifiedSignatures): SignatureCheck {
  const check: SignatureCheck = !v
    ? verifySignature
    : (message, sig, pub) =>
        message === v.message && sig.r8x === v.sig.r8x && sig.r8y === v.sig.r8y && sig.s === v.sig.s && pub.ax === v.pub.ax && pub.ay === v.pub.ay
          ? v.ok
          : verifySignature(message, sig, pub);
  if (!record) return check;
  return (message, sig, pub) => {
    const ok = check(message, sig, pub);
    if (ok) record.add(message, sig, pub);
    return ok;
  };
}

/**
 * Signatures that verified when their operation was accepted, so that re-checking pending
 * operations at a cut (plan.ts dropAndRecheck, core's buildBatch) never verifies one twice: `check`
 * answers true for a recorded (message, signature, key) and verifies anything else. A signature
 * valid once stays valid under the same key, so the accepted set is unchanged. Bounded: past
 * `limit` entries the oldest go (a forgotten one is only verified again).
 */
export class VerifiedSignatures {
  /**
   * Verified triples by message (a message is one order's or transaction's, so a list rarely holds
   * more than one). The bigints are the operation's own; no key is built: a string key of the six
   * values was ~0.7 KB kept per accepted order and more garbage at every check.
   */
  private readonly seen = new Map<bigint, VerifiedTriple[]>();
  private count = 0;
  constructor(private readonly limit = 1 << 16) {}

  add(message: bigint, sig: Signature, pub: PublicKey): void {
    const list = this.seen.get(message);
    if (list?.some((t) => same(t, sig, pub))) return;
    // Past the limit the oldest message goes, with every triple recorded for it.
    while (this.count >= this.limit && this.seen.size > 0) {
      const [oldest, gone] = this.seen.entries().next().value as [bigint, VerifiedTriple[]];
      this.seen.delete(oldest);
      this.count -= gone.length;
    }
    const t: VerifiedTriple = { r8x: sig.r8x, r8y: sig.r8y, s: sig.s, ax: pub.ax, ay: pub.ay };
    const current = this.seen.get(message);
    if (current) current.push(t);
    else this.seen.set(message, [t]);
    this.count++;
  }

  get size(): number {
    return this.count;
  }

  readonly check: SignatureCheck = (message, sig, pub) => this.seen.get(message)?.some((t) => same(t, sig, pub)) === true || verifySignature(message, sig, pub);
}

interface VerifiedTriple {
  readonly r8x: bigint;
  readonly r8y: bigint;
  readonly s: bigint;
  readonly ax: bigint;
  readonly ay: bigint;
}

function same(t: VerifiedTriple, sig: Signature, pub: PublicKey): boolean {
  return t.s === sig.s && t.r8x === sig.r8x && t.r8y === sig.r8y && t.ax === pub.ax && t.ay === pub.ay;
}
