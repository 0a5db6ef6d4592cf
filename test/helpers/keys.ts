/** The test configuration's batch circuit with development keys, built once per process (cached on disk). */
import { CONFIGS } from "../../core";
import { ensureKeys, type Keys } from "../../prover/keys";
import type { CompiledCircuit } from "../../circuits/compile";
import type { CircuitArtifacts } from "../../prover/types";
import { batchCircuit } from "./circuit";

let built: Promise<{ circuit: CompiledCircuit; keys: Keys; artifacts: CircuitArtifacts }> | null = null;

export function testCircuitKeys() {
  built ??= (async () => {
    const circuit = await batchCircuit(CONFIGS.test);
    const keys = await ensureKeys(circuit, { log: () => {} });
    const artifacts = { circuitHash: circuit.circuitHash, wasmPath: circuit.wasmPath, zkeyPath: keys.zkeyPath, vkeyPath: keys.vkeyPath };
    return { circuit, keys, artifacts };
  })();
  return built;
}
