/**
 * The deployment a signature is for (PROTOCOL.md §4.4): the chain and the Rollup contract's address.
 * Every signed message (transfer, withdrawal, order, cancel) packs its fields, chain id included, into
 * one field element; what the owner signs is that element hashed with the rollup's address, so a key
 * registered in two deployments on one chain cannot have its operations replayed across them.
 */
import { poseidon } from "./poseidon";

export interface Domain {
  readonly chainId: number;
  /** The Rollup contract, 0x and 40 hex digits (any case). */
  readonly rollup: `0x${string}`;
}

/** The rollup's address as a field element (160 bits). */
export function rollupField(d: Pick<Domain, "rollup">): bigint {
  if (typeof d.rollup !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(d.rollup)) throw new RangeError(`rollup must be a 0x-prefixed 20-byte address, got ${String(d.rollup)}`);
  return BigInt(d.rollup);
}

/** What an owner signs: Poseidon(packed message, rollup address). */
export function signedMessage(packed: bigint, d: Pick<Domain, "rollup">): bigint {
  return poseidon([packed, rollupField(d)]);
}
