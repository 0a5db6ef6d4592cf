/** Transfer (PROTOCOL.md §4.2): sender pays amount + fee, receiver gets amount. */
import { MAX_U128, toBytesBE } from "../field";
import { fail } from "../errors";
import { OP_TRANSFER } from "../message";
import type { SignatureCheck } from "../eddsa";
import type { State } from "../state";
import { checkSignedDebit, encodeAmounts, type EncodedAmounts } from "./signed";
import type { BatchContext, L2SlotWitness, TransferTx } from "./types";

export function transferChunk(from: number, to: number, token: number, amountF: bigint, feeF: bigint): Uint8Array {
  const c = new Uint8Array(15);
  c[0] = OP_TRANSFER;
  c.set(toBytesBE(BigInt(from), 3), 1);
  c.set(toBytesBE(BigInt(to), 3), 4);
  c[7] = token;
  c.set(toBytesBE(amountF, 5), 8);
  c.set(toBytesBE(feeF, 2), 13);
  return c;
}

export function checkTransfer(state: State, tx: TransferTx, ctx: BatchContext, verify?: SignatureCheck): EncodedAmounts {
  const enc = checkSignedDebit(state, tx, ctx, verify);
  if (!Number.isInteger(tx.to) || tx.to < 0 || tx.to >= state.accountCapacity) fail("unknown_account", `receiver ${tx.to} does not exist`);
  const to = state.account(tx.to);
  if (!to.registered) fail("unregistered_account", `receiver ${tx.to} is not registered`);
  if (tx.to !== tx.from && state.balance(tx.to, tx.token) + tx.amount > MAX_U128) fail("balance_overflow", "receiver balance would overflow");
  return enc;
}

/** Checks every rule, then executes. */
export function applyTransfer(state: State, tx: TransferTx, ctx: BatchContext, verify?: SignatureCheck): L2SlotWitness {
  checkTransfer(state, tx, ctx, verify);
  return executeTransfer(state, tx);
}

/** The state change and witness alone, without the rules (the circuit enforces them independently). */
export function executeTransfer(state: State, tx: TransferTx): L2SlotWitness {
  const { amountF, feeF } = encodeAmounts(tx.amount, tx.fee);
  const a = state.updateAccount(tx.from, tx.token, (o) => ({ ...o, nonce: o.nonce + 1n, balance: o.balance - tx.amount - tx.fee }));
  const b = state.updateAccount(tx.to, tx.token, (o) => ({ ...o, balance: o.balance + tx.amount }));
  return {
    opType: OP_TRANSFER,
    from: tx.from,
    to: tx.to,
    token: tx.token,
    amountF,
    feeF,
    validUntil: tx.validUntil,
    signature: tx.signature,
    chunk: transferChunk(tx.from, tx.to, tx.token, amountF, feeF),
    fee: tx.fee,
    a,
    b,
  };
}
