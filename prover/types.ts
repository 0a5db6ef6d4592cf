/** The prover's boundary: the sequencer hands over a batch's circuit input and gets a verified proof back. */
import type { CircuitInput } from "../core/batch";

/** Files a worker needs to prove one circuit; identical on every machine that proves it. */
export interface CircuitArtifacts {
  /** sha256 over the circuit sources and parameters (circuits/compile.ts). */
  readonly circuitHash: string;
  readonly wasmPath: string;
  readonly zkeyPath: string;
  readonly vkeyPath: string;
}

export interface Groth16Proof {
  readonly pi_a: string[];
  readonly pi_b: string[][];
  readonly pi_c: string[];
  readonly protocol: string;
  readonly curve: string;
}

export interface ProofJob {
  readonly batchNumber: number;
  readonly circuitInput: CircuitInput;
  /** The public input core/ computed; the proof's public signal must equal it. */
  readonly publicInput: string;
}

export interface ProofResult {
  readonly batchNumber: number;
  readonly proof: Groth16Proof;
  readonly publicSignals: string[];
  readonly timings: { readonly witnessMs: number; readonly proveMs: number; readonly verifyMs: number };
  /** Which worker produced it (pid or id), for logs and metrics. */
  readonly worker: string;
}

/** Proves batches; several may be in flight at once. Every result is verified against the vkey before it resolves. */
export interface Prover {
  prove(job: ProofJob): Promise<ProofResult>;
  /** Jobs waiting or running. */
  readonly pending: number;
  close(): Promise<void>;
}
