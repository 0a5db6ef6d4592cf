/**
 * The pure proving step: witness → Groth16 proof → verification → public-input check.
 * Runs inside a prover worker process (prover/worker.ts); knows nothing about queues. The Groth16
 * step runs in-process (snarkjs) or in an external prover command (see ProverBackend).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { constants as fsConstants, promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Readable } from "node:stream";
import { nativeAddon, nativeStatus, type NativeAddon } from "../core/native";
import { SNARKJS_BACKEND, type CircuitArtifacts, type Groth16Proof, type ProofJob, type ProofResult, type ProverBackend } from "./types";
import { publicSignalsMismatch } from "./verify";

// snarkjs ships no types (see types/untyped.d.ts).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const snarkjs = require("snarkjs");

/** Why a proof could not be produced. None of these is cured by retrying the same job. */
export type ProveErrorCode =
  /** wasm/zkey/vkey could not be read. */
  | "artifacts"
  /** The circuit input does not satisfy the circuit (an assert failed, a signal is missing or extra). */
  | "witness"
  /** snarkjs failed while proving (e.g. the zkey does not belong to the wasm). */
  | "prove"
  /** The proof does not verify under the vkey: wrong keys or a prover bug. Never returned to a caller. */
  | "verify"
  /** The proof's public signal is not the public input core/ computed for the batch. */
  | "public_input";

export class ProveError extends Error {
  readonly code: ProveErrorCode;
  constructor(code: ProveErrorCode, message: string) {
    super(message);
    this.name = "ProveError";
    this.code = code;
  }
}

/** What a warm worker keeps between jobs. The zkey stays on disk: it can be GBs, and snarkjs reads it section by section. */
export interface LoadedArtifacts {
  readonly artifacts: CircuitArtifacts;
  readonly wasm: Uint8Array;
  readonly vkey: object;
  readonly backend: ProverBackend;
  /** mkdtemp prefix for the command backend's files (witness, proof, public signals). */
  readonly tempDirPrefix: string;
}

/** How a worker proves, besides the circuit files. */
export interface ProveSetup {
  /** Default: in-process snarkjs. */
  readonly backend?: ProverBackend;
  /** Default `<tmpdir>/modex-prove-`; the pool passes a per-worker prefix so it can clean up after a killed worker. */
  readonly tempDirPrefix?: string;
}

export type ProveStage = "witness" | "prove" | "verify";

export interface ProveHooks {
  /** Called as each stage starts (the pool uses it for progress logs and tests for fault injection). */
  onStage?: (stage: ProveStage) => void;
  /** Called with the external prover process (command backend), so its owner can kill it when it exits itself. */
  onSpawn?: (child: ChildProcess) => void;
}

/** How much of an external prover's stderr (or stdout) the error message keeps: its end. */
const OUTPUT_TAIL_BYTES = 2048;

export async function loadArtifacts(artifacts: CircuitArtifacts, setup: ProveSetup = {}): Promise<LoadedArtifacts> {
  const backend = setup.backend ?? SNARKJS_BACKEND;
  const read = async (what: string, p: string): Promise<Buffer> => {
    try {
      return await fsp.readFile(p);
    } catch (e) {
      throw new ProveError("artifacts", `cannot read ${what} ${p}: ${(e as Error).message}`);
    }
  };
  const wasm = await read("circuit wasm", artifacts.wasmPath);
  const vkeyText = (await read("verification key", artifacts.vkeyPath)).toString("utf8");
  let vkey: { protocol?: string };
  try {
    vkey = JSON.parse(vkeyText) as { protocol?: string };
  } catch (e) {
    throw new ProveError("artifacts", `verification key ${artifacts.vkeyPath} is not JSON: ${(e as Error).message}`);
  }
  if (vkey.protocol !== "groth16") throw new ProveError("artifacts", `verification key ${artifacts.vkeyPath} is not a groth16 key`);
  // Fail at load rather than on the first job when the proving key is missing.
  await fsp.access(artifacts.zkeyPath).catch((e: Error) => {
    throw new ProveError("artifacts", `cannot read proving key ${artifacts.zkeyPath}: ${e.message}`);
  });
  await checkBackendSetup(backend);
  const tempDirPrefix = setup.tempDirPrefix ?? path.join(os.tmpdir(), "modex-prove-");
  return { artifacts, wasm: new Uint8Array(wasm), vkey, backend, tempDirPrefix };
}

/**
 * What a worker checks at start for every circuit it serves, without loading any: the wasm, the
 * verification key and the proving key can be read (a missing file fails the start, not a job).
 */
export async function checkArtifactFiles(artifacts: CircuitArtifacts): Promise<void> {
  const files: [string, string][] = [
    ["circuit wasm", artifacts.wasmPath],
    ["verification key", artifacts.vkeyPath],
    ["proving key", artifacts.zkeyPath],
  ];
  for (const [what, p] of files) {
    await fsp.access(p, fsConstants.R_OK).catch((e: Error) => {
      throw new ProveError("artifacts", `cannot read ${what} ${p}: ${e.message}`);
    });
  }
}

/** The backend can run here: a prover command is an executable, the native prover loaded. */
export async function checkBackendSetup(backend: ProverBackend): Promise<void> {
  // A misconfigured prover command fails the worker's start (the pool stops respawning), not every job.
  if (backend.kind === "command") await checkCommand(backend.command);
  if (backend.kind === "native" && !nativeAddon()) throw new ProveError("artifacts", `the native prover is not available: ${nativeStatus().reason ?? "unknown reason"}`);
}

/** The command's executable exists and may be run (a bare name is looked up on PATH, as spawn does). */
async function checkCommand(command: readonly string[]): Promise<void> {
  if (typeof command[0] !== "string" || command[0] === "" || command.some((a) => typeof a !== "string")) {
    throw new ProveError("artifacts", `prover command must be [executable, ...args] (strings), got ${JSON.stringify(command)}`);
  }
  const exe = command[0];
  const candidates = exe.includes("/") ? [path.resolve(exe)] : (process.env.PATH ?? "").split(path.delimiter).filter(Boolean).map((d) => path.join(d, exe));
  for (const c of candidates) {
    try {
      await fsp.access(c, fsConstants.X_OK);
      return;
    } catch {
      // try the next PATH entry
    }
  }
  throw new ProveError("artifacts", `prover command ${exe} is not an executable file${exe.includes("/") ? "" : " on PATH"}`);
}

/** Builds snarkjs' cached bn128 curve (wasm + its worker threads) so the first job does not pay for it. */
export async function warmCurve(): Promise<void> {
  await snarkjs.curves.getCurveFromName("bn128");
}

/** Proves one job and checks the proof before returning it; `worker` is filled in by the caller. */
export async function proveJob(loaded: LoadedArtifacts, job: ProofJob, hooks: ProveHooks = {}): Promise<Omit<ProofResult, "worker">> {
  const batch = `batch ${job.batchNumber}`;
  const b = loaded.backend;
  const produced = b.kind === "command" ? await proveWithCommand(loaded, b.command, job, hooks) : b.kind === "native" ? await proveNative(loaded, b.threads, job, hooks) : await proveInProcess(loaded, job, hooks);
  const { proof, publicSignals, witnessMs, proveMs } = produced;

  // The same checks whichever backend proved: nothing unverified leaves the worker.
  hooks.onStage?.("verify");
  const t = performance.now();
  const ok: boolean = await snarkjs.groth16.verify(loaded.vkey, publicSignals, proof);
  const verifyMs = elapsed(t);
  if (ok !== true) {
    throw new ProveError("verify", `${batch}: the proof does not verify under ${loaded.artifacts.vkeyPath} (proving and verification keys do not match, circuit ${loaded.artifacts.circuitHash})`);
  }
  const mismatch = publicSignalsMismatch(publicSignals, job.publicSignals);
  if (mismatch) throw new ProveError("public_input", `${batch}: ${mismatch}`);
  return { batchNumber: job.batchNumber, proof, publicSignals, timings: { witnessMs, proveMs, verifyMs } };
}

/** A proof before verification, with the time its two stages took. */
interface Produced {
  readonly proof: Groth16Proof;
  readonly publicSignals: string[];
  readonly witnessMs: number;
  readonly proveMs: number;
}

async function proveInProcess(loaded: LoadedArtifacts, job: ProofJob, hooks: ProveHooks): Promise<Produced> {
  hooks.onStage?.("witness");
  let t = performance.now();
  // In-memory witness: no temporary files to clean up when a worker is killed.
  const wtns: { type: "mem"; data?: Uint8Array } = { type: "mem" };
  await calculateWitness(loaded, job, wtns);
  const witnessMs = elapsed(t);

  hooks.onStage?.("prove");
  t = performance.now();
  let proof: Groth16Proof;
  let publicSignals: string[];
  try {
    ({ proof, publicSignals } = await snarkjs.groth16.prove(loaded.artifacts.zkeyPath, wtns));
  } catch (e) {
    throw new ProveError("prove", `batch ${job.batchNumber}: groth16 prove failed: ${oneLine(e)}`);
  }
  return { proof, publicSignals, witnessMs, proveMs: elapsed(t) };
}

/**
 * The native prover (native/src/groth16.cpp) on the witness in memory: no temporary files. It runs on
 * libuv's thread pool with its own threads, so this worker's event loop keeps answering the pool.
 */
async function proveNative(loaded: LoadedArtifacts, threads: number, job: ProofJob, hooks: ProveHooks): Promise<Produced> {
  const addon = nativeAddon() as NativeAddon;
  hooks.onStage?.("witness");
  let t = performance.now();
  const wtns: { type: "mem"; data?: Uint8Array } = { type: "mem" };
  await calculateWitness(loaded, job, wtns);
  const witnessMs = elapsed(t);
  if (!wtns.data) throw new ProveError("witness", `batch ${job.batchNumber}: the witness calculator returned no data`);

  hooks.onStage?.("prove");
  t = performance.now();
  const what = `batch ${job.batchNumber}: native prover`;
  let text: { proof: string; publicSignals: string };
  try {
    text = await addon.groth16Prove(loaded.artifacts.zkeyPath, wtns.data, threads);
  } catch (e) {
    const message = oneLine(e);
    // The addon prefixes what was wrong: the key ("zkey:"), the witness ("wtns:") or the proving itself.
    // A witness whose size is not the key's signal count means the key and the circuit wasm do not belong together.
    const code: ProveErrorCode = message.startsWith("zkey:") || message.includes("another circuit") ? "artifacts" : message.startsWith("wtns:") ? "witness" : "prove";
    throw new ProveError(code, `${what} failed: ${message} (proving key ${loaded.artifacts.zkeyPath})`);
  }
  const proveMs = elapsed(t);
  const parse = (s: string, name: string): unknown => {
    try {
      return JSON.parse(s) as unknown;
    } catch (e) {
      throw new ProveError("prove", `${what} wrote an invalid ${name}: ${(e as Error).message}`);
    }
  };
  const proof = toProof(parse(text.proof, "proof"), (loaded.vkey as { curve?: unknown }).curve, what);
  const publicSignals = toPublicSignals(parse(text.publicSignals, "public signals"), what);
  return { proof, publicSignals, witnessMs, proveMs };
}

/**
 * Witness to a file, then `COMMAND... <zkey> <witness.wtns> <proof.json> <public.json>` (rapidsnark's
 * convention). The files live in a fresh temporary directory, removed whatever happens.
 */
async function proveWithCommand(loaded: LoadedArtifacts, command: readonly string[], job: ProofJob, hooks: ProveHooks): Promise<Produced> {
  const dir = await fsp.mkdtemp(loaded.tempDirPrefix).catch((e: Error) => {
    throw new Error(`batch ${job.batchNumber}: cannot create a temporary directory for the prover command: ${e.message}`);
  });
  try {
    const files = { wtns: path.join(dir, "witness.wtns"), proof: path.join(dir, "proof.json"), public: path.join(dir, "public.json") };
    hooks.onStage?.("witness");
    let t = performance.now();
    await calculateWitness(loaded, job, files.wtns);
    const witnessMs = elapsed(t);

    hooks.onStage?.("prove");
    t = performance.now();
    const what = `batch ${job.batchNumber}: prover command "${command.join(" ")}"`;
    await runCommand(command, [loaded.artifacts.zkeyPath, files.wtns, files.proof, files.public], what, hooks);
    const proveMs = elapsed(t);

    const proof = toProof(await readJsonOutput(files.proof, what), (loaded.vkey as { curve?: unknown }).curve, what);
    const publicSignals = toPublicSignals(await readJsonOutput(files.public, what), what);
    return { proof, publicSignals, witnessMs, proveMs };
  } finally {
    await fsp.rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

async function calculateWitness(loaded: LoadedArtifacts, job: ProofJob, out: string | { type: "mem" }): Promise<void> {
  try {
    await snarkjs.wtns.calculate(job.circuitInput, loaded.wasm, out);
  } catch (e) {
    throw new ProveError("witness", `batch ${job.batchNumber}: witness calculation failed, the circuit input does not satisfy the circuit: ${oneLine(e)}`);
  }
}

/** Runs the command (no shell) to completion; anything but exit code 0 is a "prove" error carrying its stderr tail. */
function runCommand(command: readonly string[], extraArgs: readonly string[], what: string, hooks: ProveHooks): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = spawn(command[0], [...command.slice(1), ...extraArgs], { stdio: ["ignore", "pipe", "pipe"] });
    // stdout is drained so a chatty prover never blocks on a full pipe; it stands in when stderr says nothing.
    const stdout = keepTail(child.stdout);
    const stderr = keepTail(child.stderr);
    let settled = false;
    child.once("error", (e) => {
      if (settled || child.pid !== undefined) return;
      settled = true;
      reject(new ProveError("prove", `${what} could not start: ${e.message}`));
    });
    if (child.pid !== undefined) hooks.onSpawn?.(child);
    child.once("close", (code, signal) => {
      if (settled) return;
      settled = true;
      if (code === 0) return resolve();
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const output = stderr() || stdout();
      reject(new ProveError("prove", `${what} ${how}${output ? `; output: ${output}` : ""}`));
    });
  });
}

/** Collects a stream, keeping its last OUTPUT_TAIL_BYTES; the getter returns them as trimmed text. */
function keepTail(stream: Readable | null): () => string {
  let buf = Buffer.alloc(0);
  stream?.on("data", (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    if (buf.length > OUTPUT_TAIL_BYTES) buf = buf.subarray(buf.length - OUTPUT_TAIL_BYTES);
  });
  return () => buf.toString("utf8").trim();
}

async function readJsonOutput(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await fsp.readFile(file, "utf8");
  } catch (e) {
    throw new ProveError("prove", `${what} exited with code 0 but did not write ${path.basename(file)}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new ProveError("prove", `${what} wrote an invalid ${path.basename(file)} (not JSON: ${(e as Error).message})`);
  }
}

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === "string");

/** proof.json as a Groth16Proof; rapidsnark versions differ in whether they write protocol and curve, so those default. */
function toProof(v: unknown, vkeyCurve: unknown, what: string): Groth16Proof {
  const p = (v ?? {}) as Record<string, unknown>;
  const ok = isStrings(p.pi_a) && isStrings(p.pi_c) && Array.isArray(p.pi_b) && p.pi_b.every(isStrings);
  if (!ok) throw new ProveError("prove", `${what} wrote an invalid proof.json (expected pi_a, pi_b, pi_c as decimal strings)`);
  if (p.protocol !== undefined && p.protocol !== "groth16") throw new ProveError("prove", `${what} wrote a ${String(p.protocol)} proof, not groth16`);
  const curve = typeof p.curve === "string" ? p.curve : typeof vkeyCurve === "string" ? vkeyCurve : "bn128";
  return { pi_a: p.pi_a as string[], pi_b: p.pi_b as string[][], pi_c: p.pi_c as string[], protocol: "groth16", curve };
}

function toPublicSignals(v: unknown, what: string): string[] {
  if (!isStrings(v)) throw new ProveError("prove", `${what} wrote an invalid public.json (expected an array of decimal strings)`);
  return v;
}

function elapsed(t: number): number {
  return Math.round((performance.now() - t) * 10) / 10;
}

/** circom's runtime errors span lines ("Error: Assert Failed.\nError in template …"); logs want one. */
function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg
    .split("\n")
    .map((s) => s.trim())
    .filter(Boolean)
    .join(" ")
    .replace(/^Error: /, "");
}
