/**
 * The pure proving step: witness → Groth16 proof → verification → public-input check.
 * Runs inside a prover worker process (prover/worker.ts); knows nothing about processes or queues.
 */
import { promises as fsp } from "node:fs";
import type { CircuitArtifacts, Groth16Proof, ProofJob, ProofResult } from "./types";

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
}

export type ProveStage = "witness" | "prove" | "verify";

export interface ProveHooks {
  /** Called as each stage starts (the pool uses it for progress logs and tests for fault injection). */
  onStage?: (stage: ProveStage) => void;
}

export async function loadArtifacts(artifacts: CircuitArtifacts): Promise<LoadedArtifacts> {
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
  return { artifacts, wasm: new Uint8Array(wasm), vkey };
}

/** Builds snarkjs' cached bn128 curve (wasm + its worker threads) so the first job does not pay for it. */
export async function warmCurve(): Promise<void> {
  await snarkjs.curves.getCurveFromName("bn128");
}

/** Proves one job and checks the proof before returning it; `worker` is filled in by the caller. */
export async function proveJob(loaded: LoadedArtifacts, job: ProofJob, hooks: ProveHooks = {}): Promise<Omit<ProofResult, "worker">> {
  const batch = `batch ${job.batchNumber}`;

  hooks.onStage?.("witness");
  let t = performance.now();
  // In-memory witness: no temporary files to clean up when a worker is killed.
  const wtns: { type: "mem"; data?: Uint8Array } = { type: "mem" };
  try {
    await snarkjs.wtns.calculate(job.circuitInput, loaded.wasm, wtns);
  } catch (e) {
    throw new ProveError("witness", `${batch}: witness calculation failed, the circuit input does not satisfy the circuit: ${oneLine(e)}`);
  }
  const witnessMs = elapsed(t);

  hooks.onStage?.("prove");
  t = performance.now();
  let proof: Groth16Proof;
  let publicSignals: string[];
  try {
    ({ proof, publicSignals } = await snarkjs.groth16.prove(loaded.artifacts.zkeyPath, wtns));
  } catch (e) {
    throw new ProveError("prove", `${batch}: groth16 prove failed: ${oneLine(e)}`);
  }
  const proveMs = elapsed(t);

  hooks.onStage?.("verify");
  t = performance.now();
  const ok: boolean = await snarkjs.groth16.verify(loaded.vkey, publicSignals, proof);
  const verifyMs = elapsed(t);
  if (ok !== true) {
    throw new ProveError("verify", `${batch}: the proof does not verify under ${loaded.artifacts.vkeyPath} (proving and verification keys do not match, circuit ${loaded.artifacts.circuitHash})`);
  }
  if (publicSignals[0] !== job.publicInput) {
    throw new ProveError("public_input", `${batch}: proof public signal ${publicSignals[0]} differs from the expected public input ${job.publicInput}`);
  }
  return { batchNumber: job.batchNumber, proof, publicSignals, timings: { witnessMs, proveMs, verifyMs } };
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
