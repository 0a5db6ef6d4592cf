/** Withdraw (PROTOCOL.md §4.2): the amount leaves L2 for the account's L1 owner. */
import { toBytesBE } from "../field";
import { OP_WITHDRAW } from "../message";
import type { SignatureCheck } from "../eddsa";
import type { State } from "../state";
import { checkSignedDebit, encodeAmounts, type EncodedAmounts } from "./signed";
import type { BatchContext, L2SlotWitness, WithdrawTx } from "./types";

export function withdrawChunk(account: number, token: number, amountF: bigint, feeF: bigint): Uint8Array {
  const c = new Uint8Array(15);
  c[0] = OP_WITHDRAW;
  c.set(toBytesBE(BigInt(account), 3), 1);
  c[4] = token;
  c.set(toBytesBE(amountF, 5), 5);
  c.set(toBytesBE(feeF, 2), 10);
  return c;
}

export function checkWithdraw(state: State, tx: WithdrawTx, ctx: BatchContext, verify?: SignatureCheck): EncodedAmounts {
  return checkSignedDebit(state, tx, ctx, verify);
}

/** Checks every rule, then executes. */
export function applyWithdraw(state: State, tx: WithdrawTx, ctx: BatchContext, verify?: SignatureCheck): L2SlotWitness {
  checkWithdraw(state, tx, ctx, verify);
  return executeWithdraw(state, tx);
}

/** The state change and witness alone, without the rules (the circuit enforces them independently). */
export function executeWithdraw(state: State, tx: WithdrawTx): L2SlotWitness {
  const { amountF, feeF } = encodeAmounts(tx.amount, tx.fee);
  const a = state.updateAccount(tx.account, tx.token, (o) => ({ ...o, nonce: o.nonce + 1n, balance: o.balance - tx.amount - tx.fee }));
  // The second account path of the slot is opened on account 0 and left unchanged.
  const b = state.updateAccount(0, tx.token, (o) => o);
  return {
    opType: OP_WITHDRAW,
    from: tx.account,
    to: 0,
    token: tx.token,
    amountF,
    feeF,
    validUntil: tx.validUntil,
    signature: tx.signature,
    chunk: withdrawChunk(tx.account, tx.token, amountF, feeF),
    fee: tx.fee,
    a,
    b,
  };
}
