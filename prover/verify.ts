/**
 * Checks a proof before the sequencer accepts it. Whoever produced it (a local worker process, a
 * worker on another machine over Redis, an external prover binary), a proof is only stored and
 * submitted once it verifies under our own verification key for exactly the batch's public inputs.
 */
import { promises as fsp } from "node:fs";
import { PUBLIC_INPUT_NAMES } from "../core/pubdata";
import type { Groth16Proof } from "./types";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const snarkjs = require("snarkjs");

type Curve = { terminate: () => Promise<void> };
let building: Promise<Curve> | null = null;

/**
 * snarkjs' bn128 curve (a wasm engine and its worker threads), built once per process. snarkjs
 * caches it in globalThis, but two verifications starting together would each build one, and the
 * threads of the one that is not cached would never be terminated (the process could not exit).
 */
function sharedCurve(): Promise<Curve> {
  const cached = (globalThis as { curve_bn128?: Curve | null }).curve_bn128;
  if (cached) return Promise.resolve(cached);
  building ??= (snarkjs.curves.getCurveFromName("bn128") as Promise<Curve>).finally(() => (building = null));
  return building;
}

export interface ProofVerifier {
  readonly vkeyPath: string;
  /** Resolves to null when valid, else the reason it is not. Never throws for a bad proof. */
  check(proof: unknown, publicSignals: unknown, expected: readonly string[]): Promise<string | null>;
}

/** Why a proof's public signals are not the batch's public inputs (every one, in order), or null. */
export function publicSignalsMismatch(got: readonly string[], expected: readonly string[]): string | null {
  if (got.length !== expected.length) return `the proof has ${got.length} public signals, the batch ${expected.length} public inputs`;
  const i = got.findIndex((g, k) => g !== expected[k]);
  return i < 0 ? null : `the proof's public signal ${i} (${PUBLIC_INPUT_NAMES[i] ?? "?"}) is ${got[i]}, the batch's is ${expected[i]}`;
}

/** A list of `n` decimal strings (any length when n is omitted): public signals and proof coordinates as snarkjs writes them. */
export function isDecimalList(v: unknown, n?: number): v is string[] {
  return Array.isArray(v) && (n === undefined || v.length === n) && v.every((x) => typeof x === "string" && /^\d+$/.test(x));
}

export async function createProofVerifier(vkeyPath: string): Promise<ProofVerifier> {
  const vkey = JSON.parse(await fsp.readFile(vkeyPath, "utf8")) as { protocol?: string; nPublic?: number };
  if (vkey.protocol !== "groth16") throw new Error(`verification key ${vkeyPath} is not a groth16 key`);
  return {
    vkeyPath,
    async check(proof, publicSignals, expected) {
      if (!isGroth16Proof(proof)) return "the proof is not a Groth16 proof object";
      if (!isDecimalList(publicSignals, vkey.nPublic ?? 1)) {
        return `public signals ${JSON.stringify(publicSignals).slice(0, 200)} are not ${vkey.nPublic ?? 1} decimal field elements`;
      }
      const mismatch = publicSignalsMismatch(publicSignals, expected);
      if (mismatch) return mismatch;
      let ok: boolean;
      try {
        await sharedCurve();
        ok = (await snarkjs.groth16.verify(vkey, publicSignals, proof)) === true;
      } catch (e) {
        return `verification failed: ${e instanceof Error ? e.message : String(e)}`;
      }
      return ok ? null : `the proof does not verify under ${vkeyPath}`;
    },
  };
}

/** The shape snarkjs gives a BN254 Groth16 proof: decimal coordinates, three points. */
export function isGroth16Proof(p: unknown): p is Groth16Proof {
  if (typeof p !== "object" || p === null) return false;
  const o = p as Record<string, unknown>;
  return (
    isDecimalList(o.pi_a, 3) &&
    isDecimalList(o.pi_c, 3) &&
    Array.isArray(o.pi_b) && o.pi_b.length === 3 && o.pi_b.every((row) => isDecimalList(row, 2)) &&
    o.protocol === "groth16" &&
    o.curve === "bn128"
  );
}
