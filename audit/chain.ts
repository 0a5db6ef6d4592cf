/**
 * The auditor's chain reader: everything it knows comes from the Rollup's storage views, its events
 * (Enqueued → the L1 queue, BatchFinalized → the batches, WithdrawalCredited → L1 credits) and the
 * calldata of the transactions that finalized each batch. Never the sequencer's API.
 *
 * The submitBatch argument list (decodeSubmitBatch) and the pubdata the contract hashes
 * (contractPubdata) each live in one function here; the queue-record kinds are core's queueRecordOf.
 */
import { createPublicClient, decodeFunctionData, getAddress, http, type Address, type Hex, type PublicClient } from "viem";
import { rollupAbi } from "../contracts/abi";
import type { RollupParams } from "../contracts/deploy";
import type { SolidityProof } from "../contracts/proof";
import { concatBytes, fromHex, toBytesBE } from "../core/field";
import { queueRecordOf } from "../core/ops/deposit";
import type { QueueRecord } from "../core/ops/types";
import { CHUNK_BYTES, FILL_CHUNK_BYTES, FORCED_EXIT_BYTES, shapeKey, shapesOf, type Params, type Shape } from "../core/params";

export interface ChainReader {
  readonly client: PublicClient;
  readonly rollup: Address;
  readonly chainId: number;
  /** First block scanned for events. */
  readonly fromBlock: bigint;
  /** Largest block range per eth_getLogs. */
  readonly logRange: bigint;
}

export async function connectChain(rpcUrl: string, rollup: string, o: { fromBlock?: bigint; logRange?: bigint } = {}): Promise<ChainReader> {
  const client = createPublicClient({ transport: http(rpcUrl) }) as PublicClient;
  const chainId = await client.getChainId();
  const address = getAddress(rollup);
  const code = await client.getCode({ address });
  if (!code || code === "0x") throw new Error(`no contract at ${address} on chain ${chainId} (${rpcUrl})`);
  return { client, rollup: address, chainId, fromBlock: o.fromBlock ?? 0n, logRange: o.logRange ?? 50_000n };
}

export interface RollupInfo {
  /** The trees, fee buckets and every batch shape (params.shapes; the slot counts are the first shape's). */
  readonly params: RollupParams;
  /** The first shape's verifier. */
  readonly verifier: Address;
  /** Each shape's verifier, in the contract's order. */
  readonly verifiers: readonly { readonly shape: Shape; readonly address: Address }[];
  readonly batchNumber: number;
  readonly consumed: number;
  readonly queueLength: number;
  readonly genesisRoot: bigint;
  /** The block every later read is pinned to. */
  readonly block: bigint;
}

export async function readRollupInfo(r: ChainReader): Promise<RollupInfo> {
  const block = await r.client.getBlockNumber();
  const read = <T>(functionName: string, args: readonly unknown[] = []): Promise<T> =>
    r.client.readContract({ address: r.rollup, abi: rollupAbi, functionName: functionName as never, args: args as never, blockNumber: block }) as Promise<T>;
  // params() holds the trees and fee buckets; the slot counts and the verifier are the first shape's (PROTOCOL.md §5.5).
  const [p, shapes, batchNumber, consumed, queueLength, genesisRoot] = await Promise.all([
    read<Pick<RollupParams, "accountLevels" | "balanceLevels" | "feeBuckets">>("params"),
    read<readonly { verifier: Address; depositSlots: number; l2Slots: number; fillSlots: number }[]>("shapes"),
    read<bigint>("batchNumber"),
    read<bigint>("consumed"),
    read<bigint>("queueLength"),
    read<bigint>("batchRoots", [0n]),
  ]);
  const [first] = shapes;
  const list: Shape[] = shapes.map((x) => ({ depositSlots: Number(x.depositSlots), l2Slots: Number(x.l2Slots), fillSlots: Number(x.fillSlots) }));
  const params: RollupParams = {
    accountLevels: p.accountLevels, balanceLevels: p.balanceLevels, depositSlots: first.depositSlots, l2Slots: first.l2Slots, fillSlots: first.fillSlots, feeBuckets: p.feeBuckets,
    ...(list.length > 1 ? { shapes: list } : {}),
  };
  const verifiers = shapes.map((x, i) => ({ shape: list[i], address: x.verifier }));
  return { params, verifier: first.verifier, verifiers, batchNumber: Number(batchNumber), consumed: Number(consumed), queueLength: Number(queueLength), genesisRoot, block };
}

export async function readBatchRoot(r: ChainReader, n: number, block?: bigint): Promise<bigint> {
  return r.client.readContract({ address: r.rollup, abi: rollupAbi, functionName: "batchRoots", args: [BigInt(n)], blockNumber: block });
}

/** One L1 queue record as its Enqueued event tells it. */
export interface QueueEntry {
  readonly index: number;
  readonly record: QueueRecord;
  readonly sender: Address;
  /** queueHash[index + 1] as the contract computed it. */
  readonly queueHash: bigint;
  readonly blockNumber: bigint;
  readonly txHash: Hex;
}

async function eventsInRange<T>(r: ChainReader, toBlock: bigint, fetch: (from: bigint, to: bigint) => Promise<T[]>): Promise<T[]> {
  const out: T[] = [];
  for (let from = r.fromBlock; from <= toBlock; from += r.logRange) {
    const to = from + r.logRange - 1n < toBlock ? from + r.logRange - 1n : toBlock;
    out.push(...(await fetch(from, to)));
  }
  return out;
}

/** Every Enqueued event up to `toBlock`, by queue index; throws unless the indices are 0, 1, 2, … */
export async function readQueue(r: ChainReader, toBlock: bigint): Promise<QueueEntry[]> {
  const logs = await eventsInRange(r, toBlock, (fromBlock, to) =>
    r.client.getContractEvents({ address: r.rollup, abi: rollupAbi, eventName: "Enqueued", fromBlock, toBlock: to, strict: true }),
  );
  const entries = logs.map((l) => {
    const a = l.args;
    return { index: Number(a.index), record: queueRecordOf(a), sender: a.sender, queueHash: a.queueHash, blockNumber: l.blockNumber, txHash: l.transactionHash };
  });
  entries.sort((x, y) => x.index - y.index);
  entries.forEach((e, i) => {
    if (e.index !== i) throw new Error(`Enqueued events are not contiguous: expected index ${i}, got ${e.index} (is --from-block after the deployment?)`);
  });
  return entries;
}

/** submitBatch's decoded arguments. */
export interface SubmitBatchCall {
  readonly newRoot: bigint;
  readonly timestamp: number;
  readonly depositCount: number;
  readonly feeTokens: Uint8Array;
  readonly withdrawBitmap: Uint8Array;
  /** L2 chunks ‖ fill chunks. */
  readonly chunks: Uint8Array;
  /** The forcedExits argument when the ABI has one (issue 5's forced exits), else null. */
  readonly forcedExits: Uint8Array | null;
  readonly proof: SolidityProof;
}

/** Decodes a submitBatch transaction's input (the one place its argument list is read). */
export function decodeSubmitBatch(input: Hex): SubmitBatchCall {
  const d = decodeFunctionData({ abi: rollupAbi, data: input });
  if (d.functionName !== "submitBatch") throw new Error(`the transaction calls ${d.functionName}, not submitBatch`);
  // By argument name, so an argument added to submitBatch does not shift the others.
  const item = rollupAbi.find((x) => x.type === "function" && x.name === "submitBatch") as { inputs: readonly { name: string }[] };
  const a: Record<string, unknown> = Object.fromEntries(item.inputs.map((x, i) => [x.name, (d.args as readonly unknown[])[i]]));
  const hex = (k: string): Uint8Array => fromHex(a[k] as Hex);
  return {
    newRoot: a.newRoot as bigint,
    timestamp: a.timestamp as number,
    depositCount: a.depositCount as number,
    feeTokens: hex("feeTokens"),
    withdrawBitmap: hex("withdrawBitmap"),
    chunks: hex("chunks"),
    forcedExits: "forcedExits" in a ? hex("forcedExits") : null,
    proof: [...(a.proof as readonly bigint[])] as unknown as SolidityProof,
  };
}

/** The header fields the contract takes from its own storage and the chain, not from calldata. */
export interface ContractHeader {
  readonly oldRoot: bigint;
  readonly queueHashBefore: bigint;
  readonly queueHashAfter: bigint;
  readonly chainId: number;
  /** The rollup itself (address(this)). */
  readonly rollup: `0x${string}`;
}

/**
 * The pubdata the contract hashed for `call` (Rollup._pubdata): oldRoot ‖ newRoot ‖ queueHashBefore ‖
 * queueHashAfter ‖ chainId ‖ timestamp ‖ rollup ‖ feeTokens ‖ withdrawBitmap ‖ chunks (‖ forcedExits, when submitBatch has it), with the calldata's
 * sections as sent (not recomputed), so the public input is the one the proof was checked against.
 */
export function contractPubdata(h: ContractHeader, call: SubmitBatchCall): Uint8Array {
  return concatBytes(
    toBytesBE(h.oldRoot, 32),
    toBytesBE(call.newRoot, 32),
    toBytesBE(h.queueHashBefore, 32),
    toBytesBE(h.queueHashAfter, 32),
    toBytesBE(BigInt(h.chainId), 4),
    toBytesBE(BigInt(call.timestamp), 4),
    toBytesBE(BigInt(h.rollup), 20),
    call.feeTokens,
    call.withdrawBitmap,
    call.chunks,
    call.forcedExits ?? new Uint8Array(0),
  );
}

/**
 * The batch's shape as the contract finds it (Rollup._checkBatch, PROTOCOL.md §5.5): the shape whose
 * chunks and forcedExits lengths the calldata has, then the checks against it. Either the shape, or
 * why the contract would have refused the lengths.
 */
export function calldataShape(p: Params, call: SubmitBatchCall): { readonly shape: Shape; readonly error: null } | { readonly shape: null; readonly error: string } {
  const no = (error: string) => ({ shape: null, error }) as const;
  if (call.feeTokens.length !== p.feeBuckets) return no(`feeTokens is ${call.feeTokens.length} bytes, expected ${p.feeBuckets}`);
  const shapes = shapesOf(p);
  // Calldata from before forced exits carries none: the first shape's (the only one then).
  const forcedBytes = call.forcedExits === null ? null : call.forcedExits.length;
  const shape = shapes.find((x) => x.l2Slots * CHUNK_BYTES + x.fillSlots * FILL_CHUNK_BYTES === call.chunks.length && (forcedBytes === null || forcedBytes === FORCED_EXIT_BYTES * x.depositSlots));
  if (!shape) return no(`chunks of ${call.chunks.length} bytes and forcedExits of ${forcedBytes ?? "no"} bytes are no shape of the rollup (${shapes.map(shapeKey).join(", ")})`);
  if (call.withdrawBitmap.length !== Math.ceil(shape.l2Slots / 8)) return no(`withdrawBitmap is ${call.withdrawBitmap.length} bytes, expected ${Math.ceil(shape.l2Slots / 8)} for shape ${shapeKey(shape)}`);
  if (call.depositCount > shape.depositSlots) return no(`depositCount ${call.depositCount} exceeds ${shape.depositSlots} for shape ${shapeKey(shape)}`);
  return { shape, error: null };
}

export interface WithdrawalCredit {
  readonly accountId: number;
  readonly owner: Address;
  readonly token: number;
  readonly amount: bigint;
}

/** One finalized batch: its BatchFinalized event, its transaction's decoded calldata and its WithdrawalCredited events. */
export interface FinalizedBatch {
  readonly batchNumber: number;
  readonly newRoot: bigint;
  readonly oldRoot: bigint;
  readonly depositCount: number;
  readonly timestamp: number;
  readonly txHash: Hex;
  readonly blockNumber: bigint;
  /** null when the transaction's input is not a submitBatch call (see callError). */
  readonly call: SubmitBatchCall | null;
  readonly callError: string | null;
  readonly withdrawals: WithdrawalCredit[];
}

/** Finalized batches in [from, to] (batch numbers), read up to `toBlock`. */
export async function readBatches(r: ChainReader, from: number, to: number, toBlock: bigint): Promise<Map<number, FinalizedBatch>> {
  const out = new Map<number, FinalizedBatch>();
  if (to < from) return out;
  const [finalized, credited] = await Promise.all([
    eventsInRange(r, toBlock, (fromBlock, t) => r.client.getContractEvents({ address: r.rollup, abi: rollupAbi, eventName: "BatchFinalized", fromBlock, toBlock: t, strict: true })),
    eventsInRange(r, toBlock, (fromBlock, t) => r.client.getContractEvents({ address: r.rollup, abi: rollupAbi, eventName: "WithdrawalCredited", fromBlock, toBlock: t, strict: true })),
  ]);
  const credits = new Map<number, { log: number; block: bigint; w: WithdrawalCredit }[]>();
  for (const l of credited) {
    const n = Number(l.args.batchNumber);
    if (n < from || n > to) continue;
    const list = credits.get(n) ?? [];
    list.push({ log: l.logIndex, block: l.blockNumber, w: { accountId: l.args.accountId, owner: l.args.owner, token: l.args.token, amount: l.args.amount } });
    credits.set(n, list);
  }
  const wanted = finalized.filter((l) => Number(l.args.batchNumber) >= from && Number(l.args.batchNumber) <= to);
  const txs = await mapLimit(wanted, 8, (l) => r.client.getTransaction({ hash: l.transactionHash }));
  wanted.forEach((l, i) => {
    const n = Number(l.args.batchNumber);
    const tx = txs[i];
    let call: SubmitBatchCall | null = null;
    let callError: string | null = null;
    try {
      if (!tx.to || getAddress(tx.to) !== r.rollup) throw new Error(`transaction ${l.transactionHash} is sent to ${tx.to ?? "nothing"}, not the rollup (a call through another contract is not decoded)`);
      call = decodeSubmitBatch(tx.input);
    } catch (e) {
      callError = e instanceof Error ? e.message.split("\n")[0] : String(e);
    }
    const ws = (credits.get(n) ?? []).sort((a, b) => (a.block === b.block ? a.log - b.log : a.block < b.block ? -1 : 1)).map((c) => c.w);
    out.set(n, {
      batchNumber: n,
      newRoot: l.args.newRoot,
      oldRoot: l.args.oldRoot,
      depositCount: l.args.depositCount,
      timestamp: l.args.timestamp,
      txHash: l.transactionHash,
      blockNumber: l.blockNumber,
      call,
      callError,
      withdrawals: ws,
    });
  });
  return out;
}

/** Bytecode deployed at `address` (0x when none). */
export async function readCode(r: ChainReader, address: Address, block?: bigint): Promise<Hex> {
  return (await r.client.getCode({ address, blockNumber: block })) ?? "0x";
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}
