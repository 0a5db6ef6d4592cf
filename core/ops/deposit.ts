/** L1 queue records: registration, deposit and forced exit (PROTOCOL.md §4.1). */
import { MAX_U128 } from "../field";
import { fail } from "../errors";
import { poseidon } from "../poseidon";
import type { State } from "../state";
import { QUEUE_DEPOSIT, QUEUE_FORCED_EXIT, QUEUE_REGISTER, type DepositSlotWitness, type QueueRecord } from "./types";

/** A queue record from its Enqueued event's fields: the kinds the contract emits (the one place a new kind is accepted). */
export function queueRecordOf(a: { kind: number; accountId: number; token: number; amount: bigint; ax: bigint; ay: bigint }): QueueRecord {
  if (a.kind !== QUEUE_DEPOSIT && a.kind !== QUEUE_REGISTER && a.kind !== QUEUE_FORCED_EXIT) throw new Error(`unknown queue record kind ${a.kind}`);
  return { kind: a.kind, accountId: a.accountId, token: a.token, amount: a.amount, ax: a.ax, ay: a.ay };
}

export function packQueueRecord(r: QueueRecord): bigint {
  return BigInt(r.accountId) + (BigInt(r.token) << 32n) + (BigInt(r.kind) << 40n) + (r.amount << 48n);
}

export function queueHashNext(prev: bigint, r: QueueRecord): bigint {
  return poseidon([prev, packQueueRecord(r), r.ax, r.ay]);
}

/** Checks one queue record. The contract makes every record valid; a failure here means a corrupt queue. */
export function checkQueueRecord(state: State, r: QueueRecord): void {
  if (r.amount < 0n || r.amount > MAX_U128) fail("amount_out_of_range", "deposit amount out of 128-bit range");
  const view = state.account(r.accountId);
  if (r.kind === QUEUE_REGISTER) {
    if (view.registered) fail("account_exists", `account ${r.accountId} is already registered`);
    if (r.ax === 0n && r.ay === 0n) fail("bad_queue_record", "registration without a key");
  } else if (r.kind === QUEUE_DEPOSIT) {
    if (!view.registered) fail("unregistered_account", `deposit to unregistered account ${r.accountId}`);
  } else if (r.kind === QUEUE_FORCED_EXIT) {
    if (!view.registered) fail("unregistered_account", `forced exit of unregistered account ${r.accountId}`);
    if (r.amount !== 0n || r.ax !== 0n || r.ay !== 0n) fail("bad_queue_record", "forced exit with a non-zero amount or key");
  } else {
    fail("bad_queue_record", `unknown queue record kind ${String((r as QueueRecord).kind)}`);
  }
  const newBalance = state.balance(r.accountId, r.token) + r.amount;
  if (newBalance > MAX_U128) fail("balance_overflow", "deposit would overflow the balance");
}

export function applyQueueRecord(state: State, r: QueueRecord): DepositSlotWitness {
  checkQueueRecord(state, r);
  return executeQueueRecord(state, r);
}

/** The state change and witness alone, without the rules. A forced exit empties the balance and reports the old one. */
export function executeQueueRecord(state: State, r: QueueRecord): DepositSlotWitness {
  const exitAmount = r.kind === QUEUE_FORCED_EXIT ? state.balance(r.accountId, r.token) : 0n;
  const account = state.updateAccount(r.accountId, r.token, (old) => ({
    ax: r.kind === QUEUE_REGISTER ? r.ax : old.ax,
    ay: r.kind === QUEUE_REGISTER ? r.ay : old.ay,
    nonce: old.nonce,
    balance: old.balance + r.amount - exitAmount,
  }));
  return { enabled: true, record: r, account, exitAmount };
}

/** An unused L1 slot: opens account 0, token 0, and changes nothing. */
export function applyDepositNoop(state: State): DepositSlotWitness {
  const account = state.updateAccount(0, 0, (old) => old);
  return {
    enabled: false,
    record: { kind: QUEUE_DEPOSIT, accountId: 0, token: 0, amount: 0n, ax: 0n, ay: 0n },
    account,
    exitAmount: 0n,
  };
}
