/** Groth16 proofs as the Rollup takes them (snarkjs' Solidity calldata order). */

/** A snarkjs Groth16 proof (`proof` from groth16.prove / fullProve), coordinates as decimal strings. */
export interface SnarkjsGroth16Proof {
  readonly pi_a: readonly string[];
  readonly pi_b: readonly (readonly string[])[];
  readonly pi_c: readonly string[];
}

/** [a0, a1, b00, b01, b10, b11, c0, c1] as submitBatch's `uint256[8] proof`. */
export type SolidityProof = readonly [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];

/**
 * Flattens a snarkjs proof into submitBatch's proof argument. Like snarkjs' exportSolidityCallData,
 * each G2 coordinate pair of B is swapped: the precompile takes (imaginary, real), snarkjs stores (real, imaginary).
 */
export function proofToSolidity(p: SnarkjsGroth16Proof): SolidityProof {
  const b = p.pi_b;
  return [p.pi_a[0], p.pi_a[1], b[0][1], b[0][0], b[1][1], b[1][0], p.pi_c[0], p.pi_c[1]].map((v) => {
    if (v === undefined) throw new Error("malformed Groth16 proof");
    return BigInt(v);
  }) as unknown as SolidityProof;
}
