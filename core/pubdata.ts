/** A batch's public data and the public inputs of its proof (PROTOCOL.md §5.2). */
import { sha256 } from "@noble/hashes/sha256";
import { concatBytes, fromBytesBE, toBytesBE, toHex } from "./field";
import { rollupField } from "./domain";
import { CHUNK_BYTES, FILL_CHUNK_BYTES, FORCED_EXIT_BYTES, type Params } from "./params";
import { OP_WITHDRAW } from "./message";
import { FLOAT40, decodeFloat } from "./float";
import type { Withdrawal } from "./ops/types";

export interface BatchHeader {
  readonly oldRoot: bigint;
  readonly newRoot: bigint;
  readonly queueHashBefore: bigint;
  readonly queueHashAfter: bigint;
  readonly chainId: number;
  readonly timestamp: number;
  /** The Rollup contract the batch is for (address(this) in the contract's pubdata). */
  readonly rollup: `0x${string}`;
  readonly feeTokens: readonly number[];
}

export function withdrawBitmap(chunks: readonly Uint8Array[]): Uint8Array {
  const bm = new Uint8Array(Math.ceil(chunks.length / 8));
  chunks.forEach((c, i) => {
    if (c[0] === OP_WITHDRAW) bm[i >> 3] |= 0x80 >> (i & 7);
  });
  return bm;
}

/** L2 chunks then fill chunks: the `chunks` argument of the contract's submitBatch. */
export function slotData(p: Params, chunks: readonly Uint8Array[], fillChunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length !== p.l2Slots) throw new Error(`expected ${p.l2Slots} chunks`);
  for (const c of chunks) if (c.length !== CHUNK_BYTES) throw new Error(`chunk must be ${CHUNK_BYTES} bytes`);
  if (fillChunks.length !== p.fillSlots) throw new Error(`expected ${p.fillSlots} fill chunks`);
  for (const c of fillChunks) if (c.length !== FILL_CHUNK_BYTES) throw new Error(`fill chunk must be ${FILL_CHUNK_BYTES} bytes`);
  return concatBytes(...chunks, ...fillChunks);
}

/** Each L1 slot's exit amount as a u128 big-endian: the `forcedExits` argument of the contract's submitBatch. */
export function forcedExitData(p: Params, forcedExits: readonly bigint[]): Uint8Array {
  if (forcedExits.length !== p.depositSlots) throw new Error(`expected ${p.depositSlots} forced exit amounts`);
  return concatBytes(...forcedExits.map((a) => toBytesBE(a, FORCED_EXIT_BYTES)));
}

export function encodePubdata(
  p: Params,
  h: BatchHeader,
  chunks: readonly Uint8Array[],
  fillChunks: readonly Uint8Array[],
  forcedExits: readonly bigint[],
): Uint8Array {
  if (h.feeTokens.length !== p.feeBuckets) throw new Error(`expected ${p.feeBuckets} fee tokens`);
  const slots = slotData(p, chunks, fillChunks);
  return concatBytes(
    toBytesBE(h.oldRoot, 32),
    toBytesBE(h.newRoot, 32),
    toBytesBE(h.queueHashBefore, 32),
    toBytesBE(h.queueHashAfter, 32),
    toBytesBE(BigInt(h.chainId), 4),
    toBytesBE(BigInt(h.timestamp), 4),
    toBytesBE(rollupField(h), 20),
    Uint8Array.from(h.feeTokens),
    withdrawBitmap(chunks),
    slots,
    forcedExitData(p, forcedExits),
  );
}

export const PUBLIC_INPUT_MASK = (1n << 253n) - 1n;

/**
 * The header words the proof takes as public inputs of their own instead of hashing them: oldRoot,
 * newRoot, queueHashBefore, queueHashAfter (4 × 32 bytes, each a field element). Hashing them cost the
 * circuit two SHA-256 blocks (≈ 58k constraints); four more Groth16 inputs cost the verifier ≈ 25k gas.
 */
export const PUBLIC_WORDS_BYTES = 32 * 4;

/** A batch proof's public inputs, in the circuit's and the verifier's order (PROTOCOL.md §5.2): `publicSignalsOf`'s. */
export const PUBLIC_INPUT_NAMES = ["data digest", "oldRoot", "newRoot", "queueHashBefore", "queueHashAfter"] as const;

/** The data digest: uint256(sha256(pubdata[128:])) mod 2^253, the pubdata after the four header words. */
export function publicInputOf(pubdata: Uint8Array): bigint {
  if (pubdata.length < PUBLIC_WORDS_BYTES) throw new Error(`pubdata is ${pubdata.length} bytes, shorter than its ${PUBLIC_WORDS_BYTES}-byte header words`);
  return fromBytesBE(sha256(pubdata.subarray(PUBLIC_WORDS_BYTES))) & PUBLIC_INPUT_MASK;
}

/**
 * The proof's public inputs, in the circuit's and the verifier's order: [data digest, oldRoot, newRoot,
 * queueHashBefore, queueHashAfter]. The words are read from the pubdata (§5.2), so this is the contract's
 * list for the same pubdata.
 */
export function publicSignalsOf(pubdata: Uint8Array): bigint[] {
  const word = (i: number): bigint => fromBytesBE(pubdata.subarray(32 * i, 32 * i + 32));
  return [publicInputOf(pubdata), word(0), word(1), word(2), word(3)];
}

/** Byte offset of the fee tokens: after the roots, queue hashes, chain id, timestamp and rollup. */
export const FEE_TOKENS_AT = 32 * 4 + 4 + 4 + 20;

/** Header byte length before the chunks. */
export function headerBytes(p: Params): number {
  return FEE_TOKENS_AT + p.feeBuckets + Math.ceil(p.l2Slots / 8);
}

/** Which pubdata field a byte offset falls in (PROTOCOL.md §5.2), for mismatch messages. */
export function pubdataFieldAt(p: Params, offset: number): string {
  const fields: [string, number][] = [["oldRoot", 32], ["newRoot", 32], ["queueHashBefore", 32], ["queueHashAfter", 32], ["chainId", 4], ["timestamp", 4], ["rollup", 20], ["feeTokens", p.feeBuckets], ["withdrawBitmap", Math.ceil(p.l2Slots / 8)]];
  let o = 0;
  for (const [name, len] of fields) {
    if (offset < o + len) return name;
    o += len;
  }
  if (offset < o + p.l2Slots * CHUNK_BYTES) return `L2 chunk ${Math.floor((offset - o) / CHUNK_BYTES)}`;
  o += p.l2Slots * CHUNK_BYTES;
  if (offset < o + p.fillSlots * FILL_CHUNK_BYTES) return `fill chunk ${Math.floor((offset - o) / FILL_CHUNK_BYTES)}`;
  o += p.fillSlots * FILL_CHUNK_BYTES;
  if (offset < o + p.depositSlots * FORCED_EXIT_BYTES) return `forced exit of L1 slot ${Math.floor((offset - o) / FORCED_EXIT_BYTES)}`;
  return "trailing bytes";
}

export interface DecodedPubdata extends BatchHeader {
  readonly chunks: Uint8Array[];
  readonly fillChunks: Uint8Array[];
  readonly forcedExits: bigint[];
}

export function pubdataBytes(p: Params): number {
  return headerBytes(p) + p.l2Slots * CHUNK_BYTES + p.fillSlots * FILL_CHUNK_BYTES + p.depositSlots * FORCED_EXIT_BYTES;
}

export function decodePubdata(p: Params, data: Uint8Array): DecodedPubdata {
  const expected = pubdataBytes(p);
  if (data.length !== expected) throw new Error(`pubdata is ${data.length} bytes, expected ${expected}`);
  const word = (o: number) => fromBytesBE(data.subarray(o, o + 32));
  const u32 = (o: number) => Number(fromBytesBE(data.subarray(o, o + 4)));
  const feeTokens = [...data.subarray(FEE_TOKENS_AT, FEE_TOKENS_AT + p.feeBuckets)];
  const chunksAt = headerBytes(p);
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < p.l2Slots; i++) chunks.push(data.slice(chunksAt + i * CHUNK_BYTES, chunksAt + (i + 1) * CHUNK_BYTES));
  const fillsAt = chunksAt + p.l2Slots * CHUNK_BYTES;
  const fillChunks: Uint8Array[] = [];
  for (let i = 0; i < p.fillSlots; i++) fillChunks.push(data.slice(fillsAt + i * FILL_CHUNK_BYTES, fillsAt + (i + 1) * FILL_CHUNK_BYTES));
  const exitsAt = fillsAt + p.fillSlots * FILL_CHUNK_BYTES;
  const forcedExits: bigint[] = [];
  for (let i = 0; i < p.depositSlots; i++) forcedExits.push(fromBytesBE(data.subarray(exitsAt + i * FORCED_EXIT_BYTES, exitsAt + (i + 1) * FORCED_EXIT_BYTES)));
  return {
    oldRoot: word(0),
    newRoot: word(32),
    queueHashBefore: word(64),
    queueHashAfter: word(96),
    chainId: u32(128),
    timestamp: u32(132),
    rollup: toHex(data.subarray(136, 156)),
    feeTokens,
    chunks,
    fillChunks,
    forcedExits,
  };
}

/** The withdrawals a batch's chunks emit (what the contract credits). */
export function withdrawalsOf(chunks: readonly Uint8Array[]): Withdrawal[] {
  return chunks
    .filter((c) => c[0] === OP_WITHDRAW)
    .map((c) => ({
      accountId: Number(fromBytesBE(c.subarray(1, 4))),
      token: c[4],
      amount: decodeFloat(FLOAT40, fromBytesBE(c.subarray(5, 10))),
    }));
}
