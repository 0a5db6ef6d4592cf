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

/**
 * Recent signed messages by (packed, rollup). One operation's message is needed several times on its
 * way (its hash at acceptance, the signature check, the pending view, the batch cut) and a Poseidon
 * hash costs about 0.25 ms here, so each is computed once. Bounded: the oldest entry goes first.
 */
const MESSAGE_CACHE_SIZE = 8192;
const messageCache = new Map<string, bigint>();

/** What an owner signs: Poseidon(packed message, rollup address). */
export function signedMessage(packed: bigint, d: Pick<Domain, "rollup">): bigint {
  const rollup = rollupField(d);
  const key = `${packed.toString(16)}:${rollup.toString(16)}`;
  const cached = messageCache.get(key);
  if (cached !== undefined) return cached;
  const message = poseidon([packed, rollup]);
  if (messageCache.size >= MESSAGE_CACHE_SIZE) messageCache.delete(messageCache.keys().next().value as string);
  messageCache.set(key, message);
  return message;
}
