/**
 * The native addon (native/, built by `npm ci` through scripts/build-native.js): the Groth16 prover and
 * native hashing. Loaded once, lazily; null when the build failed or was skipped, or MODEX_NATIVE=off,
 * in which case every caller falls back to its JavaScript path (same results, slower).
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** A Groth16 proof and its public signals, each as snarkjs' JSON text. */
export interface NativeProofText {
  readonly proof: string;
  readonly publicSignals: string;
}

export interface NativeAddon {
  /**
   * Proves with the snarkjs proving key at `zkeyPath` and a circom witness file's bytes (.wtns), on
   * `threads` threads (0: all cores). Rejects with an Error whose message starts with "zkey:",
   * "wtns:" or "prove:" on malformed or mismatched inputs.
   */
  groth16Prove(zkeyPath: string, wtns: Uint8Array, threads: number): Promise<NativeProofText>;
  /** Cores the prover uses when asked for 0 threads, and whether the BMI2/ADX multiplication was compiled in. */
  proverInfo(): { readonly defaultThreads: number; readonly adx: boolean };
  // ---- hashing (native/src/addon_hash.cpp): core/poseidon.ts and core/eddsa-fast.ts call these.
  /**
   * Hands poseidon-lite's tables for `inputs` (1..16) inputs to the addon: C, the (8 + RP)·t round
   * constants, and M, the t × t MDS matrix row-major (t = inputs + 1), bigints in [0, r). Once per arity
   * per process (later calls are no-ops). Throws on malformed tables.
   */
  poseidonInit(inputs: number, C: readonly bigint[], M: readonly bigint[]): boolean;
  /**
   * circomlib's Poseidon of 1..16 inputs (throws if that arity has no poseidonInit). Inputs in [0, 2^256)
   * are taken mod r; null if the argument is not an array or an input is negative, ≥ 2^256 or not a
   * bigint (core/poseidon.ts then asks poseidon-lite, which defines those cases).
   */
  poseidon(inputs: readonly bigint[]): bigint | null;
  /**
   * core/eddsa-fast.ts' verification (same accepted set; false for non-bigints, never throws for bad
   * inputs). Needs poseidonInit(5). Uses this thread's key cache (eddsaConfigure).
   */
  eddsaVerify(message: unknown, r8x: unknown, r8y: unknown, s: unknown, ax: unknown, ay: unknown): boolean;
  /** This thread's key cache: size (0 disables it) and the successful verifications that table a key. */
  eddsaConfigure(keyCacheSize: number, promoteAfter: number): void;
  eddsaClearKeys(): void;
  eddsaKeyStats(): { entries: number; tables: number };
  /** Builds the Base8 table (once per process) now rather than on the first verification. */
  eddsaWarmUp(): void;
  /** Other entries of a newer build. */
  readonly [name: string]: unknown;
}

export interface NativeStatus {
  readonly available: boolean;
  /** Why it is not available (build failure, MODEX_NATIVE=off, load error). */
  readonly reason?: string;
}

const ADDON_PATH = path.join(__dirname, "..", "native", "build", "Release", "modex_native.node");
const STATUS_PATH = path.join(__dirname, "..", "native", "build", "status.json");

let loaded: { addon: NativeAddon | null; status: NativeStatus } | null = null;

function load(): { addon: NativeAddon | null; status: NativeStatus } {
  if (loaded) return loaded;
  if ((process.env.MODEX_NATIVE ?? "").toLowerCase() === "off") {
    loaded = { addon: null, status: { available: false, reason: "disabled by MODEX_NATIVE=off" } };
    return loaded;
  }
  if (!fs.existsSync(ADDON_PATH)) {
    let reason = "not built (run `npm run build:native`)";
    try {
      const s = JSON.parse(fs.readFileSync(STATUS_PATH, "utf8")) as { ok?: boolean; reason?: string };
      if (s.ok === false && s.reason) reason = `the native build failed at install: ${s.reason} (see native/build/status.json)`;
    } catch {
      // no status file: never built
    }
    loaded = { addon: null, status: { available: false, reason } };
    return loaded;
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const addon = require(ADDON_PATH) as NativeAddon;
    loaded = { addon, status: { available: true } };
  } catch (e) {
    loaded = { addon: null, status: { available: false, reason: `cannot load ${ADDON_PATH}: ${(e as Error).message}` } };
  }
  return loaded;
}

/** The addon, or null when Modex runs on its JavaScript fallbacks. */
export function nativeAddon(): NativeAddon | null {
  return load().addon;
}

export function nativeStatus(): NativeStatus {
  return load().status;
}

/** Path of the standalone prover executable (rapidsnark's command convention), or null when not built. */
export function nativeProverExecutable(): string | null {
  const p = path.join(__dirname, "..", "native", "build", "Release", "modex-prover");
  return fs.existsSync(p) ? p : null;
}
