/**
 * Poseidon over BN254 with 1..16 inputs: circomlib's function. Computed by the native addon
 * (native/src/poseidon.cpp) when it is loaded, else by poseidon-lite; the two give the same results.
 *
 * Inputs are bigints, taken as poseidon-lite takes them:
 *   - in [0, r): the hash of the field elements;
 *   - ≥ r: reduced mod r (poseidon-lite reduces every round), so x and x + r hash alike;
 *   - negative, or anything that is not a bigint: poseidon-lite itself (it converts with BigInt(), so a
 *     number or a numeric string works and anything else throws; a negative input gives a result
 *     congruent to the hash of its residue, possibly negative). The native hash answers null for these
 *     and they go to poseidon-lite, so their behaviour is poseidon-lite's by construction.
 * An unsupported input count throws `poseidon: unsupported input count N`.
 *
 * The native hash needs poseidon-lite's round constants and MDS matrix, handed over once per arity on
 * first use (poseidonInit; a millisecond or so for small arities, ~60 ms for 16 inputs). A batched entry
 * point (one call per Merkle path) would not pay: a call costs ~0.2 µs against ~17 µs for one 2-input hash.
 */
import * as path from "node:path";
import * as lite from "poseidon-lite";
import { nativeAddon } from "./native";

type PoseidonFn = (inputs: bigint[]) => bigint;
const byArity: PoseidonFn[] = [];
for (let n = 1; n <= 16; n++) byArity[n] = (lite as unknown as Record<string, PoseidonFn>)[`poseidon${n}`];

type NativePoseidon = (inputs: readonly bigint[]) => bigint | null;

/** Native hash per arity once its constants are in the addon; null until then, undefined = not yet tried. */
const nativeByArity: (NativePoseidon | null | undefined)[] = [];

/** poseidon-lite's tables for `inputs` inputs: round constants C ((8 + RP)·t) and the t × t MDS matrix M. */
export function poseidonLiteConstants(inputs: number): { C: bigint[]; M: bigint[][] } {
  // Not in poseidon-lite's export map: loaded by file path (the same modules its poseidonN functions use).
  const dir = path.dirname(require.resolve("poseidon-lite"));
  /* eslint-disable @typescript-eslint/no-require-imports */
  const unstringify = (require(path.join(dir, "poseidon", "unstringify.js")) as { default: (o: unknown) => unknown }).default;
  const raw = (require(path.join(dir, "constants", `${inputs}.js`)) as { default: unknown }).default;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return unstringify(raw) as { C: bigint[]; M: bigint[][] };
}

/**
 * The native Poseidon for `inputs` inputs (1..16), initializing the addon's tables on first use, or null
 * when the addon is not available (the JS fallback is then used).
 */
export function nativePoseidon(inputs: number): NativePoseidon | null {
  const known = nativeByArity[inputs];
  if (known !== undefined) return known;
  const addon = nativeAddon();
  let fn: NativePoseidon | null = null;
  if (addon && typeof addon.poseidonInit === "function" && byArity[inputs]) {
    const { C, M } = poseidonLiteConstants(inputs);
    addon.poseidonInit(inputs, C, M.flat());
    const hash = addon.poseidon;
    fn = (x) => hash(x);
  }
  nativeByArity[inputs] = fn;
  return fn;
}

export function poseidon(inputs: readonly bigint[]): bigint {
  const n = inputs.length;
  const fn = byArity[n];
  if (!fn) throw new Error(`poseidon: unsupported input count ${n}`);
  const native = nativeByArity[n] === undefined ? nativePoseidon(n) : nativeByArity[n];
  if (native) {
    const h = native(inputs);
    if (h !== null) return h;
  }
  return fn(inputs as bigint[]);
}

/** poseidon-lite alone (the JavaScript path), for tests and benchmarks. */
export function poseidonJs(inputs: readonly bigint[]): bigint {
  const fn = byArity[inputs.length];
  if (!fn) throw new Error(`poseidon: unsupported input count ${inputs.length}`);
  return fn(inputs as bigint[]);
}
