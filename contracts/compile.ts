/**
 * Compiles contracts/*.sol (plus extra sources, e.g. a snarkjs Groth16 verifier) with solc-js.
 * Output is cached under build/contracts/<sha256(solc version, settings, sources)>.json.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Abi, Hex } from "viem";

export interface CompiledContract {
  readonly abi: Abi;
  /** Creation bytecode (0x-prefixed). */
  readonly bytecode: Hex;
  /** Runtime bytecode (0x-prefixed); its length is the EIP-170 size. */
  readonly deployedBytecode: Hex;
  /** Source unit the contract came from. */
  readonly sourceName: string;
}

/**
 * Contract name → artifact, and "<source unit>:<contract name>" → artifact for every contract. A name
 * defined in several source units (e.g. each snarkjs verifier's `Groth16Verifier`) has only its
 * qualified entries: artifact() says which to pick.
 */
export type CompiledContracts = Readonly<Record<string, CompiledContract>>;

export interface CompileOptions {
  /** Directory whose *.sol files are always compiled (default: this folder, contracts/). */
  readonly contractsDir?: string;
  /** Cache directory (default build/contracts at the repository root); null disables the cache. */
  readonly cacheDir?: string | null;
  readonly log?: (msg: string) => void;
}

export const REPO_ROOT = resolve(__dirname, "..");
export const SOLC_SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: "cancun",
  viaIR: false,
  outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
} as const;

interface SolcModule {
  version(): string;
  compile(input: string, callbacks?: { import: (path: string) => { contents: string } | { error: string } }): string;
}

interface SolcError {
  severity: "error" | "warning" | "info";
  formattedMessage?: string;
  message: string;
}

interface SolcOutput {
  errors?: SolcError[];
  contracts?: Record<
    string,
    Record<string, { abi: Abi; evm: { bytecode: { object: string }; deployedBytecode: { object: string } } }>
  >;
}

let solcModule: SolcModule | undefined;
/** solc-js is large; load it only on a cache miss. */
function loadSolc(): SolcModule {
  solcModule ??= require("solc") as SolcModule;
  return solcModule;
}

/** The solc-js version string compiled into the package (no download). */
export function solcVersion(): string {
  return (require("solc/package.json") as { version: string }).version;
}

/** Reads every *.sol of `dir` as { "contracts/<file>": source }. */
export function readContractSources(dir: string = __dirname): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir).filter((f) => f.endsWith(".sol")).sort()) {
    out[`contracts/${f}`] = readFileSync(join(dir, f), "utf8");
  }
  return out;
}

/**
 * Compiles contracts/*.sol together with `extraSources` (source unit name → Solidity text;
 * e.g. { "Verifier.sol": readFileSync(".modex/keys/<hash>/Verifier.sol", "utf8") }).
 * Returns { abi, bytecode } per contract name and per qualified name "<source unit>:<name>"; throws
 * on compiler errors. Two contracts of the same name in different units are found by qualified name only.
 */
export function compileContracts(
  extraSources: Readonly<Record<string, string>> = {},
  opts: CompileOptions = {},
): CompiledContracts {
  const sources: Record<string, string> = { ...readContractSources(opts.contractsDir), ...extraSources };
  const names = Object.keys(sources).sort();
  const key = createHash("sha256")
    .update(JSON.stringify({ solc: solcVersion(), settings: SOLC_SETTINGS, sources: names.map((n) => [n, sources[n]]), format: 2 }))
    .digest("hex");

  const cacheDir = opts.cacheDir === undefined ? join(REPO_ROOT, "build", "contracts") : opts.cacheDir;
  const cacheFile = cacheDir === null ? null : join(cacheDir, `${key}.json`);
  if (cacheFile && existsSync(cacheFile)) {
    try {
      return JSON.parse(readFileSync(cacheFile, "utf8")) as CompiledContracts;
    } catch {
      // corrupt cache entry: recompile
    }
  }

  const t0 = Date.now();
  const solc = loadSolc();
  const input = {
    language: "Solidity",
    sources: Object.fromEntries(names.map((n) => [n, { content: sources[n] }])),
    settings: SOLC_SETTINGS,
  };
  const findImports = (path: string): { contents: string } | { error: string } => {
    const p = resolve(REPO_ROOT, path);
    if (!p.startsWith(REPO_ROOT) || !existsSync(p)) return { error: `import not found: ${path}` };
    return { contents: readFileSync(p, "utf8") };
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports })) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length > 0) {
    throw new Error(`solc ${solc.version()} failed:\n${errors.map((e) => e.formattedMessage ?? e.message).join("\n")}`);
  }

  const result: Record<string, CompiledContract> = {};
  const ambiguous = new Set<string>();
  for (const [sourceName, contracts] of Object.entries(output.contracts ?? {})) {
    for (const [name, c] of Object.entries(contracts)) {
      const a: CompiledContract = {
        abi: c.abi,
        bytecode: `0x${c.evm.bytecode.object}`,
        deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
        sourceName,
      };
      result[`${sourceName}:${name}`] = a;
      if (result[name] || ambiguous.has(name)) ambiguous.add(name);
      else result[name] = a;
    }
  }
  for (const name of ambiguous) delete result[name];
  opts.log?.(`compiled ${names.length} sources with solc ${solc.version()} in ${Date.now() - t0} ms`);

  if (cacheFile && cacheDir) {
    mkdirSync(cacheDir, { recursive: true });
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(result));
    renameSync(tmp, cacheFile); // atomic: parallel test workers may compile the same set
  }
  return result;
}

/** The artifact of `name` ("Name" or "<source unit>:Name"), or a clear error listing what was compiled. */
export function artifact(contracts: CompiledContracts, name: string): CompiledContract {
  const c = contracts[name];
  if (c) return c;
  const qualified = Object.keys(contracts).filter((k) => k.endsWith(`:${name}`));
  if (qualified.length > 1) throw new Error(`contract name ${name} is defined in several source units: name one of ${qualified.join(", ")}`);
  throw new Error(`contract ${name} not compiled (have: ${Object.keys(contracts).filter((k) => !k.includes(":")).join(", ")})`);
}
