/**
 * Replays a batch from what is public (PROTOCOL.md §5.2): its pubdata and the L1 queue records it
 * consumes. Each operation is decoded from its chunk and applied with core's own op modules, so an
 * auditor holds the sequencer to exactly the rules core/ implements:
 *
 *  - queue records: applyQueueRecord (and the queue hash chain with queueHashNext);
 *  - transfers and withdrawals: checkTransfer / checkWithdraw, then executeTransfer / executeWithdraw.
 *    The signature, its nonce and validUntil are not published (the proof binds them), so the
 *    signature check accepts, the nonce is the account's and validUntil is the largest uint32;
 *  - fills: executeFill with each order's counter read from its slot (§4.5: this order id continues
 *    its counter, a smaller id starts from 0, a larger one makes the order unfillable). The orders
 *    themselves are not published either; the rules that the public data decides are checked here
 *    (accounts, tokens, amounts, fee caps, balances, counters), the rest the proof binds;
 *  - fees: the batch's buckets, credited to account 0 after the last slot, as buildBatch does.
 *
 * All or nothing: when an operation cannot apply, the state is left as it was and a ReplayError
 * names the section, the slot and the reason.
 */
import { MAX_U128, MAX_U32, fromBytesBE } from "./field";
import { ProtocolError } from "./errors";
import { FLOAT16, FLOAT40, decodeFloat } from "./float";
import { OP_NOOP, OP_TRANSFER, OP_WITHDRAW } from "./message";
import { CHUNK_BYTES, FILL_CHUNK_BYTES, MAX_ORDER_AMOUNT, maxTokens, shapeKey, shapesOf, withShape, type Params, type Shape } from "./params";
import { encodePubdata, publicSignalsOf, withdrawalsOf, type BatchHeader, type DecodedPubdata } from "./pubdata";
import type { State } from "./state";
import type { SignatureCheck } from "./eddsa";
import { applyQueueRecord, executeQueueRecord, queueHashNext } from "./ops/deposit";
import { checkTransfer, executeTransfer } from "./ops/transfer";
import { checkWithdraw, executeWithdraw } from "./ops/withdraw";
import { executeFill, OP_FILL } from "./ops/fill";
import { filledOf, orderSlotIndex } from "./ops/order";
import { QUEUE_DEPOSIT, QUEUE_FORCED_EXIT, QUEUE_REGISTER, type FillOp, type Order, type QueueRecord, type TransferTx, type Withdrawal, type WithdrawTx } from "./ops/types";

/** The queue-record kinds a replay knows, by name (the one place a new kind is added). */
export const QUEUE_KIND_NAMES: Readonly<Record<number, "registrations" | "deposits" | "forcedExits">> = {
  [QUEUE_REGISTER]: "registrations",
  [QUEUE_DEPOSIT]: "deposits",
  [QUEUE_FORCED_EXIT]: "forcedExits",
};

/** Operations replayed, by type. */
export interface ReplayCounts {
  registrations: number;
  deposits: number;
  forcedExits: number;
  transfers: number;
  withdrawals: number;
  fills: number;
}

export function emptyCounts(): ReplayCounts {
  return { registrations: 0, deposits: 0, forcedExits: 0, transfers: 0, withdrawals: 0, fills: 0 };
}

export function addCounts(a: ReplayCounts, b: ReplayCounts): ReplayCounts {
  return {
    registrations: a.registrations + b.registrations,
    deposits: a.deposits + b.deposits,
    forcedExits: a.forcedExits + b.forcedExits,
    transfers: a.transfers + b.transfers,
    withdrawals: a.withdrawals + b.withdrawals,
    fills: a.fills + b.fills,
  };
}

export type ReplaySection = "queue" | "l2" | "fill" | "fee" | "pubdata";

/** An operation of the batch could not apply: which section, which slot (null for the whole section), why. */
export class ReplayError extends Error {
  readonly section: ReplaySection;
  readonly slot: number | null;
  readonly code: string;
  readonly reason: string;
  constructor(section: ReplaySection, slot: number | null, code: string, reason: string) {
    super(`${section}${slot === null ? "" : ` slot ${slot}`}: ${reason} (${code})`);
    this.name = "ReplayError";
    this.section = section;
    this.slot = slot;
    this.code = code;
    this.reason = reason;
  }
}

export interface ReplayInput {
  /** The batch's public data as the contract hashed it (header fields from the chain, slots from calldata). */
  readonly pubdata: DecodedPubdata;
  /** The queue records the batch consumes, in queue order. */
  readonly records: readonly QueueRecord[];
}

export interface ReplayResult {
  /** The state root before and after the replay. */
  readonly oldRoot: bigint;
  readonly newRoot: bigint;
  readonly queueHashBefore: bigint;
  /** Recomputed from the records. */
  readonly queueHashAfter: bigint;
  /** The pubdata the replay produces (its own roots and queue hashes, chunks re-encoded from the operations). */
  readonly pubdata: Uint8Array;
  /** The data digest (the proof's first public input). */
  readonly publicInput: bigint;
  /** Every public input of the batch's proof (PROTOCOL.md §5.2). */
  readonly publicSignals: bigint[];
  /** What the contract credits on L1 for this batch: L2 withdrawals in slot order, then forced exits. */
  readonly withdrawals: Withdrawal[];
  /** Exit amount of each L1 slot (0 unless it consumed a forced exit). */
  readonly forcedExits: bigint[];
  readonly counts: ReplayCounts;
}

/** The signature of a replayed operation is bound by the proof, not published: the replay accepts it. */
export const acceptSignature: SignatureCheck = () => true;
const NO_SIGNATURE = { r8x: 0n, r8y: 0n, s: 0n } as const;

export type DecodedL2Op =
  | { readonly type: "noop" }
  | { readonly type: "transfer"; readonly from: number; readonly to: number; readonly token: number; readonly amount: bigint; readonly fee: bigint }
  | { readonly type: "withdraw"; readonly account: number; readonly token: number; readonly amount: bigint; readonly fee: bigint };

export interface DecodedFill {
  readonly seller: number;
  readonly sellOrderId: bigint;
  readonly buyer: number;
  readonly buyOrderId: bigint;
  readonly base: number;
  readonly quote: number;
  readonly baseAmount: bigint;
  readonly quoteAmount: bigint;
  readonly sellFee: bigint;
  readonly buyFee: bigint;
}

const u = (c: Uint8Array, from: number, to: number): bigint => fromBytesBE(c.subarray(from, to));

/** One 15-byte L2 chunk (§4.2). Throws a plain Error for a chunk no operation encodes to. */
export function decodeL2Chunk(c: Uint8Array): DecodedL2Op {
  if (c.length !== CHUNK_BYTES) throw new Error(`chunk is ${c.length} bytes, expected ${CHUNK_BYTES}`);
  switch (c[0]) {
    case OP_NOOP:
      if (c.some((b) => b !== 0)) throw new Error("noop chunk with non-zero bytes");
      return { type: "noop" };
    case OP_TRANSFER:
      return { type: "transfer", from: Number(u(c, 1, 4)), to: Number(u(c, 4, 7)), token: c[7], amount: decodeFloat(FLOAT40, u(c, 8, 13)), fee: decodeFloat(FLOAT16, u(c, 13, 15)) };
    case OP_WITHDRAW:
      return { type: "withdraw", account: Number(u(c, 1, 4)), token: c[4], amount: decodeFloat(FLOAT40, u(c, 5, 10)), fee: decodeFloat(FLOAT16, u(c, 10, 12)) };
    default:
      throw new Error(`unknown operation type ${c[0]}`);
  }
}

/** One 51-byte fill chunk (§4.6); null for an unused slot (51 zero bytes). */
export function decodeFillChunk(c: Uint8Array): DecodedFill | null {
  if (c.length !== FILL_CHUNK_BYTES) throw new Error(`fill chunk is ${c.length} bytes, expected ${FILL_CHUNK_BYTES}`);
  if (c.every((b) => b === 0)) return null;
  if (c[0] !== OP_FILL) throw new Error(`fill chunk has type ${c[0]}, expected ${OP_FILL}`);
  return {
    seller: Number(u(c, 1, 4)),
    sellOrderId: u(c, 4, 8),
    buyer: Number(u(c, 8, 11)),
    buyOrderId: u(c, 11, 15),
    base: c[15],
    quote: c[16],
    baseAmount: u(c, 17, 32),
    quoteAmount: u(c, 32, 47),
    sellFee: decodeFloat(FLOAT16, u(c, 47, 49)),
    buyFee: decodeFloat(FLOAT16, u(c, 49, 51)),
  };
}

/**
 * The pubdata a replay produces, from its header and re-encoded chunks (the one place the layout
 * of §5.2 is assembled for a replay).
 */
export function replayPubdata(p: Params, header: BatchHeader, chunks: readonly Uint8Array[], fillChunks: readonly Uint8Array[], forcedExits: readonly bigint[]): Uint8Array {
  return encodePubdata(p, header, chunks, fillChunks, forcedExits);
}

export interface ReplayOptions {
  /** Check and compute everything, then leave `state` as it was (a what-if replay). */
  readonly dryRun?: boolean;
  /**
   * false: apply what the public data says without core's rules (balances, registration, fill
   * bounds), for rebuilding the state of a batch the chain accepted although core refuses it. The
   * data still has to decode and fit the trees; the caller must compare the new root with the chain's.
   */
  readonly rules?: boolean;
}

/**
 * Applies one batch to `state` from its public data and queue records. All or nothing.
 * The replay needs no Merkle witnesses, only the roots before and after: it runs with the state's
 * witnesses off, so each tree node the batch touches is hashed once (State.withoutWitnesses).
 */
export function replayBatch(state: State, input: ReplayInput, options: ReplayOptions = {}): ReplayResult {
  return state.withoutWitnesses(() => replayBatchIn(state, input, options));
}

function replayBatchIn(state: State, input: ReplayInput, options: ReplayOptions): ReplayResult {
  const pd = input.pubdata;
  // The batch's shape is what its public data holds: one of the deployment's (PROTOCOL.md §5.5).
  const shape: Shape = { depositSlots: pd.forcedExits.length, l2Slots: pd.chunks.length, fillSlots: pd.fillChunks.length };
  if (!shapesOf(state.params).some((s) => shapeKey(s) === shapeKey(shape))) {
    throw new ReplayError("pubdata", null, "bad_pubdata", `pubdata of shape ${shapeKey(shape)} is not one of this deployment's (${shapesOf(state.params).map(shapeKey).join(", ")})`);
  }
  const p = withShape(state.params, shape);
  if (input.records.length > p.depositSlots) throw new ReplayError("queue", null, "batch_full", `${input.records.length} queue records, at most ${p.depositSlots} per batch`);
  if (pd.chunks.length !== p.l2Slots || pd.fillChunks.length !== p.fillSlots || pd.feeTokens.length !== p.feeBuckets) {
    throw new ReplayError("pubdata", null, "bad_pubdata", "pubdata does not have this deployment's slot counts");
  }
  const ctx = { chainId: pd.chainId, rollup: pd.rollup, timestamp: pd.timestamp };
  const rules = options.rules ?? true;
  const feeTokens = [...pd.feeTokens];
  const counts = emptyCounts();
  const oldRoot = state.root;
  const protocolError = (section: ReplaySection, slot: number, e: unknown): never => {
    if (e instanceof ReplayError) throw e.slot === null ? new ReplayError(section, slot, e.code, e.reason) : e;
    if (e instanceof ProtocolError) throw new ReplayError(section, slot, e.code, e.message);
    if (e instanceof Error) throw new ReplayError(section, slot, "bad_operation", e.message);
    throw e;
  };

  state.begin();
  try {
    // 1. L1 slots, in queue order.
    let queueHash = pd.queueHashBefore;
    const forcedExits: bigint[] = new Array<bigint>(p.depositSlots).fill(0n);
    const forcedCredits: Withdrawal[] = [];
    input.records.forEach((r, i) => {
      try {
        const w = rules ? applyQueueRecord(state, r) : executeQueueRecord(state, r);
        forcedExits[i] = w.exitAmount;
        if (r.kind === QUEUE_FORCED_EXIT) forcedCredits.push({ accountId: r.accountId, token: r.token, amount: w.exitAmount });
      } catch (e) {
        protocolError("queue", i, e);
      }
      queueHash = queueHashNext(queueHash, r);
      const kind = QUEUE_KIND_NAMES[r.kind];
      if (kind) counts[kind] += 1;
    });

    // 2. L2 slots.
    const feeSums = feeTokens.map(() => 0n);
    const collect = (section: ReplaySection, slot: number, token: number, fee: bigint): void => {
      if (fee === 0n) return;
      const bucket = feeTokens.indexOf(token);
      if (bucket < 0) throw new ReplayError(section, slot, "fee_token_not_in_batch", `fee token ${token} is not one of the batch's fee tokens ${feeTokens.join(",")}`);
      feeSums[bucket] += fee;
    };
    const chunks: Uint8Array[] = [];
    pd.chunks.forEach((c, i) => {
      let op: DecodedL2Op;
      try {
        op = decodeL2Chunk(c);
      } catch (e) {
        throw new ReplayError("l2", i, "bad_chunk", (e as Error).message);
      }
      if (op.type === "noop") {
        chunks.push(new Uint8Array(CHUNK_BYTES));
        return;
      }
      try {
        if (op.type === "transfer") {
          const tx: TransferTx = { ...op, nonce: nonceOf(state, op.from), validUntil: Number(MAX_U32), signature: NO_SIGNATURE };
          if (rules) checkTransfer(state, tx, ctx, acceptSignature);
          chunks.push(executeTransfer(state, tx).chunk);
          counts.transfers += 1;
        } else {
          const tx: WithdrawTx = { ...op, nonce: nonceOf(state, op.account), validUntil: Number(MAX_U32), signature: NO_SIGNATURE };
          if (rules) checkWithdraw(state, tx, ctx, acceptSignature);
          chunks.push(executeWithdraw(state, tx).chunk);
          counts.withdrawals += 1;
        }
      } catch (e) {
        protocolError("l2", i, e);
      }
      collect("l2", i, op.token, op.fee);
    });

    // 3. Fill slots.
    const fillChunks: Uint8Array[] = [];
    pd.fillChunks.forEach((c, i) => {
      let f: DecodedFill | null;
      try {
        f = decodeFillChunk(c);
      } catch (e) {
        throw new ReplayError("fill", i, "bad_chunk", (e as Error).message);
      }
      if (!f) {
        fillChunks.push(new Uint8Array(FILL_CHUNK_BYTES));
        return;
      }
      try {
        if (rules) checkPublicFill(state, f);
        const { fill, sellFilled, buyFilled } = publicFill(state, f);
        fillChunks.push(executeFill(state, fill, sellFilled, buyFilled).chunk);
        counts.fills += 1;
      } catch (e) {
        protocolError("fill", i, e);
      }
      collect("fill", i, f.quote, f.sellFee);
      collect("fill", i, f.base, f.buyFee);
    });

    // 4. Fee credits to account 0, bucket 0 first.
    try {
      state.creditBalances(0, feeTokens.map((token, b) => ({ token, amount: feeSums[b] })));
    } catch (e) {
      protocolError("fee", 0, e);
    }

    const header: BatchHeader = { oldRoot, newRoot: state.root, queueHashBefore: pd.queueHashBefore, queueHashAfter: queueHash, chainId: pd.chainId, timestamp: pd.timestamp, rollup: pd.rollup, feeTokens };
    const pubdata = replayPubdata(p, header, chunks, fillChunks, forcedExits);
    const publicSignals = publicSignalsOf(pubdata);
    if (options.dryRun) state.rollback();
    else state.commit();
    return {
      oldRoot,
      newRoot: header.newRoot,
      queueHashBefore: pd.queueHashBefore,
      queueHashAfter: queueHash,
      pubdata,
      publicInput: publicSignals[0],
      publicSignals,
      // In the contract's order: L2 withdrawals by slot, then forced exits by queue order.
      withdrawals: [...withdrawalsOf(chunks), ...forcedCredits],
      forcedExits,
      counts,
    };
  } catch (e) {
    state.rollback();
    throw e;
  }
}

function nonceOf(state: State, id: number): bigint {
  return Number.isInteger(id) && id >= 0 && id < state.accountCapacity ? state.account(id).nonce : 0n;
}

/** A fill's operation as its public data gives it, and each order's counter before it (§4.5). */
function publicFill(state: State, f: DecodedFill): { fill: FillOp; sellFilled: bigint; buyFilled: bigint } {
  const p = state.params;
  const order = (account: number, orderId: bigint, side: "sell" | "buy"): Order => ({
    account, orderId, base: f.base, quote: f.quote, side, amount: MAX_ORDER_AMOUNT, quoteAmount: MAX_ORDER_AMOUNT, maxFeeBips: 10_000, validUntil: Number(MAX_U32), signature: NO_SIGNATURE,
  });
  const sell = order(f.seller, f.sellOrderId, "sell");
  const buy = order(f.buyer, f.buyOrderId, "buy");
  const sellFilled = filledOf(sell, state.orderSlot(f.seller, orderSlotIndex(p, f.sellOrderId)));
  const buyFilled = filledOf(buy, state.orderSlot(f.buyer, orderSlotIndex(p, f.buyOrderId)));
  const fill: FillOp = { type: "fill", sell, buy, baseAmount: f.baseAmount, quoteAmount: f.quoteAmount, sellFee: f.sellFee, buyFee: f.buyFee };
  return { fill, sellFilled, buyFilled };
}

/**
 * The rules of a fill (§4.6) that its public data decides. The orders' amounts, limits, fee caps and
 * expiry are signed and not published; the proof binds them.
 */
function checkPublicFill(state: State, f: DecodedFill): void {
  const p = state.params;
  const fail = (code: string, reason: string): never => {
    throw new ReplayError("fill", null, code, reason);
  };
  for (const [who, id] of [["seller", f.seller], ["buyer", f.buyer]] as const) {
    if (id >= state.accountCapacity) fail("unknown_account", `${who} ${id} does not exist`);
    if (!state.account(id).registered) fail("unregistered_account", `${who} ${id} is not registered`);
  }
  if (f.seller === f.buyer) fail("self_trade", `account ${f.seller} cannot trade with itself`);
  const tokens = maxTokens(p);
  if (f.base >= tokens || f.quote >= tokens) fail("bad_token", `token ids ${f.base}/${f.quote} outside 0..${tokens - 1}`);
  if (f.base === f.quote) fail("market_mismatch", "base and quote are the same token");
  if (f.baseAmount <= 0n || f.baseAmount > MAX_ORDER_AMOUNT) fail("amount_out_of_range", "fill base amount must be in 1..2^120-1");
  if (f.quoteAmount <= 0n || f.quoteAmount > MAX_ORDER_AMOUNT) fail("amount_out_of_range", "fill quote amount must be in 1..2^120-1");
  // maxFeeBips ≤ 10 000: a fee is at most what it is taken from.
  if (f.sellFee > f.quoteAmount) fail("fee_too_high", `sell fee ${f.sellFee} exceeds the quote amount ${f.quoteAmount}`);
  if (f.buyFee > f.baseAmount) fail("fee_too_high", `buy fee ${f.buyFee} exceeds the base amount ${f.baseAmount}`);
  const { sellFilled, buyFilled } = publicFill(state, f);
  // An order's amount is below 2^120, and its counter never exceeds it.
  if (sellFilled + f.baseAmount > MAX_ORDER_AMOUNT) fail("overfill", `sell order ${f.sellOrderId} would fill ${sellFilled + f.baseAmount}, beyond any order amount`);
  if (buyFilled + f.baseAmount > MAX_ORDER_AMOUNT) fail("overfill", `buy order ${f.buyOrderId} would fill ${buyFilled + f.baseAmount}, beyond any order amount`);
  const sellerBase = state.balance(f.seller, f.base);
  if (sellerBase < f.baseAmount) fail("insufficient_balance", `seller ${f.seller} has ${sellerBase} of token ${f.base}, the fill takes ${f.baseAmount}`);
  const buyerQuote = state.balance(f.buyer, f.quote);
  if (buyerQuote < f.quoteAmount) fail("insufficient_balance", `buyer ${f.buyer} has ${buyerQuote} of token ${f.quote}, the fill takes ${f.quoteAmount}`);
  if (state.balance(f.seller, f.quote) + f.quoteAmount - f.sellFee > MAX_U128) fail("balance_overflow", "seller quote balance would overflow");
  if (state.balance(f.buyer, f.base) + f.baseAmount - f.buyFee > MAX_U128) fail("balance_overflow", "buyer base balance would overflow");
}
