/**
 * Poseidon hashes per second on one core: the native addon (core/poseidon.ts' default when built) against
 * poseidon-lite, for 2 inputs (the account/balance tree nodes), 5 (EdDSA's hm) and 16 (the widest).
 * Inputs are random field elements drawn before the clock starts; each rate is N over the loop's wall
 * time after a short untimed warm-up. `native` is null when the addon is not loaded.
 *
 *   npx tsx bench/poseidon.ts [--n 20000]
 */
import * as os from "node:os";
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { FIELD_MODULUS } from "../core/field";
import { nativePoseidon, poseidonJs } from "../core/poseidon";

export interface PoseidonArityResult {
  readonly inputs: number;
  readonly nativeHashesPerSec: number | null;
  readonly poseidonLiteHashesPerSec: number;
  /** native / poseidon-lite. */
  readonly speedup: number | null;
  /** One-off: handing poseidon-lite's constants to the addon and deriving its schedule. */
  readonly nativeInitMs: number | null;
}

export interface PoseidonBenchResult {
  readonly arities: readonly PoseidonArityResult[];
  readonly n: { readonly native: number; readonly poseidonLite: number };
  readonly machine: { readonly cpuModel: string; readonly cpus: number; readonly node: string };
}

const round = (x: number, digits: number): number => Number(x.toFixed(digits));

function rate(n: number, pool: readonly bigint[][], hash: (x: readonly bigint[]) => bigint): number {
  for (let i = 0; i < Math.min(n, 200); i++) hash(pool[i % pool.length]);
  const t0 = process.hrtime.bigint();
  let sink = 0n;
  for (let i = 0; i < n; i++) sink ^= hash(pool[i % pool.length]);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (sink < 0n) throw new Error("unreachable");
  return Math.round(n / seconds);
}

export function benchPoseidon(opts: { n?: number; arities?: readonly number[] } = {}): PoseidonBenchResult {
  const nNative = opts.n ?? 20_000;
  const nLite = Math.max(1, Math.round(nNative / 10));
  const arities: PoseidonArityResult[] = [];
  for (const inputs of opts.arities ?? [2, 5, 16]) {
    const pool = Array.from({ length: 64 }, () => Array.from({ length: inputs }, () => BigInt("0x" + randomBytes(40).toString("hex")) % FIELD_MODULUS));
    const t = performance.now();
    const native = nativePoseidon(inputs);
    const nativeInitMs = native ? round(performance.now() - t, 1) : null;
    for (const x of pool) if (native && native(x) !== poseidonJs(x)) throw new Error(`bench/poseidon: native and poseidon-lite differ for ${inputs} inputs`);
    const nativeRate = native ? rate(nNative, pool, (x) => native(x) as bigint) : null;
    const liteRate = rate(nLite, pool, poseidonJs);
    arities.push({
      inputs,
      nativeHashesPerSec: nativeRate,
      poseidonLiteHashesPerSec: liteRate,
      speedup: nativeRate === null ? null : round(nativeRate / liteRate, 1),
      nativeInitMs,
    });
  }
  return {
    arities,
    n: { native: nNative, poseidonLite: nLite },
    machine: { cpuModel: os.cpus()[0]?.model ?? "unknown", cpus: os.cpus().length, node: process.version },
  };
}

if (require.main === module) {
  const { values } = parseArgs({ options: { n: { type: "string", default: "20000" } } });
  process.stdout.write(JSON.stringify(benchPoseidon({ n: Number(values.n) }), null, 2) + "\n");
}
