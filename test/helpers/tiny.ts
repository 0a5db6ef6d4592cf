/** The tiny fixture circuit (test/fixtures/tiny.circom: public signals [h = Poseidon(a, b), c], with c === a·b) and its jobs. */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { poseidon2 } from "poseidon-lite";
import type { ProofJob } from "../../prover/types";

export const TINY_CIRCUIT_SOURCE = readFileSync(path.join(__dirname, "..", "fixtures", "tiny.circom"), "utf8");

/** A job for the tiny circuit: its single "batch public input" is h = Poseidon(a, b); valid unless c ≠ a·b. */
export function tinyJob(batchNumber: number, a: number, b: number, c = a * b): ProofJob {
  return {
    batchNumber,
    circuitInput: { a: String(a), b: String(b), c: String(c) },
    publicInput: poseidon2([BigInt(a), BigInt(b)]).toString(),
  };
}
