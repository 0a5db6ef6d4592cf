/**
 * The batch state-transition function: applies L1 queue records, L2 operations and fee
 * credits to a state and returns the new root, the public data, the public input and the
 * circuit's input. All or nothing: on any invalid operation the state is left untouched.
 */
import type { SignatureCheck } from "./eddsa";
import { fail, ProtocolError } from "./errors";
import { ACCOUNT_ARITY, BALANCE_ARITY, ORDER_ARITY, shapeOf, withShape, type Params, type Shape } from "./params";
import type { State, AccountWitness, MultiBalanceWitness, TradeWitness } from "./state";
import { encodeOrderAmounts, slotOfLeaf } from "./ops/order";
import { applyDepositNoop, applyQueueRecord, queueHashNext } from "./ops/deposit";
import { applyTransfer } from "./ops/transfer";
import { applyWithdraw } from "./ops/withdraw";
import { applyNoop } from "./ops/noop";
import { applyFill, fillFees, fillNoop, type FillSlotWitness } from "./ops/fill";
import { QUEUE_FORCED_EXIT, QUEUE_REGISTER, type BatchContext, DepositSlotWitness, FillOp, L2SlotWitness, L2Tx, Order, QueueRecord, Withdrawal } from "./ops/types";
import { encodePubdata, forcedExitData, publicSignalsOf, slotData, withdrawalsOf } from "./pubdata";
import { rollupField } from "./domain";

export interface BatchInput {
  readonly chainId: number;
  /** The Rollup contract: signatures are bound to it and the pubdata names it (PROTOCOL.md §4.4, §5.2). */
  readonly rollup: `0x${string}`;
  readonly timestamp: number;
  readonly queueHashBefore: bigint;
  /** Queue records to consume, in queue order (at most depositSlots). */
  readonly deposits: readonly QueueRecord[];
  /** L2 operations, in order (at most l2Slots). */
  readonly txs: readonly L2Tx[];
  /** Order fills, in order (at most fillSlots); executed after the L2 slots. */
  readonly fills?: readonly FillOp[];
  /** Fee tokens of the batch; derived from `txs` and `fills` when omitted. */
  readonly feeTokens?: readonly number[];
  /**
   * How signatures are checked (default verifySignature). A sequencer passes one that answers for
   * signatures it verified at acceptance, so a cut never verifies a signature twice; the accepted set
   * is the same.
   */
  readonly verify?: SignatureCheck;
  /** The batch's shape, one of the deployment's (PROTOCOL.md §5.5); default the state's own slot counts. */
  readonly shape?: Shape;
}

export interface BatchResult {
  /** The slot counts this batch was built for: its circuit. */
  readonly shape: Shape;
  readonly oldRoot: bigint;
  readonly newRoot: bigint;
  readonly queueHashBefore: bigint;
  readonly queueHashAfter: bigint;
  readonly depositCount: number;
  readonly chainId: number;
  readonly rollup: `0x${string}`;
  readonly timestamp: number;
  readonly feeTokens: number[];
  readonly chunks: Uint8Array[];
  readonly fillChunks: Uint8Array[];
  /** L2 chunks ‖ fill chunks: what the contract's submitBatch takes as `chunks`. */
  readonly slotData: Uint8Array;
  readonly pubdata: Uint8Array;
  /** The data digest, the first public input: sha256(pubdata[128:]) mod 2^253. */
  readonly publicInput: bigint;
  /** Every public input of the proof: [publicInput, oldRoot, newRoot, queueHashBefore, queueHashAfter] (PROTOCOL.md §5.2). */
  readonly publicSignals: bigint[];
  readonly withdrawals: Withdrawal[];
  /** Exit amount of each L1 slot (length depositSlots): the old balance for a forced exit, else 0. */
  readonly forcedExits: bigint[];
  /** forcedExits as 16-byte big-endian words: what the contract's submitBatch takes as `forcedExits`. */
  readonly forcedExitData: Uint8Array;
  /** Signals for the batch circuit, as decimal strings. */
  readonly circuitInput: CircuitInput;
}

export type CircuitValue = string | CircuitValue[];
export type CircuitInput = Record<string, CircuitValue>;

/** The fee tokens a batch needs: distinct tokens with a non-zero fee, in first-use order (L2 slots, then fills), padded with 0. */
export function feeTokensFor(p: Params, txs: readonly L2Tx[], fills: readonly FillOp[] = []): number[] {
  const tokens: number[] = [];
  for (const tx of txs) if (tx.fee > 0n && !tokens.includes(tx.token)) tokens.push(tx.token);
  for (const f of fills) for (const [token] of fillFees(f)) if (!tokens.includes(token)) tokens.push(token);
  if (tokens.length > p.feeBuckets) fail("fee_token_not_in_batch", `batch uses ${tokens.length} fee tokens, at most ${p.feeBuckets} allowed`);
  while (tokens.length < p.feeBuckets) tokens.push(0);
  return tokens;
}

export function buildBatch(state: State, input: BatchInput): BatchResult {
  const p = input.shape ? withShape(state.params, input.shape) : state.params;
  if (input.deposits.length > p.depositSlots) fail("batch_full", `at most ${p.depositSlots} queue records per batch`);
  if (input.txs.length > p.l2Slots) fail("batch_full", `at most ${p.l2Slots} L2 operations per batch`);
  const fills = input.fills ?? [];
  if (fills.length > p.fillSlots) fail("batch_full", `at most ${p.fillSlots} fills per batch`);
  const feeTokens = input.feeTokens ? [...input.feeTokens] : feeTokensFor(p, input.txs, fills);
  if (feeTokens.length !== p.feeBuckets) fail("bad_request", `expected ${p.feeBuckets} fee tokens`);
  const ctx: BatchContext = { chainId: input.chainId, rollup: input.rollup, timestamp: input.timestamp };
  const oldRoot = state.root;

  state.begin();
  try {
    let queueHash = input.queueHashBefore;
    const depositSlots: DepositSlotWitness[] = [];
    for (let i = 0; i < p.depositSlots; i++) {
      const r = input.deposits[i];
      if (r) {
        depositSlots.push(applyQueueRecord(state, r));
        queueHash = queueHashNext(queueHash, r);
      } else depositSlots.push(applyDepositNoop(state));
    }

    const feeSums = feeTokens.map(() => 0n);
    const feeSel: number[][] = [];
    const l2Slots: L2SlotWitness[] = [];
    for (let i = 0; i < p.l2Slots; i++) {
      const tx = input.txs[i];
      let w: L2SlotWitness;
      try {
        w = !tx ? applyNoop(state) : tx.type === "transfer" ? applyTransfer(state, tx, ctx, input.verify) : applyWithdraw(state, tx, ctx, input.verify);
      } catch (e) {
        if (e instanceof ProtocolError) throw new ProtocolError(e.code, `operation ${i}: ${e.message}`);
        throw e;
      }
      const sel = feeTokens.map(() => 0);
      if (w.fee > 0n) {
        const bucket = feeTokens.indexOf(w.token);
        if (bucket < 0) fail("fee_token_not_in_batch", `operation ${i}: fee token ${w.token} is not one of the batch's fee tokens`);
        sel[bucket] = 1;
        feeSums[bucket] += w.fee;
      }
      feeSel.push(sel);
      l2Slots.push(w);
    }

    // Fill slots: each fill's two fees go to the buckets of their tokens.
    const fillSlots: FillSlotWitness[] = [];
    const fillFeeSel: { sell: number[]; buy: number[] }[] = [];
    for (let i = 0; i < p.fillSlots; i++) {
      const f = fills[i];
      let w: FillSlotWitness;
      try {
        w = f ? applyFill(state, f, ctx, input.verify) : fillNoop();
      } catch (e) {
        if (e instanceof ProtocolError) throw new ProtocolError(e.code, `fill ${i}: ${e.message}`);
        throw e;
      }
      const select = (token: number, amount: bigint): number[] => {
        const sel = feeTokens.map(() => 0);
        if (amount === 0n) return sel;
        const bucket = feeTokens.indexOf(token);
        if (bucket < 0) fail("fee_token_not_in_batch", `fill ${i}: fee token ${token} is not one of the batch's fee tokens`);
        sel[bucket] = 1;
        feeSums[bucket] += amount;
        return sel;
      };
      fillFeeSel.push(f ? { sell: select(f.sell.quote, f.sellFee), buy: select(f.buy.base, f.buyFee) } : { sell: feeTokens.map(() => 0), buy: feeTokens.map(() => 0) });
      fillSlots.push(w);
    }

    const fee = state.creditBalances(0, feeTokens.map((token, f) => ({ token, amount: feeSums[f] })));
    const newRoot = state.root;
    const chunks = l2Slots.map((s) => s.chunk);
    const fillChunks = fillSlots.map((s) => s.chunk);
    const header = { oldRoot, newRoot, queueHashBefore: input.queueHashBefore, queueHashAfter: queueHash, chainId: input.chainId, timestamp: input.timestamp, rollup: input.rollup, feeTokens };
    const forcedExits = depositSlots.map((w) => w.exitAmount);
    const pubdata = encodePubdata(p, header, chunks, fillChunks, forcedExits);
    const publicSignals = publicSignalsOf(pubdata);
    const publicInput = publicSignals[0];
    const circuitInput = toCircuitInput({ ...header, params: p, publicInput, depositSlots, l2Slots, feeSel, fillSlots, fillFeeSel, fee });
    state.commit();
    return {
      ...header,
      shape: shapeOf(p),
      depositCount: input.deposits.length,
      chunks,
      fillChunks,
      slotData: slotData(p, chunks, fillChunks),
      pubdata,
      publicInput,
      publicSignals,
      withdrawals: withdrawalsOf(chunks),
      forcedExits,
      forcedExitData: forcedExitData(p, forcedExits),
      circuitInput,
    };
  } catch (e) {
    state.rollback();
    throw e;
  }
}

const s = (x: bigint | number | boolean): string => (typeof x === "boolean" ? (x ? "1" : "0") : x.toString());
const s2 = (m: bigint[][]): string[][] => m.map((r) => r.map(s));

function accountSignals(prefix: string, ws: AccountWitness[]): CircuitInput {
  return {
    [`${prefix}ax`]: ws.map((w) => s(w.ax)),
    [`${prefix}ay`]: ws.map((w) => s(w.ay)),
    [`${prefix}nonce`]: ws.map((w) => s(w.nonce)),
    [`${prefix}orderRoot`]: ws.map((w) => s(w.orderRoot)),
    [`${prefix}balance`]: ws.map((w) => s(w.balance)),
    [`${prefix}balanceSiblings`]: ws.map((w) => s2(w.balanceSiblings)),
    [`${prefix}accountSiblings`]: ws.map((w) => s2(w.accountSiblings)),
  };
}

/** The L1 slots' circuit signals (dep_*), one entry per slot in slot order. */
export function depositSlotSignals(d: readonly DepositSlotWitness[]): CircuitInput {
  return {
    dep_enabled: d.map((w) => s(w.enabled)),
    dep_isNew: d.map((w) => s(w.record.kind === QUEUE_REGISTER)),
    dep_isExit: d.map((w) => s(w.record.kind === QUEUE_FORCED_EXIT)),
    dep_accountId: d.map((w) => s(w.record.accountId)),
    dep_token: d.map((w) => s(w.record.token)),
    dep_amount: d.map((w) => s(w.record.amount)),
    dep_keyAx: d.map((w) => s(w.record.ax)),
    dep_keyAy: d.map((w) => s(w.record.ay)),
    ...accountSignals("dep_", d.map((w) => w.account)),
  };
}

function toCircuitInput(b: {
  params: Params;
  publicInput: bigint;
  oldRoot: bigint;
  newRoot: bigint;
  queueHashBefore: bigint;
  queueHashAfter: bigint;
  chainId: number;
  timestamp: number;
  rollup: `0x${string}`;
  feeTokens: number[];
  depositSlots: DepositSlotWitness[];
  l2Slots: L2SlotWitness[];
  feeSel: number[][];
  fillSlots: FillSlotWitness[];
  fillFeeSel: { sell: number[]; buy: number[] }[];
  fee: MultiBalanceWitness;
}): CircuitInput {
  const d = b.depositSlots;
  const l = b.l2Slots;
  return {
    publicInput: s(b.publicInput),
    oldRoot: s(b.oldRoot),
    newRoot: s(b.newRoot),
    queueHashBefore: s(b.queueHashBefore),
    queueHashAfter: s(b.queueHashAfter),
    chainId: s(b.chainId),
    timestamp: s(b.timestamp),
    rollup: s(rollupField(b)),
    feeTokens: b.feeTokens.map(s),

    ...depositSlotSignals(d),

    l2_opType: l.map((w) => s(w.opType)),
    l2_from: l.map((w) => s(w.from)),
    l2_to: l.map((w) => s(w.to)),
    l2_token: l.map((w) => s(w.token)),
    l2_amountF: l.map((w) => s(w.amountF)),
    l2_feeF: l.map((w) => s(w.feeF)),
    l2_validUntil: l.map((w) => s(w.validUntil)),
    l2_sigR8x: l.map((w) => s(w.signature.r8x)),
    l2_sigR8y: l.map((w) => s(w.signature.r8y)),
    l2_sigS: l.map((w) => s(w.signature.s)),
    l2_feeSel: b.feeSel.map((r) => r.map(s)),
    ...accountSignals("l2_a_", l.map((w) => w.a)),
    ...accountSignals("l2_b_", l.map((w) => w.b)),

    ...fillSignals(b.params, b.fillSlots, b.fillFeeSel),

    fee_ax: s(b.fee.ax),
    fee_ay: s(b.fee.ay),
    fee_nonce: s(b.fee.nonce),
    fee_orderRoot: s(b.fee.orderRoot),
    fee_balances: b.fee.balances.map(s),
    fee_balanceSiblings: b.fee.balanceSiblings.map(s2),
    fee_accountSiblings: s2(b.fee.accountSiblings),
  };
}

/** Fill-slot signals; a noop slot is all zeros (the circuit ignores its paths). */
function fillSignals(p: Params, slots: FillSlotWitness[], feeSel: { sell: number[]; buy: number[] }[]): CircuitInput {
  const col = (f: (w: FillSlotWitness) => bigint | number | boolean): string[] => slots.map((w) => s(f(w)));
  const zeros = (levels: number, arity: number): string[][] => Array.from({ length: levels }, () => new Array<string>(arity - 1).fill("0"));
  const orderSignals = (prefix: string, pick: (f: FillOp) => Order): CircuitInput => {
    const enc = slots.map((w) => (w.fill ? { o: pick(w.fill), ...encodeOrderAmounts(pick(w.fill)) } : null));
    const c = (f: (e: NonNullable<(typeof enc)[number]>) => bigint | number): string[] => enc.map((e) => s(e ? f(e) : 0));
    return {
      [`${prefix}orderId`]: c((e) => e.o.orderId),
      [`${prefix}amountF`]: c((e) => e.amountF),
      [`${prefix}quoteAmountF`]: c((e) => e.quoteAmountF),
      [`${prefix}maxFeeBips`]: c((e) => e.o.maxFeeBips),
      [`${prefix}validUntil`]: c((e) => e.o.validUntil),
      [`${prefix}sigR8x`]: c((e) => e.o.signature.r8x),
      [`${prefix}sigR8y`]: c((e) => e.o.signature.r8y),
      [`${prefix}sigS`]: c((e) => e.o.signature.s),
    };
  };
  const traderSignals = (prefix: string, pick: (w: FillSlotWitness) => TradeWitness | null): CircuitInput => {
    const t = slots.map(pick);
    const c = (f: (x: TradeWitness) => bigint): string[] => t.map((x) => s(x ? f(x) : 0n));
    const sib = (f: (x: TradeWitness) => bigint[][], levels: number, arity: number): string[][][] => t.map((x) => (x ? s2(f(x)) : zeros(levels, arity)));
    return {
      [`${prefix}ax`]: c((x) => x.ax),
      [`${prefix}ay`]: c((x) => x.ay),
      [`${prefix}nonce`]: c((x) => x.nonce),
      [`${prefix}giveBalance`]: c((x) => x.giveBalance),
      [`${prefix}giveSiblings`]: sib((x) => x.giveSiblings, p.balanceLevels, BALANCE_ARITY),
      [`${prefix}getBalance`]: c((x) => x.getBalance),
      [`${prefix}getSiblings`]: sib((x) => x.getSiblings, p.balanceLevels, BALANCE_ARITY),
      [`${prefix}slotOrderId`]: c((x) => slotOfLeaf(x.slotLeaf).orderId),
      [`${prefix}slotFilled`]: c((x) => slotOfLeaf(x.slotLeaf).filled),
      [`${prefix}slotSiblings`]: sib((x) => x.slotSiblings, p.orderLevels, ORDER_ARITY),
      [`${prefix}accountSiblings`]: sib((x) => x.accountSiblings, p.accountLevels, ACCOUNT_ARITY),
    };
  };
  return {
    fill_isFill: col((w) => w.isFill),
    fill_seller: col((w) => w.fill?.sell.account ?? 0),
    fill_buyer: col((w) => w.fill?.buy.account ?? 0),
    fill_base: col((w) => w.fill?.sell.base ?? 0),
    fill_quote: col((w) => w.fill?.sell.quote ?? 0),
    fill_baseAmount: col((w) => w.fill?.baseAmount ?? 0n),
    fill_quoteAmount: col((w) => w.fill?.quoteAmount ?? 0n),
    fill_sellFeeF: col((w) => w.sellFeeF),
    fill_buyFeeF: col((w) => w.buyFeeF),
    fill_sellFeeSel: feeSel.map((f) => f.sell.map(s)),
    fill_buyFeeSel: feeSel.map((f) => f.buy.map(s)),
    ...orderSignals("fill_so_", (f) => f.sell),
    ...orderSignals("fill_bo_", (f) => f.buy),
    ...traderSignals("fill_sa_", (w) => w.seller),
    ...traderSignals("fill_ba_", (w) => w.buyer),
  };
}
