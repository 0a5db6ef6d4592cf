/**
 * The batch circuit and Groth16 keys of every shape of a deployment (PROTOCOL.md §5.5), in
 * `shapesOf` order: compiled (cached under build/circuits) and keyed (.modex/keys/<circuitHash>/).
 * What the devnet, `npm run setup -- --config NAME` and `modex prover worker --config NAME` build.
 */
import { batchCircuitName, batchCircuitSource } from "../circuits/batch";
import { compileCircuit, stderrJsonLog, type CompiledCircuit, type LogFn } from "../circuits/compile";
import { shapeKey, shapesOf, withShape, type Params, type Shape } from "../core/params";
import { ensureKeys, loadKeys, type EnsureKeysOptions, type Keys } from "./keys";
import type { CircuitArtifacts } from "./types";

export interface ShapeKeys {
  readonly shape: Shape;
  readonly circuit: CompiledCircuit;
  readonly keys: Keys;
  /** What a prover of this shape loads. */
  readonly artifacts: CircuitArtifacts;
}

export interface ShapeKeysOptions extends Pick<EnsureKeysOptions, "ptau" | "beacon" | "keysRoot" | "threads"> {
  readonly log?: LogFn;
  /** Make keys where a circuit has none (development keys unless ptau): setup and devnets. Otherwise missing keys are an error. */
  readonly ensure?: boolean;
  /** What to run when keys are missing (for the error). */
  readonly setupHint?: string;
}

export async function shapeKeys(p: Params, o: ShapeKeysOptions = {}): Promise<ShapeKeys[]> {
  const log = o.log ?? stderrJsonLog;
  const out: ShapeKeys[] = [];
  for (const shape of shapesOf(p)) {
    const q = withShape(p, shape);
    const name = batchCircuitName(q);
    const t0 = performance.now();
    const circuit = await compileCircuit({ name, mainSource: batchCircuitSource(q), log });
    const keys = o.ensure
      ? await ensureKeys(circuit, { keysRoot: o.keysRoot, ptau: o.ptau, beacon: o.beacon, threads: o.threads, log })
      : await loadKeys(circuit, { keysRoot: o.keysRoot });
    if (!keys) throw new Error(`no proving keys for ${circuit.name} (${circuit.circuitHash})${o.keysRoot ? ` in ${o.keysRoot}` : ""}; run: ${o.setupHint ?? "npm run setup"}`);
    log({ msg: "shape.ready", shape: shapeKey(shape), circuit: name, constraints: circuit.constraints, insecure: keys.manifest.insecure, seconds: Math.round(performance.now() - t0) / 1000 });
    out.push({ shape, circuit, keys, artifacts: { circuitHash: circuit.circuitHash, wasmPath: circuit.wasmPath, zkeyPath: keys.zkeyPath, vkeyPath: keys.vkeyPath, name } });
  }
  return out;
}
