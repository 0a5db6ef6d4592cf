/**
 * Is the deployed verifier the one of this verification key? Renders snarkjs' Groth16 Solidity
 * template from the key (as snarkjs' exportSolidityVerifier does: ejs over the key JSON), compiles
 * it with contracts/compile.ts exactly as deployModex compiles the verifier, and compares the runtime
 * bytecode with the code at the rollup's verifier() address, less the CBOR metadata tail of each.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import type { Address, Hex } from "viem";
import { artifact, compileContracts, REPO_ROOT } from "../contracts/compile";
import type { Groth16VerificationKey } from "../prover/keys";
import { readCode, type ChainReader } from "./chain";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const ejs = require("ejs") as { render(template: string, data: object): string };

const TEMPLATE = path.join(REPO_ROOT, "node_modules", "snarkjs", "templates", "verifier_groth16.sol.ejs");

/** The Solidity source snarkjs would export for `vkey`. */
export function renderVerifierSource(vkey: Groth16VerificationKey): string {
  return ejs.render(readFileSync(TEMPLATE, "utf8"), vkey);
}

/** Runtime bytecode of the verifier compiled from `vkey`, as deployModex would deploy it. */
export function verifierRuntime(vkey: Groth16VerificationKey, contractName = "Groth16Verifier"): Hex {
  const compiled = compileContracts({ "Verifier.sol": renderVerifierSource(vkey) });
  return artifact(compiled, contractName).deployedBytecode;
}

/** Drops solc's CBOR metadata: the last two bytes give its length. */
export function stripMetadata(code: Hex): string {
  const h = code.startsWith("0x") ? code.slice(2) : code;
  if (h.length < 4) return h.toLowerCase();
  const len = parseInt(h.slice(-4), 16);
  const cut = (len + 2) * 2;
  return (cut <= h.length ? h.slice(0, h.length - cut) : h).toLowerCase();
}

export interface VerifierCodeCheck {
  readonly address: Address;
  readonly matches: boolean;
  /** Bytes of each, metadata stripped. */
  readonly expectedBytes: number;
  readonly deployedBytes: number;
  /** Why not, when it does not match. */
  readonly reason: string | null;
}

export async function checkVerifierCode(r: ChainReader, address: Address, vkey: Groth16VerificationKey, vkeyLabel: string, block?: bigint): Promise<VerifierCodeCheck> {
  const deployed = stripMetadata(await readCode(r, address, block));
  const expected = stripMetadata(verifierRuntime(vkey));
  const matches = deployed.length > 0 && deployed === expected;
  const reason = matches
    ? null
    : deployed.length === 0
      ? `no code at the verifier address ${address}`
      : `the deployed verifier at ${address} is not the verifier of ${vkeyLabel} (${deployed.length / 2} bytes deployed, ${expected.length / 2} bytes expected, metadata stripped)`;
  return { address, matches, expectedBytes: expected.length / 2, deployedBytes: deployed.length / 2, reason };
}
