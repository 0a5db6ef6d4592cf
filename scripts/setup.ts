/**
 * Circuit build + Groth16 trusted setup.
 *
 *   npx tsx scripts/setup.ts [--config test|default|production] [--ptau FILE [--beacon HEX]]
 *   npx tsx scripts/setup.ts --circuit FILE.circom [--ptau FILE]
 *   npx tsx scripts/setup.ts --bench-fixture [CONSTRAINTS] [--bench-prove]
 *
 * Progress: one JSON object per line on stderr. Result: one JSON object on stdout (a config of several
 * batch shapes: an array, one object per shape).
 */
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { batchCircuitName, batchCircuitSource } from "../circuits/batch";
import { CompiledCircuit, compileCircuit, LogFn, REPO_ROOT, stderrJsonLog } from "../circuits/compile";
import { configByName, shapesOf, withShape } from "../core/params";
import { writeDevZkey } from "../prover/devzkey";
import { defaultThreads } from "../prover/devzkey_fixedbase";
import { ensureKeys, releaseSnarkjsCurve } from "../prover/keys";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const snarkjs = require("snarkjs");

const USAGE = `Usage: npx tsx scripts/setup.ts [options]

Builds a circuit and its Groth16 keys (.modex/keys/<circuitHash>/: circuit_final.zkey,
verification_key.json, Verifier.sol, manifest.json). Existing complete keys are reused.

Circuit (one of):
  --config NAME        Modex batch circuits for a parameter set, one per batch shape: test | default | production
                       (default: $MODEX_CONFIG, else "default")
  --circuit FILE       any circom 2 main file (includes resolve against circuits/ and node_modules/)

Keys:
  --ptau FILE          prepared powers-of-tau file from a public ceremony (production keys).
                       Without it a FAST, INSECURE development setup is run.
  --beacon HEX         apply a random beacon after the contribution (with --ptau)
  --keys-dir DIR       key root directory (default: .modex/keys)
  --threads N          worker threads for the development setup (default: CPU count)

Benchmark:
  --bench-fixture [N]  time the development setup on a Poseidon-chain circuit with about N
                       constraints (default 200000); keys go to a temporary file
  --bench-prove        with --bench-fixture: also prove and verify once with snarkjs

  -h, --help           show this help
`;

class UsageError extends Error {}

interface Cli {
  config?: string;
  circuit?: string;
  ptau?: string;
  beacon?: string;
  keysDir?: string;
  threads?: number;
  bench?: number;
  benchProve: boolean;
  help: boolean;
}

function parseCli(argv: string[]): Cli {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: "string" },
        circuit: { type: "string" },
        ptau: { type: "string" },
        beacon: { type: "string" },
        "keys-dir": { type: "string" },
        threads: { type: "string" },
        "bench-fixture": { type: "boolean" },
        "bench-prove": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const v = parsed.values;
  const pos = parsed.positionals;
  let bench: number | undefined;
  if (v["bench-fixture"]) {
    bench = 200_000;
    if (pos.length > 0) bench = Number(pos.shift());
    if (!Number.isInteger(bench) || bench < 1000 || bench > 4_000_000) throw new UsageError("--bench-fixture N: N must be an integer in [1000, 4000000]");
  }
  if (pos.length > 0) throw new UsageError(`unexpected argument: ${pos[0]}`);
  let threads: number | undefined;
  if (v.threads !== undefined) {
    threads = Number(v.threads);
    if (!Number.isInteger(threads) || threads < 1 || threads > 64) throw new UsageError("--threads must be an integer in [1, 64]");
  }
  const cli: Cli = {
    config: v.config,
    circuit: v.circuit,
    ptau: v.ptau,
    beacon: v.beacon,
    keysDir: v["keys-dir"],
    threads,
    bench,
    benchProve: v["bench-prove"] ?? false,
    help: v.help ?? false,
  };
  if ([cli.config !== undefined, cli.circuit !== undefined, cli.bench !== undefined].filter(Boolean).length > 1) {
    throw new UsageError("choose one of --config, --circuit, --bench-fixture");
  }
  if (cli.beacon !== undefined && cli.ptau === undefined) throw new UsageError("--beacon needs --ptau");
  if (cli.bench !== undefined && cli.ptau !== undefined) throw new UsageError("--bench-fixture times the development setup; it takes no --ptau");
  if (cli.benchProve && cli.bench === undefined) throw new UsageError("--bench-prove needs --bench-fixture");
  return cli;
}

/** The circuit of --circuit, or one per batch shape of --config (PROTOCOL.md §5.5, the config's own slot counts first). */
async function circuitsFromCli(cli: Cli, log: LogFn): Promise<CompiledCircuit[]> {
  if (cli.circuit !== undefined) {
    const file = path.resolve(cli.circuit);
    const src = await fsp.readFile(file, "utf8").catch(() => {
      throw new UsageError(`cannot read circuit file ${cli.circuit}`);
    });
    const name = path.basename(file).replace(/\.circom$/, "").replace(/[^A-Za-z0-9_.-]/g, "_") || "circuit";
    return [await compileCircuit({ name, mainSource: src, log })];
  }
  const configName = cli.config ?? process.env.MODEX_CONFIG ?? "default";
  let params;
  try {
    params = configByName(configName);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const circuits: CompiledCircuit[] = [];
  for (const shape of shapesOf(params)) {
    const q = withShape(params, shape);
    circuits.push(await compileCircuit({ name: batchCircuitName(q), mainSource: batchCircuitSource(q), log }));
  }
  return circuits;
}

/** A chain of Poseidon(2) hashes: ~243 constraints each after --O2. */
export function benchFixtureSource(constraints: number): string {
  const n = Math.max(1, Math.round(constraints / 243));
  return `pragma circom 2.0.0;
include "circomlib/circuits/poseidon.circom";
template PoseidonChain(n) {
    signal input x;
    signal input k;
    signal output y;
    signal s[n + 1];
    component h[n];
    s[0] <== x;
    for (var i = 0; i < n; i++) {
        h[i] = Poseidon(2);
        h[i].inputs[0] <== s[i];
        h[i].inputs[1] <== k;
        s[i + 1] <== h[i].out;
    }
    y <== s[n];
}
component main {public [x]} = PoseidonChain(${n});
`;
}

async function runBench(cli: Cli, log: LogFn): Promise<object> {
  const tCompile = performance.now();
  const c = await compileCircuit({ name: `bench-poseidon-${cli.bench}`, mainSource: benchFixtureSource(cli.bench ?? 200_000), log });
  const compileSeconds = (performance.now() - tCompile) / 1000;
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), "modex-bench-"));
  try {
    const zkey = path.join(tmp, "bench.zkey");
    const r = await writeDevZkey(c.r1csPath, zkey, { log, threads: cli.threads });
    const t = performance.now();
    const vkey = await snarkjs.zKey.exportVerificationKey(zkey);
    const exportVkeySeconds = (performance.now() - t) / 1000;
    const result: Record<string, unknown> = {
      circuit: c.name,
      constraints: c.constraints,
      nVars: r.nVars,
      domainSize: r.domainSize,
      threads: cli.threads ?? defaultThreads(),
      compileSeconds: Math.round(compileSeconds * 1000) / 1000,
      devSetupSeconds: r.timings,
      exportVkeySeconds: Math.round(exportVkeySeconds * 1000) / 1000,
    };
    if (cli.benchProve) {
      const tp = performance.now();
      const { proof, publicSignals } = await snarkjs.groth16.fullProve({ x: 7, k: 11 }, c.wasmPath, zkey);
      result.proveSeconds = Math.round(performance.now() - tp) / 1000;
      const ok = await snarkjs.groth16.verify(vkey, publicSignals, proof);
      result.verified = ok;
      if (!ok) throw new Error("bench: proof with the development key did not verify");
    }
    return result;
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  const log: LogFn = stderrJsonLog;
  let cli: Cli;
  try {
    cli = parseCli(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`setup: ${e.message}\nRun with --help for usage.\n`);
      return 2;
    }
    throw e;
  }
  if (cli.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    if (cli.bench !== undefined) {
      const res = await runBench(cli, log);
      process.stdout.write(JSON.stringify(res, null, 2) + "\n");
      return 0;
    }
    const results = [];
    for (const c of await circuitsFromCli(cli, log)) {
      const keys = await ensureKeys(c, { ptau: cli.ptau, beacon: cli.beacon, keysRoot: cli.keysDir, threads: cli.threads, log });
      results.push({
          circuit: c.name,
          circuitHash: c.circuitHash,
          constraints: c.constraints,
          nPublic: c.nPublic,
          source: keys.manifest.source,
          insecure: keys.manifest.insecure,
          dir: path.relative(REPO_ROOT, keys.dir) || keys.dir,
          zkey: keys.zkeyPath,
          vkey: keys.vkeyPath,
          verifier: keys.verifierPath,
          timings: keys.manifest.timings,
      });
    }
    // One circuit: its object; a config of several shapes: one object per shape, in order.
    process.stdout.write(JSON.stringify(results.length === 1 ? results[0] : results, null, 2) + "\n");
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`setup: ${e.message}\nRun with --help for usage.\n`);
      return 2;
    }
    log({ level: "error", msg: "setup.failed", error: (e as Error).message });
    process.stderr.write(`setup failed: ${(e as Error).message}\n`);
    return 1;
  } finally {
    await releaseSnarkjsCurve();
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`setup: ${(e as Error).stack ?? e}\n`);
      process.exit(1);
    },
  );
}
