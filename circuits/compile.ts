/**
 * Circuit build: writes a circom 2 main program under build/circuits/<name>-<hash>/,
 * compiles it with the circom2 WebAssembly compiler (--r1cs --wasm --sym --O2) and
 * caches the result by circuit hash.
 *
 * circuitHash = sha256 over (framed) mainSource, every .circom file under <repo>/circuits
 * (recursively, sorted by path), the circomlib version, the circom2 version and the
 * compiler flags. Any change to a template, the compiler or the library gives new keys.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as path from "node:path";

export type LogFn = (o: object) => void;

export interface CompiledCircuit {
  /** Logical name, e.g. "batch-test". */
  name: string;
  /** Absolute build directory build/circuits/<name>-<hash>. */
  dir: string;
  r1csPath: string;
  wasmPath: string;
  symPath: string;
  /** Hex sha256, see module comment. */
  circuitHash: string;
  /** Number of R1CS constraints (after --O2 simplification). */
  constraints: number;
  /** Public signals (outputs + public inputs), not counting the constant ONE. */
  nPublic: number;
}

export interface CompileOptions {
  name: string;
  /** Complete circom 2 program (pragma, includes, `component main ...`). */
  mainSource: string;
  /** Defaults to <repo>/build/circuits. */
  buildRoot?: string;
  log?: LogFn;
}

/** Header of an .r1cs file (section 1). */
export interface R1csInfo {
  n8: number;
  prime: bigint;
  nVars: number;
  nOutputs: number;
  nPubInputs: number;
  nPrvInputs: number;
  nLabels: bigint;
  nConstraints: number;
}

export const REPO_ROOT: string = path.resolve(__dirname, "..");
const CIRCUITS_DIR = path.join(REPO_ROOT, "circuits");
const NODE_MODULES = path.join(REPO_ROOT, "node_modules");
const COMPILER_FLAGS = ["--r1cs", "--wasm", "--sym", "--O2"] as const;
const META_FILE = "meta.json";

/** Default log sink: one JSON object per line on stderr. */
export const stderrJsonLog: LogFn = (o: object): void => {
  process.stderr.write(JSON.stringify({ t: new Date().toISOString(), level: "info", ...o }) + "\n");
};

export async function compileCircuit(opts: CompileOptions): Promise<CompiledCircuit> {
  const log = opts.log ?? stderrJsonLog;
  if (!/^[A-Za-z0-9_.-]+$/.test(opts.name)) throw new Error(`invalid circuit name ${JSON.stringify(opts.name)}`);
  const buildRoot = path.resolve(opts.buildRoot ?? path.join(REPO_ROOT, "build", "circuits"));
  const circuitHash = await computeCircuitHash(opts.mainSource);
  const dir = path.join(buildRoot, `${opts.name}-${circuitHash}`);

  const cached = await readCachedBuild(dir, opts.name, circuitHash);
  if (cached) {
    log({ msg: "compile.cached", name: opts.name, circuitHash, dir, constraints: cached.constraints });
    return cached;
  }

  // Compile into a private temporary directory, then rename: concurrent builds never see half outputs.
  await fsp.mkdir(buildRoot, { recursive: true });
  const tmp = await fsp.mkdtemp(path.join(buildRoot, `.tmp-${opts.name}-`));
  try {
    const mainPath = path.join(tmp, "main.circom");
    await fsp.writeFile(mainPath, opts.mainSource);
    log({ msg: "compile.start", name: opts.name, circuitHash });
    const t0 = Date.now();
    await runCircom2([mainPath, ...COMPILER_FLAGS, "-o", tmp, "-l", CIRCUITS_DIR, "-l", NODE_MODULES]);
    const info = await readR1csInfo(path.join(tmp, "main.r1cs"));
    for (const f of ["main.r1cs", "main.sym", path.join("main_js", "main.wasm")]) {
      await fsp.access(path.join(tmp, f)).catch(() => {
        throw new Error(`circom2 did not produce ${f}`);
      });
    }
    const meta = {
      name: opts.name,
      circuitHash,
      constraints: info.nConstraints,
      nPublic: info.nOutputs + info.nPubInputs,
      nVars: info.nVars,
      compileSeconds: (Date.now() - t0) / 1000,
    };
    await fsp.writeFile(path.join(tmp, META_FILE), JSON.stringify(meta, null, 2) + "\n");
    try {
      await fsp.rename(tmp, dir);
    } catch (e) {
      // Another process finished first (its outputs are equivalent), or a stale incomplete directory is in the way.
      if (!(await readCachedBuild(dir, opts.name, circuitHash))) {
        await fsp.rm(dir, { recursive: true, force: true });
        await fsp.rename(tmp, dir).catch(() => {
          throw e;
        });
      }
    }
    log({ msg: "compile.done", name: opts.name, circuitHash, constraints: meta.constraints, nPublic: meta.nPublic, nVars: meta.nVars, seconds: meta.compileSeconds });
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
  const built = await readCachedBuild(dir, opts.name, circuitHash);
  if (!built) throw new Error(`build output missing in ${dir}`);
  return built;
}

export async function computeCircuitHash(mainSource: string): Promise<string> {
  const h = createHash("sha256");
  const part = (label: string, data: string | Buffer): void => {
    const b = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    h.update(`${label}\0${b.length}\0`);
    h.update(b);
  };
  part("modex-circuit-hash-v1", "");
  part("main", mainSource);
  for (const f of await listCircomFiles(CIRCUITS_DIR)) {
    part(`file:${path.relative(CIRCUITS_DIR, f).split(path.sep).join("/")}`, await fsp.readFile(f));
  }
  part("circomlib", await packageVersion("circomlib"));
  part("circom2", await packageVersion("circom2"));
  part("flags", COMPILER_FLAGS.join(" "));
  return h.digest("hex");
}

/** Reads the header (section 1) of an .r1cs file. */
export async function readR1csInfo(r1csPath: string): Promise<R1csInfo> {
  const fh = await fsp.open(r1csPath, "r");
  try {
    const head = Buffer.alloc(12);
    await fh.read(head, 0, 12, 0);
    if (head.toString("latin1", 0, 4) !== "r1cs") throw new Error(`${r1csPath}: not an r1cs file`);
    const nSections = head.readUInt32LE(8);
    let pos = 12;
    const sh = Buffer.alloc(12);
    for (let i = 0; i < nSections; i++) {
      await fh.read(sh, 0, 12, pos);
      const type = sh.readUInt32LE(0);
      const size = Number(sh.readBigUInt64LE(4));
      if (type === 1) {
        const b = Buffer.alloc(size);
        await fh.read(b, 0, size, pos + 12);
        const n8 = b.readUInt32LE(0);
        let prime = 0n;
        for (let k = n8 - 1; k >= 0; k--) prime = (prime << 8n) | BigInt(b[4 + k]);
        const o = 4 + n8;
        return {
          n8,
          prime,
          nVars: b.readUInt32LE(o),
          nOutputs: b.readUInt32LE(o + 4),
          nPubInputs: b.readUInt32LE(o + 8),
          nPrvInputs: b.readUInt32LE(o + 12),
          nLabels: b.readBigUInt64LE(o + 16),
          nConstraints: b.readUInt32LE(o + 24),
        };
      }
      pos += 12 + size;
    }
    throw new Error(`${r1csPath}: no header section`);
  } finally {
    await fh.close();
  }
}

async function readCachedBuild(dir: string, name: string, circuitHash: string): Promise<CompiledCircuit | null> {
  try {
    const meta = JSON.parse(await fsp.readFile(path.join(dir, META_FILE), "utf8")) as { circuitHash: string; constraints: number; nPublic: number };
    if (meta.circuitHash !== circuitHash) return null;
    const c: CompiledCircuit = {
      name,
      dir,
      r1csPath: path.join(dir, "main.r1cs"),
      wasmPath: path.join(dir, "main_js", "main.wasm"),
      symPath: path.join(dir, "main.sym"),
      circuitHash,
      constraints: meta.constraints,
      nPublic: meta.nPublic,
    };
    for (const p of [c.r1csPath, c.wasmPath, c.symPath]) await fsp.access(p);
    return c;
  } catch {
    return null;
  }
}

async function listCircomFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await fsp.readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && e.name.endsWith(".circom")) out.push(p);
    }
  };
  await walk(root);
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

async function packageVersion(pkg: string): Promise<string> {
  const j = JSON.parse(await fsp.readFile(path.join(NODE_MODULES, pkg, "package.json"), "utf8")) as { version: string };
  return j.version;
}

/** Runs the circom2 CLI (WASI build of circom) in a child process from the repo root. */
function runCircom2(args: string[]): Promise<void> {
  const cli = path.join(NODE_MODULES, "circom2", "cli.js");
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const keep = (d: Buffer): void => {
      output = (output + d.toString("utf8")).slice(-20000);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`circom2 failed (exit ${code ?? signal}):\n${output.trim()}`));
    });
  });
}
