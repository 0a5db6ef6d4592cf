/** The one field element an L2 operation's owner signs (PROTOCOL.md §4.4). */
import { sha256 } from "@noble/hashes/sha256";
import { toBytesBE, toHex } from "./field";

export const OP_NOOP = 0;
export const OP_DEPOSIT = 1;
export const OP_TRANSFER = 2;
export const OP_WITHDRAW = 3;

export interface MessageFields {
  readonly type: number;
  readonly from: number;
  readonly to: number;
  readonly token: number;
  readonly amountF: bigint;
  readonly feeF: bigint;
  readonly nonce: bigint;
  readonly validUntil: number;
  readonly chainId: number;
}

const LAYOUT: [keyof MessageFields, number][] = [
  ["type", 8],
  ["from", 32],
  ["to", 32],
  ["token", 8],
  ["amountF", 40],
  ["feeF", 16],
  ["nonce", 32],
  ["validUntil", 32],
  ["chainId", 32],
];

export function packMessage(m: MessageFields): bigint {
  let out = 0n;
  let offset = 0n;
  for (const [name, bits] of LAYOUT) {
    const v = BigInt(m[name]);
    if (v < 0n || v >= 1n << BigInt(bits)) throw new RangeError(`message field ${name} out of ${bits}-bit range`);
    out |= v << offset;
    offset += BigInt(bits);
  }
  return out;
}

export function unpackMessage(packed: bigint): MessageFields {
  const o: Record<string, bigint> = {};
  let v = packed;
  for (const [name, bits] of LAYOUT) {
    o[name] = v & ((1n << BigInt(bits)) - 1n);
    v >>= BigInt(bits);
  }
  return {
    type: Number(o.type),
    from: Number(o.from),
    to: Number(o.to),
    token: Number(o.token),
    amountF: o.amountF,
    feeF: o.feeF,
    nonce: o.nonce,
    validUntil: Number(o.validUntil),
    chainId: Number(o.chainId),
  };
}

/** The API's transaction id: sha256 of the signed message as 32 bytes. */
export function txHash(message: bigint): `0x${string}` {
  return toHex(sha256(toBytesBE(message, 32)));
}
