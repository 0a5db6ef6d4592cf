/**
 * Groth16 key management: proving key (circuit_final.zkey), verification key
 * (verification_key.json) and Solidity verifier (Verifier.sol) for a compiled circuit,
 * kept in .modex/keys/<circuitHash>/ and reused when complete (manifest.json is written
 * last and marks a complete directory).
 *
 *  - production: a prepared powers-of-tau file from a public ceremony (`ptau`):
 *    snarkjs newZKey, one phase-2 contribution with fresh OS entropy, optionally a
 *    random beacon.
 *  - development (no ptau): prover/devzkey.ts builds the key directly from sampled
 *    toxic waste. INSECURE: whoever ran the setup can forge proofs.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, promises as fsp } from "node:fs";
import * as path from "node:path";
import { CompiledCircuit, LogFn, REPO_ROOT, stderrJsonLog } from "../circuits/compile";
import { writeDevZkey } from "./devzkey";
import { domainPower } from "./devzkey_qap";

// snarkjs ships no types (see types/untyped.d.ts).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const snarkjs = require("snarkjs");

export type KeySource = "dev" | "ptau";

export interface Groth16VerificationKey {
  protocol: "groth16";
  curve: string;
  nPublic: number;
  vk_alpha_1: string[];
  vk_beta_2: string[][];
  vk_gamma_2: string[][];
  vk_delta_2: string[][];
  vk_alphabeta_12: string[][][];
  IC: string[][];
}

export interface KeyManifest {
  version: 1;
  circuitHash: string;
  circuitName: string;
  source: KeySource;
  /** sha256 (hex) of the ptau file for source "ptau", else null. */
  ptauSha256: string | null;
  ptauFile: string | null;
  beacon: string | null;
  constraints: number;
  nPublic: number;
  /** sha256 (hex) of circuit_final.zkey. */
  zkeySha256: string;
  /** Seconds per phase. */
  timings: Record<string, number>;
  createdAt: string;
  insecure: boolean;
}

export interface Keys {
  dir: string;
  zkeyPath: string;
  vkeyPath: string;
  verifierPath: string;
  manifestPath: string;
  vkey: Groth16VerificationKey;
  manifest: KeyManifest;
}

export interface EnsureKeysOptions {
  /** Prepared powers-of-tau file (phase 2 ready) from a public ceremony. */
  ptau?: string;
  /** Hex random-beacon value applied after the contribution (ptau path only). */
  beacon?: string;
  log?: LogFn;
  /** Defaults to <repo>/.modex/keys. */
  keysRoot?: string;
  /** Worker threads for the dev setup (default: number of CPUs). */
  threads?: number;
}

export const DEFAULT_KEYS_ROOT = path.join(REPO_ROOT, ".modex", "keys");
const ZKEY = "circuit_final.zkey";
const VKEY = "verification_key.json";
const VERIFIER = "Verifier.sol";
const MANIFEST = "manifest.json";

export function keyDir(c: CompiledCircuit, keysRoot: string = DEFAULT_KEYS_ROOT): string {
  return path.join(path.resolve(keysRoot), c.circuitHash);
}

/** Returns the keys of `c` if a complete key directory exists, else null. */
export async function loadKeys(c: CompiledCircuit, opts: { keysRoot?: string } = {}): Promise<Keys | null> {
  return readKeyDir(keyDir(c, opts.keysRoot), c.circuitHash);
}

/** Returns existing keys for `c`, generating them first when absent (or when `ptau` asks for other keys). */
export async function ensureKeys(c: CompiledCircuit, opts: EnsureKeysOptions = {}): Promise<Keys> {
  const log = opts.log ?? stderrJsonLog;
  const root = path.resolve(opts.keysRoot ?? DEFAULT_KEYS_ROOT);
  const dir = keyDir(c, root);
  if (opts.beacon !== undefined && !opts.ptau) throw new Error("--beacon needs --ptau");
  if (opts.beacon !== undefined && !/^([0-9a-fA-F]{2}){1,255}$/.test(opts.beacon)) throw new Error("beacon must be a non-empty even-length hex string (at most 255 bytes)");

  let ptauSha256: string | null = null;
  if (opts.ptau) {
    const st = await fsp.stat(opts.ptau).catch(() => null);
    if (!st || !st.isFile()) throw new Error(`ptau file not found: ${opts.ptau}`);
    const t = performance.now();
    ptauSha256 = await sha256File(opts.ptau);
    log({ msg: "setup.progress", step: "hashPtau", ptauSha256, seconds: secondsSince(t) });
  }

  const existing = await readKeyDir(dir, c.circuitHash);
  if (existing) {
    const m = existing.manifest;
    const wanted = !opts.ptau || (m.source === "ptau" && m.ptauSha256 === ptauSha256 && m.beacon === (opts.beacon ?? null));
    if (wanted) {
      log({ msg: "setup.cached", level: m.source === "dev" ? "warn" : "info", circuitHash: c.circuitHash, source: m.source, dir, ...(m.source === "dev" ? { warning: "INSECURE development keys" } : {}) });
      return existing;
    }
    log({ msg: "setup.replace", level: "warn", circuitHash: c.circuitHash, oldSource: m.source, reason: "a different ptau/beacon was requested" });
  }

  await fsp.mkdir(root, { recursive: true });
  const tmp = await fsp.mkdtemp(path.join(root, `.tmp-${c.circuitHash.slice(0, 16)}-`));
  try {
    const tStart = performance.now();
    const timings: Record<string, number> = {};
    const zkeyPath = path.join(tmp, ZKEY);
    let source: KeySource;
    if (opts.ptau) {
      source = "ptau";
      await ptauSetup(c, opts.ptau, tmp, opts.beacon, log, timings);
    } else {
      source = "dev";
      printInsecureBanner(c);
      log({ msg: "setup.start", level: "warn", source, circuitHash: c.circuitHash, constraints: c.constraints, warning: "INSECURE development keys: whoever ran this setup can forge proofs" });
      const r = await writeDevZkey(c.r1csPath, zkeyPath, { log, threads: opts.threads });
      Object.assign(timings, { devReadR1cs: r.timings.readR1cs, devQap: r.timings.qap, devPoints: r.timings.points, devWrite: r.timings.write });
    }

    let t = performance.now();
    const vkey = (await snarkjs.zKey.exportVerificationKey(zkeyPath)) as Groth16VerificationKey;
    await fsp.writeFile(path.join(tmp, VKEY), JSON.stringify(vkey, null, 1) + "\n");
    timings.exportVkey = secondsSince(t);
    t = performance.now();
    const template = await fsp.readFile(path.join(REPO_ROOT, "node_modules", "snarkjs", "templates", "verifier_groth16.sol.ejs"), "utf8");
    const sol = (await snarkjs.zKey.exportSolidityVerifier(zkeyPath, { groth16: template })) as string;
    await fsp.writeFile(path.join(tmp, VERIFIER), sol);
    timings.exportVerifier = secondsSince(t);
    t = performance.now();
    const zkeySha256 = await sha256File(zkeyPath);
    timings.hashZkey = secondsSince(t);
    timings.total = secondsSince(tStart);

    const manifest: KeyManifest = {
      version: 1,
      circuitHash: c.circuitHash,
      circuitName: c.name,
      source,
      ptauSha256,
      ptauFile: opts.ptau ? path.basename(opts.ptau) : null,
      beacon: opts.beacon ?? null,
      constraints: c.constraints,
      nPublic: c.nPublic,
      zkeySha256,
      timings,
      createdAt: new Date().toISOString(),
      insecure: source === "dev",
    };
    await fsp.writeFile(path.join(tmp, MANIFEST), JSON.stringify(manifest, null, 2) + "\n");
    const outcome = await installDir(tmp, dir, c.circuitHash, existing !== null);
    if (outcome === "kept-concurrent") log({ msg: "setup.concurrent", level: "warn", circuitHash: c.circuitHash, dir, note: "another process installed keys first; using those" });
    else log({ msg: "setup.done", level: source === "dev" ? "warn" : "info", circuitHash: c.circuitHash, source, dir, timings });
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
  const keys = await readKeyDir(dir, c.circuitHash);
  if (!keys) throw new Error(`key directory incomplete after setup: ${dir}`);
  return keys;
}

/** Stops the worker threads of the curve snarkjs caches globally (lets a process exit). */
export async function releaseSnarkjsCurve(): Promise<void> {
  const g = globalThis as { curve_bn128?: { terminate: () => Promise<void> } | null };
  if (g.curve_bn128) await g.curve_bn128.terminate();
}

async function ptauSetup(c: CompiledCircuit, ptau: string, tmp: string, beacon: string | undefined, log: LogFn, timings: Record<string, number>): Promise<void> {
  const errors: string[] = [];
  const logger = {
    debug: (): void => undefined,
    info: (s: string): void => log({ msg: "snarkjs", level: "info", text: s }),
    warn: (s: string): void => log({ msg: "snarkjs", level: "warn", text: s }),
    error: (s: string): void => {
      errors.push(s);
      log({ msg: "snarkjs", level: "error", text: s });
    },
  };
  // snarkjs reports errors through the logger and returns -1/false instead of throwing.
  const failed = (r: unknown): boolean => r === -1 || r === false || r === null || r === undefined;
  const fail = (what: string): Error => new Error(`${what} failed${errors.length ? `: ${errors.join("; ")}` : ""}`);
  const z0 = path.join(tmp, "circuit_0000.zkey");
  const z1 = path.join(tmp, "circuit_0001.zkey");
  const zFinal = path.join(tmp, ZKEY);

  const info = await readPtauInfo(ptau);
  const need = domainPower(c.constraints, c.nPublic);
  if (!info.prepared) throw new Error(`${ptau} is not prepared for phase 2 (run: snarkjs powersoftau prepare phase2 IN OUT)`);
  if (info.power < need) throw new Error(`${ptau} has power ${info.power}; circuit ${c.name} (${c.constraints} constraints) needs a ptau of power >= ${need}`);
  log({ msg: "setup.start", source: "ptau", circuitHash: c.circuitHash, constraints: c.constraints, ptau, ptauPower: info.power });
  let t = performance.now();
  log({ msg: "setup.progress", step: "newZKey" });
  const r0 = await snarkjs.zKey.newZKey(c.r1csPath, ptau, z0, logger);
  if (failed(r0)) throw fail("snarkjs newZKey");
  timings.newZKey = secondsSince(t);

  // One phase-2 contribution with fresh entropy that is never stored.
  t = performance.now();
  log({ msg: "setup.progress", step: "contribute" });
  const r1 = await snarkjs.zKey.contribute(z0, z1, "modex setup", randomBytes(64).toString("hex"), logger);
  if (failed(r1)) throw fail("snarkjs zkey contribute");
  timings.contribute = secondsSince(t);
  await fsp.rm(z0);

  if (beacon) {
    t = performance.now();
    log({ msg: "setup.progress", step: "beacon" });
    const r2 = await snarkjs.zKey.beacon(z1, zFinal, "modex beacon", beacon, 10, logger);
    if (failed(r2)) throw fail("snarkjs zkey beacon");
    timings.beacon = secondsSince(t);
    await fsp.rm(z1);
  } else {
    await fsp.rename(z1, zFinal);
  }
}

/** Header of a .ptau file: its power and whether it has the phase-2 (Lagrange) sections. */
export async function readPtauInfo(file: string): Promise<{ power: number; ceremonyPower: number; prepared: boolean }> {
  const fh = await fsp.open(file, "r");
  try {
    const head = Buffer.alloc(12);
    await fh.read(head, 0, 12, 0);
    if (head.toString("latin1", 0, 4) !== "ptau") throw new Error(`${file}: not a ptau file`);
    const nSections = head.readUInt32LE(8);
    const st = await fh.stat();
    let pos = 12;
    let power = -1;
    let ceremonyPower = -1;
    const seen = new Set<number>();
    const sh = Buffer.alloc(12);
    for (let i = 0; i < nSections; i++) {
      if (pos + 12 > st.size) throw new Error(`${file}: truncated`);
      await fh.read(sh, 0, 12, pos);
      const type = sh.readUInt32LE(0);
      const size = Number(sh.readBigUInt64LE(4));
      seen.add(type);
      if (type === 1) {
        const b = Buffer.alloc(Math.min(size, 256));
        await fh.read(b, 0, b.length, pos + 12);
        const n8 = b.readUInt32LE(0);
        power = b.readUInt32LE(4 + n8);
        ceremonyPower = b.readUInt32LE(8 + n8);
      }
      pos += 12 + size;
    }
    if (pos > st.size) throw new Error(`${file}: truncated`);
    if (power < 0) throw new Error(`${file}: no header section`);
    return { power, ceremonyPower, prepared: [12, 13, 14, 15].every((s) => seen.has(s)) };
  } finally {
    await fh.close();
  }
}

async function readKeyDir(dir: string, circuitHash: string): Promise<Keys | null> {
  try {
    const manifestPath = path.join(dir, MANIFEST);
    const manifest = JSON.parse(await fsp.readFile(manifestPath, "utf8")) as KeyManifest;
    if (manifest.version !== 1 || manifest.circuitHash !== circuitHash) return null;
    const keys: Keys = {
      dir,
      zkeyPath: path.join(dir, ZKEY),
      vkeyPath: path.join(dir, VKEY),
      verifierPath: path.join(dir, VERIFIER),
      manifestPath,
      vkey: JSON.parse(await fsp.readFile(path.join(dir, VKEY), "utf8")) as Groth16VerificationKey,
      manifest,
    };
    await fsp.access(keys.zkeyPath);
    await fsp.access(keys.verifierPath);
    return keys;
  } catch {
    return null;
  }
}

/**
 * Moves a finished temporary key directory into place. With `replace`, an existing
 * directory is swapped out; without it, a complete directory that a concurrent setup
 * installed first wins (so every caller ends up with the same keys) and ours is dropped.
 */
async function installDir(tmp: string, dir: string, circuitHash: string, replace: boolean): Promise<"installed" | "kept-concurrent"> {
  if (replace) {
    const old = `${dir}.old-${process.pid}-${Date.now()}`;
    const hadOld = await fsp.rename(dir, old).then(() => true, () => false);
    await fsp.rename(tmp, dir);
    if (hadOld) await fsp.rm(old, { recursive: true, force: true });
    return "installed";
  }
  try {
    await fsp.rename(tmp, dir);
    return "installed";
  } catch (e) {
    if (await readKeyDir(dir, circuitHash)) return "kept-concurrent";
    // A stale, incomplete directory is in the way.
    await fsp.rm(dir, { recursive: true, force: true });
    await fsp.rename(tmp, dir).catch(() => {
      throw e;
    });
    return "installed";
  }
}

function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    createReadStream(file)
      .on("data", (d) => h.update(d))
      .on("error", reject)
      .on("end", () => resolve(h.digest("hex")));
  });
}

function secondsSince(t: number): number {
  return Math.round(performance.now() - t) / 1000;
}

function printInsecureBanner(c: CompiledCircuit): void {
  const lines = [
    "WARNING: INSECURE DEVELOPMENT KEYS",
    "",
    `circuit ${c.name} (${c.circuitHash.slice(0, 16)}…)`,
    "These Groth16 keys come from a development setup that sampled its own",
    "toxic waste. Whoever ran this setup could have kept it and can then forge",
    "proofs that the verifier contract accepts. Never use them with real funds.",
    "Production keys must come from a public ceremony: setup --ptau FILE.",
  ];
  const width = Math.max(...lines.map((l) => l.length));
  const bar = "#".repeat(width + 6);
  const body = lines.map((l) => `## ${l.padEnd(width)} ##`);
  process.stderr.write(["", bar, ...body, bar, ""].join("\n") + "\n");
}
