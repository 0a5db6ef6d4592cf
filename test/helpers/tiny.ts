/** The tiny fixture circuit (test/fixtures/tiny.circom: public signals [h = Poseidon(a, b), c], with c === a·b) and its jobs. */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { poseidon2 } from "poseidon-lite";
import type { ProofJob } from "../../prover/types";

export const TINY_CIRCUIT_SOURCE = readFileSync(path.join(__dirname, "..", "fixtures", "tiny.circom"), "utf8");

/** A job for the tiny circuit: its public signals are [h = Poseidon(a, b), c]; valid unless c ≠ a·b. */
export function tinyJob(batchNumber: number, a: number, b: number, c = a * b): ProofJob {
  return {
    batchNumber,
    circuitInput: { a: String(a), b: String(b), c: String(c) },
    publicSignals: [poseidon2([BigInt(a), BigInt(b)]).toString(), String(c)],
  };
}

/**
 * A second circuit for provers of several circuits: the tiny circuit's constraints under another
 * source (so another circuit hash, another setup and keys). A proof of one does not verify under the other's key.
 */
export const TINY_B_CIRCUIT_SOURCE = `${TINY_CIRCUIT_SOURCE}\n// the second tiny circuit (tests of provers with several circuits)\n`;
