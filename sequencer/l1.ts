/**
 * The sequencer's view of L1: the Rollup's views, its Enqueued events, and batch submission.
 * Thin wrappers over viem with the types the sequencer uses; no sequencer state here.
 */
import { BaseError, ContractFunctionRevertedError, getAddress, type Address, type Hex } from "viem";
import { rollupAbi } from "../contracts/abi";
import { connectL1, type L1Clients } from "../contracts/clients";
import { proofToSolidity, type SolidityProof } from "../contracts/proof";
import { fromHex, toHex } from "../core/field";
import { FEE_TOKENS_AT, headerBytes } from "../core/pubdata";
import { shapeKey, shapesOf, type Params, type Shape } from "../core/params";
import type { QueueRecord } from "../core/ops/types";
import { queueRecordOf } from "../core/ops/deposit";
import type { Groth16Proof } from "../prover/types";

export interface L1Options {
  readonly rpcUrl: string;
  readonly rollup: Address;
  /** Key of the account that sends submitBatch. */
  readonly privateKey: Hex;
  /** First block to scan for Enqueued events (default 0; the deployment block is enough). */
  readonly fromBlock?: bigint;
  /** L1 polling interval in ms (default 500). */
  readonly pollIntervalMs?: number;
  /** Largest block range per eth_getLogs (default 5 000). */
  readonly maxLogRange?: number;
}

export interface L1 {
  readonly clients: L1Clients;
  readonly rollup: Address;
  readonly chainId: number;
}

export interface LatestBlock {
  readonly number: bigint;
  readonly timestamp: number;
}

export interface EnqueuedEvent {
  readonly index: number;
  readonly record: QueueRecord;
  readonly sender: Address;
  readonly queueHash: bigint;
  readonly blockNumber: number;
  readonly txHash: Hex;
  readonly logIndex: number;
}

export interface RollupChainState {
  readonly batchNumber: number;
  readonly consumed: number;
  readonly queueLength: number;
  readonly lastTimestamp: number;
  /** Frozen after a forced withdrawal passed its deadline (PROTOCOL.md §6.3): no batch finalizes again. */
  readonly frozen: boolean;
}

/** What submitBatch takes, derived from a stored batch (PROTOCOL.md §5.2 pubdata layout). */
export interface SubmitArgs {
  readonly newRoot: bigint;
  readonly timestamp: number;
  readonly depositCount: number;
  readonly pubdata: Hex;
  readonly proof: Groth16Proof;
}

export async function connectRollup(o: L1Options): Promise<L1> {
  const clients = await connectL1({ rpcUrl: o.rpcUrl, privateKey: o.privateKey, pollingIntervalMs: Math.min(o.pollIntervalMs ?? 500, 250) });
  return { clients, rollup: getAddress(o.rollup), chainId: clients.chain.id };
}

export async function latestBlock(l1: L1): Promise<LatestBlock> {
  const b = await l1.clients.publicClient.getBlock({ blockTag: "latest" });
  return { number: b.number, timestamp: Number(b.timestamp) };
}

/**
 * The earliest block.timestamp a transaction sent now executes at: the pending block's (anvil and
 * most nodes build it at the current time), else the latest block's.
 */
export async function nextBlockTime(l1: L1): Promise<number> {
  const pending = await l1.clients.publicClient.getBlock({ blockTag: "pending" }).catch(() => null);
  if (pending) return Number(pending.timestamp);
  return (await latestBlock(l1)).timestamp;
}

/** Seconds a batch's timestamp may lag the block that finalizes it (PROTOCOL.md §3). */
export async function maxTimestampLag(l1: L1): Promise<number> {
  return l1.clients.publicClient.readContract({ address: l1.rollup, abi: rollupAbi, functionName: "maxTimestampLag" });
}

/**
 * The parameters the Rollup was built with: params() (trees, fee buckets) and shapes() (PROTOCOL.md
 * §5.5), in the contract's order; the slot counts are the first shape's, as in core's Params.
 */
export async function rollupParams(l1: L1): Promise<Omit<Params, "orderLevels"> & { readonly shapes: readonly Shape[] }> {
  const read = { address: l1.rollup, abi: rollupAbi } as const;
  const [p, onChainShapes] = await Promise.all([
    l1.clients.publicClient.readContract({ ...read, functionName: "params" }),
    l1.clients.publicClient.readContract({ ...read, functionName: "shapes" }),
  ]);
  const shapes = onChainShapes.map((s) => ({ depositSlots: s.depositSlots, l2Slots: s.l2Slots, fillSlots: s.fillSlots }));
  if (shapes.length === 0) throw new Error(`Rollup ${l1.rollup} has no batch shapes`);
  return { accountLevels: p.accountLevels, balanceLevels: p.balanceLevels, ...shapes[0], feeBuckets: p.feeBuckets, shapes };
}

/** "accountLevels 2, balanceLevels 1, feeBuckets 2, shapes d1-n2-m1, d1-n0-m1". */
function describeRollupParams(p: Pick<Params, "accountLevels" | "balanceLevels" | "feeBuckets">, shapes: readonly Shape[]): string {
  return `accountLevels ${p.accountLevels}, balanceLevels ${p.balanceLevels}, feeBuckets ${p.feeBuckets}, shapes ${shapes.map(shapeKey).join(", ")}`;
}

/**
 * Throws unless the Rollup was built for `p`: the same trees and fee buckets (params()) and the same
 * shapes in the same order (shapes() against shapesOf(p)); the error names both sets.
 */
export async function checkRollupParams(l1: L1, p: Params): Promise<void> {
  const onChain = await rollupParams(l1);
  const want = shapesOf(p);
  const same =
    onChain.accountLevels === p.accountLevels &&
    onChain.balanceLevels === p.balanceLevels &&
    onChain.feeBuckets === p.feeBuckets &&
    onChain.shapes.map(shapeKey).join() === want.map(shapeKey).join();
  if (!same) {
    throw new Error(`Rollup ${l1.rollup} was built for ${describeRollupParams(onChain, onChain.shapes)}; the configured parameters are ${describeRollupParams(p, want)}`);
  }
}

export async function chainState(l1: L1): Promise<RollupChainState> {
  const read = (functionName: "batchNumber" | "consumed" | "queueLength" | "lastTimestamp") =>
    l1.clients.publicClient.readContract({ address: l1.rollup, abi: rollupAbi, functionName });
  const [batchNumber, consumed, queueLength, lastTimestamp, frozen] = await Promise.all([
    read("batchNumber"),
    read("consumed"),
    read("queueLength"),
    read("lastTimestamp"),
    l1.clients.publicClient.readContract({ address: l1.rollup, abi: rollupAbi, functionName: "frozen" }),
  ]);
  return { batchNumber: Number(batchNumber), consumed: Number(consumed), queueLength: Number(queueLength), lastTimestamp: Number(lastTimestamp), frozen };
}

/** The oldest forced withdrawal no finalized batch has processed yet (PROTOCOL.md §6.2), or null. */
export interface ForcedRequestInfo {
  readonly forcedId: number;
  readonly queueIndex: number;
  readonly deadline: bigint;
  /** Unprocessed forced requests in all. */
  readonly pending: number;
}

export async function oldestForcedRequest(l1: L1): Promise<ForcedRequestInfo | null> {
  const read = (functionName: "nextForced" | "forcedCount") => l1.clients.publicClient.readContract({ address: l1.rollup, abi: rollupAbi, functionName });
  const [next, count] = await Promise.all([read("nextForced"), read("forcedCount")]);
  if (next >= count) return null;
  const r = await l1.clients.publicClient.readContract({ address: l1.rollup, abi: rollupAbi, functionName: "forcedRequest", args: [next] });
  return { forcedId: Number(next), queueIndex: Number(r.queueIndex), deadline: r.deadline, pending: Number(count - next) };
}

export async function batchRoot(l1: L1, n: number): Promise<bigint> {
  return l1.clients.publicClient.readContract({ address: l1.rollup, abi: rollupAbi, functionName: "batchRoots", args: [BigInt(n)] });
}

/** Enqueued events in [fromBlock, toBlock], in chain order. */
export async function enqueuedEvents(l1: L1, fromBlock: bigint, toBlock: bigint): Promise<EnqueuedEvent[]> {
  const logs = await l1.clients.publicClient.getContractEvents({
    address: l1.rollup,
    abi: rollupAbi,
    eventName: "Enqueued",
    fromBlock,
    toBlock,
    strict: true,
  });
  return logs.map((l) => {
    const a = l.args;
    let record: QueueRecord;
    try {
      record = queueRecordOf(a);
    } catch (e) {
      throw new Error(`Enqueued ${a.index}: ${(e as Error).message}`);
    }
    if (l.blockNumber === null || l.transactionHash === null || l.logIndex === null) throw new Error("Enqueued log without position (pending block?)");
    return {
      index: Number(a.index),
      record,
      sender: a.sender,
      queueHash: a.queueHash,
      blockNumber: Number(l.blockNumber),
      txHash: l.transactionHash,
      logIndex: l.logIndex,
    };
  });
}

/** submitBatch(newRoot, timestamp, depositCount, feeTokens, withdrawBitmap, chunks, forcedExits, proof). */
export type SubmitBatchCallArgs = readonly [bigint, number, number, Hex, Hex, Hex, Hex, SolidityProof];

/**
 * submitBatch's arguments, cut out of pubdata = header ‖ feeTokens ‖ withdrawBitmap ‖ chunks ‖ forcedExits
 * (forcedExits: the last 16·depositSlots bytes; chunks: the L2 and fill chunks between the header and them).
 */
export function submitBatchArgs(p: Params, a: SubmitArgs): SubmitBatchCallArgs {
  const pd = fromHex(a.pubdata);
  const feeAt = FEE_TOKENS_AT;
  const bitmapAt = feeAt + p.feeBuckets;
  const chunksAt = headerBytes(p);
  const forcedAt = pd.length - 16 * p.depositSlots;
  if (forcedAt < chunksAt) throw new Error(`pubdata of ${pd.length} bytes is shorter than its header and forced exits`);
  return [
    a.newRoot,
    a.timestamp,
    a.depositCount,
    toHex(pd.subarray(feeAt, bitmapAt)),
    toHex(pd.subarray(bitmapAt, chunksAt)),
    toHex(pd.subarray(chunksAt, forcedAt)),
    toHex(pd.subarray(forcedAt)),
    proofToSolidity(a.proof),
  ] as const;
}

/**
 * Simulates submitBatch in the pending block (reverts surface here, decoded, without spending gas;
 * its block.timestamp is the one the transaction will see, not the latest block's), then sends it.
 */
export async function sendSubmitBatch(l1: L1, p: Params, a: SubmitArgs): Promise<Hex> {
  const call = { account: l1.clients.account, address: l1.rollup, abi: rollupAbi, functionName: "submitBatch", args: submitBatchArgs(p, a) } as const;
  await l1.clients.publicClient.simulateContract({ ...call, blockTag: "pending" });
  return l1.clients.walletClient.writeContract(call);
}

/** The public inputs the contract would verify the proof against (for diagnosing InvalidProof). */
export async function contractPublicInputs(l1: L1, p: Params, a: SubmitArgs): Promise<readonly bigint[]> {
  const args = submitBatchArgs(p, a);
  return l1.clients.publicClient.readContract({
    address: l1.rollup,
    abi: rollupAbi,
    functionName: "computePublicInputs",
    args: [args[0], args[1], args[2], args[3], args[4], args[5], args[6]],
  });
}

export interface RevertInfo {
  readonly errorName: string;
  readonly args: readonly unknown[];
}

/** The Rollup's custom error inside a viem error, if the failure was a contract revert. */
export function decodeRevert(e: unknown): RevertInfo | null {
  if (!(e instanceof BaseError)) return null;
  const r = e.walk((x) => x instanceof ContractFunctionRevertedError);
  if (!(r instanceof ContractFunctionRevertedError)) return null;
  return { errorName: r.data?.errorName ?? r.reason ?? "unknown revert", args: r.data?.args ?? [] };
}

export function formatRevert(r: RevertInfo): string {
  const args = r.args.map((x) => (typeof x === "bigint" ? x.toString() : JSON.stringify(x))).join(", ");
  return `${r.errorName}(${args})`;
}
