/**
 * EdDSA-Poseidon signature verification on one core (one Node thread, nothing in parallel):
 * core/eddsa-fast.ts against circomlibjs' verifyPoseidon (called as core/eddsa.ts called it before).
 *
 *   native, nativeHotKey  the same two loops as fast and fastHotKey through the native addon (verifyFast
 *               when native/ is built; null otherwise)
 *   fast        the JavaScript path (verifyFastJs, noble): `pool` distinct keys in round robin with the key cache off: every verification pays
 *               the full variable-base multiplication (the cold-key case; the default N = 2 000).
 *   fastHotKey  one key, `pool` messages, the key already holding its window table (a market maker
 *               signing many orders; N = 2 000).
 *   circomlibjs the same signatures as `fast` (N = 50).
 *
 * Signatures come from core's signMessage (circomlibjs) before the clock starts; each verification is
 * timed alone for the latency percentiles, and the rate is N over the loop's wall time. Every one must
 * verify. A short untimed warm-up precedes each loop.
 *
 *   npx tsx bench/eddsa.ts [--fast 2000] [--circomlibjs 50] [--pool 64]
 */
import * as os from "node:os";
import { parseArgs } from "node:util";
import { buildEddsa } from "circomlibjs";
import { FIELD_MODULUS } from "../core/field";
import { initCrypto, generatePrivateKey, publicKeyOf, signMessage, type PublicKey, type Signature } from "../core/eddsa";
import { verifyFast, verifyFastJs, fastVerifierIsNative, configureFastVerifier, clearKeyCache, warmUpFastVerifier } from "../core/eddsa-fast";

export interface RateResult {
  readonly n: number;
  readonly verificationsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface EddsaBenchResult {
  /** The native addon (null when it is not loaded): cold keys, and one hot key. */
  readonly native: RateResult | null;
  readonly nativeHotKey: RateResult | null;
  /** native / fast verifications per second (cold keys). */
  readonly nativeSpeedup: number | null;
  /** The JavaScript fast path (verifyFastJs). */
  readonly fast: RateResult;
  readonly fastHotKey: RateResult;
  readonly circomlibjs: RateResult;
  /** fast / circomlibjs verifications per second. */
  readonly speedup: number;
  /** One-off costs: the Base8 table (first verification in a process), and the first verification that tables a hot key. */
  readonly oneOffMs: { readonly base8Table: number; readonly verifyAndTableKey: number };
  readonly pool: number;
  readonly machine: { readonly cpuModel: string; readonly cpus: number; readonly node: string };
}

export interface EddsaBenchOptions {
  nFast?: number;
  nCircomlibjs?: number;
  /** Distinct keys (and messages of the hot key) signed up front. */
  pool?: number;
}

interface Item {
  readonly m: bigint;
  readonly sig: Signature;
  readonly pub: PublicKey;
}

function randomMessage(): bigint {
  return BigInt(generatePrivateKey()) % FIELD_MODULUS;
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

const round = (x: number, digits: number): number => Number(x.toFixed(digits));

function timeLoop(n: number, items: readonly Item[], verify: (it: Item) => boolean, warmUp: number): RateResult {
  for (let i = 0; i < warmUp; i++) if (!verify(items[i % items.length])) throw new Error("bench/eddsa: a valid signature did not verify");
  const lat = new Array<number>(n);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const ok = verify(items[i % items.length]);
    lat[i] = performance.now() - t;
    if (!ok) throw new Error("bench/eddsa: a valid signature did not verify");
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  lat.sort((a, b) => a - b);
  return {
    n,
    verificationsPerSec: Math.round(n / seconds),
    p50Ms: round(percentile(lat, 0.5), 3),
    p99Ms: round(percentile(lat, 0.99), 3),
    maxMs: round(lat[n - 1], 3),
  };
}

export async function benchEddsa(opts: EddsaBenchOptions = {}): Promise<EddsaBenchResult> {
  const nFast = opts.nFast ?? 2000;
  const nCircomlibjs = opts.nCircomlibjs ?? 50;
  const pool = opts.pool ?? 64;
  if (![nFast, nCircomlibjs, pool].every((x) => Number.isInteger(x) && x > 0)) throw new RangeError("counts must be positive integers");

  await initCrypto();
  /* eslint-disable @typescript-eslint/no-explicit-any */
  const e: any = await buildEddsa();
  const F = e.F;

  const distinct: Item[] = [];
  for (let i = 0; i < pool; i++) {
    const priv = generatePrivateKey();
    const m = randomMessage();
    distinct.push({ m, sig: signMessage(priv, m), pub: publicKeyOf(priv) });
  }
  const hotPriv = generatePrivateKey();
  const hotPub = publicKeyOf(hotPriv);
  const hot: Item[] = [];
  for (let i = 0; i < pool; i++) {
    const m = randomMessage();
    hot.push({ m, sig: signMessage(hotPriv, m), pub: hotPub });
  }

  const previous = configureFastVerifier({});
  try {
    let native: RateResult | null = null;
    let nativeHotKey: RateResult | null = null;
    if (fastVerifierIsNative()) {
      warmUpFastVerifier();
      configureFastVerifier({ keyCacheSize: 0 });
      const nativeVerify = (it: Item): boolean => verifyFast(it.m, it.sig, it.pub);
      native = timeLoop(nFast, distinct, nativeVerify, Math.min(200, nFast));
      clearKeyCache();
      configureFastVerifier({ keyCacheSize: 16, promoteAfter: 1 });
      if (!nativeVerify(hot[0])) throw new Error("bench/eddsa: a valid signature did not verify");
      nativeHotKey = timeLoop(nFast, hot, nativeVerify, Math.min(200, nFast));
      clearKeyCache();
    }

    const fastVerify = (it: Item): boolean => verifyFastJs(it.m, it.sig, it.pub);
    let t = performance.now();
    if (!fastVerify(distinct[0])) throw new Error("bench/eddsa: a valid signature did not verify"); // builds the JS Base8 table
    const base8Table = performance.now() - t;

    configureFastVerifier({ keyCacheSize: 0 });
    const fast = timeLoop(nFast, distinct, fastVerify, Math.min(200, nFast));

    clearKeyCache();
    configureFastVerifier({ keyCacheSize: 16, promoteAfter: 1 });
    t = performance.now();
    if (!fastVerify(hot[0])) throw new Error("bench/eddsa: a valid signature did not verify");
    const verifyAndTableKey = performance.now() - t;
    const fastHotKey = timeLoop(nFast, hot, fastVerify, Math.min(200, nFast));

    const circomlibjs = timeLoop(
      nCircomlibjs,
      distinct,
      (it) => e.verifyPoseidon(F.e(it.m), { R8: [F.e(it.sig.r8x), F.e(it.sig.r8y)], S: it.sig.s }, [F.e(it.pub.ax), F.e(it.pub.ay)]),
      Math.min(3, nCircomlibjs),
    );

    return {
      native,
      nativeHotKey,
      nativeSpeedup: native ? round(native.verificationsPerSec / fast.verificationsPerSec, 1) : null,
      fast,
      fastHotKey,
      circomlibjs,
      speedup: round(fast.verificationsPerSec / circomlibjs.verificationsPerSec, 1),
      oneOffMs: { base8Table: round(base8Table, 1), verifyAndTableKey: round(verifyAndTableKey, 1) },
      pool,
      machine: { cpuModel: os.cpus()[0]?.model ?? "unknown", cpus: os.cpus().length, node: process.version },
    };
  } finally {
    configureFastVerifier(previous);
    clearKeyCache();
  }
}

if (require.main === module) {
  const { values } = parseArgs({
    options: { fast: { type: "string", default: "2000" }, circomlibjs: { type: "string", default: "50" }, pool: { type: "string", default: "64" } },
  });
  benchEddsa({ nFast: Number(values.fast), nCircomlibjs: Number(values.circomlibjs), pool: Number(values.pool) }).then(
    (r) => process.stdout.write(JSON.stringify(r, null, 2) + "\n"),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
