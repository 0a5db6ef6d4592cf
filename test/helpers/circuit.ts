/** Compiles the batch circuit once per parameter set and evaluates witnesses against it. */
import * as snarkjs from "snarkjs";
import { compileCircuit, type CompiledCircuit } from "../../circuits/compile";
import { batchCircuitName, batchCircuitSource } from "../../circuits/batch";
import type { Params } from "../../core";
import type { CircuitInput } from "../../core/batch";

const compiled = new Map<string, Promise<CompiledCircuit>>();

export function batchCircuit(p: Params): Promise<CompiledCircuit> {
  const name = batchCircuitName(p);
  let c = compiled.get(name);
  if (!c) {
    c = compileCircuit({ name, mainSource: batchCircuitSource(p), log: () => {} });
    compiled.set(name, c);
  }
  return c;
}

/** Computes the witness; throws if any constraint of the circuit fails. */
export async function witness(c: CompiledCircuit, input: CircuitInput): Promise<Uint8Array> {
  const w: { type: "mem"; data?: Uint8Array } = { type: "mem" };
  await snarkjs.wtns.calculate(input, c.wasmPath, w);
  return w.data as Uint8Array;
}

/** Returns the witness calculator's error message, or null if the input satisfies the circuit. */
export async function witnessError(c: CompiledCircuit, input: CircuitInput): Promise<string | null> {
  try {
    await witness(c, input);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Reads named signals out of a witness through the circuit's .sym file (signals the optimizer kept). */
export async function readSignals(c: CompiledCircuit, wtns: Uint8Array, names: string[]): Promise<Map<string, bigint>> {
  const fs = await import("node:fs");
  const wanted = new Set(names);
  const index = new Map<string, number>();
  for (const line of fs.readFileSync(c.symPath, "utf8").split("\n")) {
    const parts = line.split(",");
    if (parts.length < 4) continue;
    const name = parts.slice(3).join(",");
    if (wanted.has(name)) index.set(name, Number(parts[1]));
  }
  // .wtns: "wtns" magic, version, nSections; section 1 header (n8, prime, nWitness); section 2 values (n8 bytes LE each).
  const dv = new DataView(wtns.buffer, wtns.byteOffset, wtns.byteLength);
  let o = 12;
  let n8 = 32;
  let valuesAt = -1;
  const nSections = dv.getUint32(8, true);
  for (let s = 0; s < nSections; s++) {
    const id = dv.getUint32(o, true);
    const size = Number(dv.getBigUint64(o + 4, true));
    if (id === 1) n8 = dv.getUint32(o + 12, true);
    if (id === 2) valuesAt = o + 12;
    o += 12 + size;
  }
  const out = new Map<string, bigint>();
  for (const [name, idx] of index) {
    if (idx < 0) continue;
    let v = 0n;
    for (let b = n8 - 1; b >= 0; b--) v = (v << 8n) | BigInt(wtns[valuesAt + idx * n8 + b]);
    out.set(name, v);
  }
  return out;
}

/** The old and new state roots as the circuit computed them (the queue hash after is bound through the public input). */
export async function circuitRoots(c: CompiledCircuit, wtns: Uint8Array): Promise<bigint[]> {
  const names = ["main.oldRoot", "main.newRoot"];
  const sig = await readSignals(c, wtns, names);
  return names.map((n) => {
    const v = sig.get(n);
    if (v === undefined) throw new Error(`signal ${n} is not in the witness`);
    return v;
  });
}
