/**
 * circomlibjs' generated Poseidon contract with 4 inputs: the contract the Rollup hashes its
 * L1 queue with (Poseidon_4, the same function as poseidon-lite's poseidon4).
 */
import type { Abi, Hex } from "viem";

interface PoseidonContractGen {
  createCode(nInputs: number): string;
  generateABI(nInputs: number): Abi;
}

function gen(): PoseidonContractGen {
  // circomlibjs has no type definitions; this is its typed boundary. Loaded lazily (it is heavy).
  return (require("circomlibjs") as { poseidonContract: PoseidonContractGen }).poseidonContract;
}

let code: Hex | undefined;
/** Creation bytecode of the Poseidon(4 inputs) contract. */
export function poseidon4Bytecode(): Hex {
  code ??= gen().createCode(4) as Hex;
  return code;
}

/** The ABI circomlibjs generates for it (two `poseidon` overloads: bytes32[4] and uint256[4]). */
export function poseidon4GeneratedAbi(): Abi {
  return gen().generateABI(4);
}
