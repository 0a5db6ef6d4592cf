/** Poseidon over BN254 with 1..16 inputs: the circomlib function, computed by poseidon-lite. */
import * as lite from "poseidon-lite";

type PoseidonFn = (inputs: bigint[]) => bigint;
const byArity: PoseidonFn[] = [];
for (let n = 1; n <= 16; n++) byArity[n] = (lite as unknown as Record<string, PoseidonFn>)[`poseidon${n}`];

export function poseidon(inputs: readonly bigint[]): bigint {
  const fn = byArity[inputs.length];
  if (!fn) throw new Error(`poseidon: unsupported input count ${inputs.length}`);
  return fn(inputs as bigint[]);
}
