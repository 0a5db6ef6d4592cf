/**
 * Which Groth16 backend a worker uses when none is named: the native prover when native/ built
 * (`npm ci` builds it), snarkjs otherwise — said once per process, with what the fallback costs.
 */
import { nativeAddon, nativeStatus } from "../core/native";
import { NATIVE_BACKEND, SNARKJS_BACKEND, type ProverBackend } from "./types";

export type LogFn = (o: object) => void;

let fallbackReported = false;

/** What the snarkjs fallback costs, from docs/PERFORMANCE.md (default batch, 2 cores). */
export const FALLBACK_COST = "snarkjs proves about 8x slower and needs about 4x the memory of the native prover (docs/PERFORMANCE.md, default batch on 2 cores)";

export function nativeProverAvailable(): boolean {
  return nativeAddon() !== null;
}

/** NATIVE_BACKEND when the addon loads; otherwise SNARKJS_BACKEND and, the first time, a warning through `log`. */
export function defaultBackend(log?: LogFn): ProverBackend {
  if (nativeProverAvailable()) return NATIVE_BACKEND;
  if (!fallbackReported) {
    fallbackReported = true;
    const line = { msg: "prover.backend.fallback", level: "warn", backend: "snarkjs", reason: nativeStatus().reason, cost: FALLBACK_COST, fix: "install a C++ toolchain (g++, make, python3) and run `npm run build:native`" };
    if (log) log(line);
    else process.stderr.write(JSON.stringify({ t: new Date().toISOString(), ...line }) + "\n");
  }
  return SNARKJS_BACKEND;
}

/** Threads for each of `workers` native workers on `cpus` cores when the backend says 0 (all): the cores shared out. */
export function threadsPerWorker(cpus: number, workers: number): number {
  return Math.max(1, Math.floor(cpus / Math.max(1, workers)));
}
