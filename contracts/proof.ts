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

/** A snarkjs Groth16 proof with its protocol and curve fields (what `snarkjs groth16 verify` reads). */
export interface SnarkjsProofJson {
  readonly pi_a: [string, string, string];
  readonly pi_b: [[string, string], [string, string], [string, string]];
  readonly pi_c: [string, string, string];
  readonly protocol: "groth16";
  readonly curve: "bn128";
}

/** The inverse of proofToSolidity: swaps each B pair back and restores the projective coordinates. */
export function proofFromSolidity(p: readonly bigint[]): SnarkjsProofJson {
  if (p.length !== 8) throw new Error(`a Solidity Groth16 proof has 8 words, got ${p.length}`);
  const s = p.map((v) => v.toString());
  return {
    pi_a: [s[0], s[1], "1"],
    pi_b: [[s[3], s[2]], [s[5], s[4]], ["1", "0"]],
    pi_c: [s[6], s[7], "1"],
    protocol: "groth16",
    curve: "bn128",
  };
}
