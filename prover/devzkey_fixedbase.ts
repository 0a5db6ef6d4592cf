/**
 * Batched fixed-base scalar multiplication k·G1 / k·G2 for the BN254 generators, on
 * worker threads running ffjavascript's own wasm curve code (wasmcurves).
 *
 * Method: windowed comb. For a window width w the worker precomputes, per window j,
 * the affine points d·2^(w·j)·G for d = 1..2^w-1, then each scalar costs one mixed
 * addition per non-zero w-bit digit (≈ 254/w additions). Results are converted to
 * affine in batches (one field inversion per batch) and returned in the wasm's native
 * encoding: affine, little-endian Montgomery ("LEM"), point at infinity = all zeros,
 * which is exactly how snarkjs stores points in a .zkey.
 */
import { Worker } from "node:worker_threads";
import * as os from "node:os";

export type Group = 1 | 2;

export interface FixedBaseJob {
  group: Group;
  /** n scalars, 32 bytes little-endian each, standard (non-Montgomery) form, each < r. */
  scalars: Uint8Array;
}

export interface FixedBaseOptions {
  threads?: number;
  onProgress?: (p: { group: Group; done: number; total: number }) => void;
}

/** Bytes of an affine point in LEM encoding. */
export const POINT_BYTES: Record<Group, number> = { 1: 64, 2: 128 };

interface WasmCode {
  code: Uint8Array;
  pG1gen: number;
  pG2gen: number;
}

let wasmCodeCache: WasmCode | null = null;

/** The bn128 wasm module exactly as ffjavascript builds it for snarkjs. */
async function bn128WasmCode(): Promise<WasmCode> {
  if (wasmCodeCache) return wasmCodeCache;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ff = require("ffjavascript") as { buildBn128: (singleThread: boolean) => Promise<{ tm: { code: Uint8Array; pG1gen: number; pG2gen: number } }> };
  const curve = await ff.buildBn128(true);
  wasmCodeCache = { code: Uint8Array.from(curve.tm.code), pG1gen: curve.tm.pG1gen, pG2gen: curve.tm.pG2gen };
  return wasmCodeCache;
}

export function defaultThreads(): number {
  return typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
}

/** Window width minimising ceil(254/w)·(points + 2^w) (table build ≈ one addition per entry). */
export function chooseWindow(pointsPerWorker: number): number {
  let best = 2;
  let bestCost = Infinity;
  for (let w = 2; w <= 16; w++) {
    const cost = Math.ceil(254 / w) * (pointsPerWorker + 2 ** w);
    if (cost < bestCost) {
      bestCost = cost;
      best = w;
    }
  }
  return best;
}

export async function fixedBaseMul(jobs: FixedBaseJob[], opts: FixedBaseOptions = {}): Promise<Uint8Array[]> {
  const threads = Math.max(1, opts.threads ?? defaultThreads());
  const wasm = await bn128WasmCode();
  const workers: Worker[] = [];
  try {
    for (let t = 0; t < threads; t++) {
      const wk = new Worker(WORKER_SOURCE, { eval: true });
      wk.postMessage({ type: "init", code: wasm.code, pGen: { 1: wasm.pG1gen, 2: wasm.pG2gen } });
      workers.push(wk);
    }
    const results: Uint8Array[] = jobs.map((j) => new Uint8Array((j.scalars.length / 32) * POINT_BYTES[j.group]));
    const pending: Promise<void>[] = [];
    const doneByGroup: Record<Group, number> = { 1: 0, 2: 0 };
    const totalByGroup: Record<Group, number> = { 1: 0, 2: 0 };
    for (const j of jobs) {
      if (j.scalars.length % 32 !== 0) throw new Error("scalars length must be a multiple of 32");
      totalByGroup[j.group] += j.scalars.length / 32;
    }
    const perWorkerByGroup: Record<Group, number> = { 1: Math.ceil(totalByGroup[1] / threads), 2: Math.ceil(totalByGroup[2] / threads) };
    let taskId = 0;
    const waiters = new Map<number, { resolve: (b: Uint8Array) => void; reject: (e: Error) => void }>();
    for (const wk of workers) {
      wk.on("message", (m: { type: string; id: number; done?: number; group?: Group; points?: Uint8Array; message?: string }) => {
        const waiter = waiters.get(m.id);
        if (m.type === "progress" && m.group) {
          doneByGroup[m.group] += m.done ?? 0;
          opts.onProgress?.({ group: m.group, done: doneByGroup[m.group], total: totalByGroup[m.group] });
        } else if (m.type === "result" && waiter && m.points) {
          waiters.delete(m.id);
          waiter.resolve(m.points);
        } else if (m.type === "error") {
          const err = new Error(`fixed-base worker: ${m.message}`);
          const targets = waiter ? [waiter] : [...waiters.values()];
          if (waiter) waiters.delete(m.id);
          else waiters.clear();
          for (const t of targets) t.reject(err);
        }
      });
      const failAll = (e: Error): void => {
        for (const w of waiters.values()) w.reject(e);
        waiters.clear();
      };
      wk.on("error", failAll);
      wk.on("exit", (code) => {
        if (waiters.size > 0) failAll(new Error(`fixed-base worker exited (code ${code}) with tasks pending`));
      });
    }
    // Tasks: every job split into one contiguous chunk per worker; workers run their queues in order.
    jobs.forEach((job, ji) => {
      const n = job.scalars.length / 32;
      const w = chooseWindow(perWorkerByGroup[job.group]);
      const per = Math.ceil(n / threads);
      for (let t = 0; t < threads; t++) {
        const from = Math.min(n, t * per);
        const to = Math.min(n, from + per);
        if (to <= from) continue;
        const id = taskId++;
        const chunk = job.scalars.slice(from * 32, to * 32);
        pending.push(
          new Promise<Uint8Array>((resolve, reject) => {
            waiters.set(id, { resolve, reject });
            workers[t].postMessage({ type: "task", id, group: job.group, w, scalars: chunk }, [chunk.buffer]);
          }).then((pts) => {
            results[ji].set(pts, from * POINT_BYTES[job.group]);
          }),
        );
      }
    });
    await Promise.all(pending);
    return results;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** Worker body (plain JS, evaluated with `eval: true` so it runs the same under tsx, jest and node). */
const WORKER_SOURCE = String.raw`
const { parentPort } = require("worker_threads");
const N8 = 32;
const BATCH = 4096;
let ex = null, memory = null, pGen = null, free = 0;
const tables = new Map();
let accs = 0, outs = 0;

function ensure(bytes) {
  // Slack above our allocations: wasm batch functions (batchToAffine) use it as scratch.
  const need = free + bytes + (1 << 16) * N8 * 4 + 65536;
  const have = memory.buffer.byteLength;
  if (need > have) memory.grow(Math.ceil((need - have) / 65536));
}
function alloc(bytes) {
  ensure(bytes);
  const p = free;
  free = (free + bytes + 63) & ~63;
  new Uint32Array(memory.buffer)[0] = free;  // wasm scratch allocations start above ours
  return p;
}
function fns(g) {
  const pre = g === 1 ? "g1m_" : "g2m_";
  return { addMixed: ex[pre + "addMixed"], zero: ex[pre + "zero"], toAffine: ex[pre + "toAffine"],
           batchToAffine: ex[pre + "batchToAffine"], copyAffine: ex[pre + "copyAffine"] };
}
function getTable(g, w) {
  const key = g + ":" + w;
  if (tables.has(key)) return tables.get(key);
  const sA = N8 * 2 * g, sJ = N8 * 3 * g, size = 1 << w, nWin = Math.ceil(254 / w);
  const f = fns(g);
  const table = alloc(nWin * size * sA);
  const tmp = alloc(size * sJ);
  const base = alloc(sA), next = alloc(sJ);
  f.copyAffine(pGen[g], base);
  for (let j = 0; j < nWin; j++) {
    // tmp[d] = d·base (Jacobian), d = 1..size-1; entry 0 of every window stays unused.
    f.zero(tmp);
    for (let d = 1; d < size; d++) f.addMixed(tmp + (d - 1) * sJ, base, tmp + d * sJ);
    f.batchToAffine(tmp + sJ, size - 1, table + (j * size + 1) * sA);
    f.addMixed(tmp + (size - 1) * sJ, base, next);  // 2^w·base
    f.toAffine(next, base);
  }
  const t = { table, w, size, nWin, sA, sJ };
  tables.set(key, t);
  return t;
}
function run(msg) {
  const g = msg.group, w = msg.w;
  const T = getTable(g, w);
  const f = fns(g);
  if (!accs) { accs = alloc(BATCH * N8 * 6); outs = alloc(BATCH * N8 * 4); }
  const n = msg.scalars.length / 32;
  const sc = new Uint8Array(msg.scalars.length + 8);
  sc.set(msg.scalars);
  const dv = new DataView(sc.buffer);
  const out = new Uint8Array(n * T.sA);
  const mask = T.size - 1;
  let reported = 0;
  for (let b0 = 0; b0 < n; b0 += BATCH) {
    const nb = Math.min(BATCH, n - b0);
    for (let i = 0; i < nb; i++) {
      const acc = accs + i * T.sJ;
      f.zero(acc);
      const o = (b0 + i) * 32;
      for (let j = 0; j < T.nWin; j++) {
        const bit = j * w;
        const d = (dv.getUint32(o + (bit >>> 3), true) >>> (bit & 7)) & (bit + w > 256 ? (1 << (256 - bit)) - 1 : mask);
        if (d !== 0) f.addMixed(acc, T.table + (j * T.size + d) * T.sA, acc);
      }
    }
    f.batchToAffine(accs, nb, outs);
    out.set(new Uint8Array(memory.buffer, outs, nb * T.sA), b0 * T.sA);
    if (b0 + nb - reported >= 16384 || b0 + nb === n) {
      parentPort.postMessage({ type: "progress", id: msg.id, group: g, done: b0 + nb - reported });
      reported = b0 + nb;
    }
  }
  parentPort.postMessage({ type: "result", id: msg.id, points: out }, [out.buffer]);
}
parentPort.on("message", (msg) => {
  try {
    if (msg.type === "init") {
      memory = new WebAssembly.Memory({ initial: 64 });
      const mod = new WebAssembly.Module(msg.code);
      ex = new WebAssembly.Instance(mod, { env: { memory } }).exports;
      pGen = msg.pGen;
      free = (new Uint32Array(memory.buffer)[0] + 63) & ~63;
    } else if (msg.type === "task") {
      run(msg);
    }
  } catch (e) {
    parentPort.postMessage({ type: "error", id: msg.id, message: String(e && e.stack || e) });
  }
});
`;
