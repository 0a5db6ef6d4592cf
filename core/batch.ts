/**
 * The batch state-transition function: applies L1 queue records, L2 operations and fee
 * credits to a state and returns the new root, the public data, the public input and the
 * circuit's input. All or nothing: on any invalid operation the state is left untouched.
 */
import { fail, ProtocolError } from "./errors";
import type { Params } from "./params";
import type { State, AccountWitness, MultiBalanceWitness } from "./state";
import { applyDepositNoop, applyQueueRecord, queueHashNext } from "./ops/deposit";
import { applyTransfer } from "./ops/transfer";
import { applyWithdraw } from "./ops/withdraw";
import { applyNoop } from "./ops/noop";
import type { BatchContext, DepositSlotWitness, L2SlotWitness, L2Tx, QueueRecord, Withdrawal } from "./ops/types";
import { encodePubdata, publicInputOf, withdrawalsOf } from "./pubdata";

export interface BatchInput {
  readonly chainId: number;
  readonly timestamp: number;
  readonly queueHashBefore: bigint;
  /** Queue records to consume, in queue order (at most depositSlots). */
  readonly deposits: readonly QueueRecord[];
  /** L2 operations, in order (at most l2Slots). */
  readonly txs: readonly L2Tx[];
  /** Fee tokens of the batch; derived from `txs` when omitted. */
  readonly feeTokens?: readonly number[];
}

export interface BatchResult {
  readonly oldRoot: bigint;
  readonly newRoot: bigint;
  readonly queueHashBefore: bigint;
  readonly queueHashAfter: bigint;
  readonly depositCount: number;
  readonly chainId: number;
  readonly timestamp: number;
  readonly feeTokens: number[];
  readonly chunks: Uint8Array[];
  readonly pubdata: Uint8Array;
  readonly publicInput: bigint;
  readonly withdrawals: Withdrawal[];
  /** Signals for the batch circuit, as decimal strings. */
  readonly circuitInput: CircuitInput;
}

export type CircuitValue = string | CircuitValue[];
export type CircuitInput = Record<string, CircuitValue>;

/** The fee tokens a batch needs: distinct tokens with a non-zero fee, in first-use order, padded with 0. */
export function feeTokensFor(p: Params, txs: readonly L2Tx[]): number[] {
  const tokens: number[] = [];
  for (const tx of txs) if (tx.fee > 0n && !tokens.includes(tx.token)) tokens.push(tx.token);
  if (tokens.length > p.feeBuckets) fail("fee_token_not_in_batch", `batch uses ${tokens.length} fee tokens, at most ${p.feeBuckets} allowed`);
  while (tokens.length < p.feeBuckets) tokens.push(0);
  return tokens;
}

export function buildBatch(state: State, input: BatchInput): BatchResult {
  const p = state.params;
  if (input.deposits.length > p.depositSlots) fail("batch_full", `at most ${p.depositSlots} queue records per batch`);
  if (input.txs.length > p.l2Slots) fail("batch_full", `at most ${p.l2Slots} L2 operations per batch`);
  const feeTokens = input.feeTokens ? [...input.feeTokens] : feeTokensFor(p, input.txs);
  if (feeTokens.length !== p.feeBuckets) fail("bad_request", `expected ${p.feeBuckets} fee tokens`);
  const ctx: BatchContext = { chainId: input.chainId, timestamp: input.timestamp };
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
        w = !tx ? applyNoop(state) : tx.type === "transfer" ? applyTransfer(state, tx, ctx) : applyWithdraw(state, tx, ctx);
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

    const fee = state.creditBalances(0, feeTokens.map((token, f) => ({ token, amount: feeSums[f] })));
    const newRoot = state.root;
    const chunks = l2Slots.map((s) => s.chunk);
    const header = { oldRoot, newRoot, queueHashBefore: input.queueHashBefore, queueHashAfter: queueHash, chainId: input.chainId, timestamp: input.timestamp, feeTokens };
    const pubdata = encodePubdata(p, header, chunks);
    const publicInput = publicInputOf(pubdata);
    const circuitInput = toCircuitInput({ ...header, publicInput, depositSlots, l2Slots, feeSel, fee });
    state.commit();
    return {
      ...header,
      depositCount: input.deposits.length,
      chunks,
      pubdata,
      publicInput,
      withdrawals: withdrawalsOf(chunks),
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

function toCircuitInput(b: {
  publicInput: bigint;
  oldRoot: bigint;
  queueHashBefore: bigint;
  chainId: number;
  timestamp: number;
  feeTokens: number[];
  depositSlots: DepositSlotWitness[];
  l2Slots: L2SlotWitness[];
  feeSel: number[][];
  fee: MultiBalanceWitness;
}): CircuitInput {
  const d = b.depositSlots;
  const l = b.l2Slots;
  return {
    publicInput: s(b.publicInput),
    oldRoot: s(b.oldRoot),
    queueHashBefore: s(b.queueHashBefore),
    chainId: s(b.chainId),
    timestamp: s(b.timestamp),
    feeTokens: b.feeTokens.map(s),

    dep_enabled: d.map((w) => s(w.enabled)),
    dep_isNew: d.map((w) => s(w.record.kind === 2)),
    dep_accountId: d.map((w) => s(w.record.accountId)),
    dep_token: d.map((w) => s(w.record.token)),
    dep_amount: d.map((w) => s(w.record.amount)),
    dep_keyAx: d.map((w) => s(w.record.ax)),
    dep_keyAy: d.map((w) => s(w.record.ay)),
    ...accountSignals("dep_", d.map((w) => w.account)),

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

    fee_ax: s(b.fee.ax),
    fee_ay: s(b.fee.ay),
    fee_nonce: s(b.fee.nonce),
    fee_orderRoot: s(b.fee.orderRoot),
    fee_balances: b.fee.balances.map(s),
    fee_balanceSiblings: b.fee.balanceSiblings.map(s2),
    fee_accountSiblings: s2(b.fee.accountSiblings),
  };
}
