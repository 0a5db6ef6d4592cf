/** Operation and witness types shared by the op modules. */
import type { Signature } from "../eddsa";
import type { AccountWitness } from "../state";

export interface TransferTx {
  readonly type: "transfer";
  readonly from: number;
  readonly to: number;
  readonly token: number;
  readonly amount: bigint;
  readonly fee: bigint;
  readonly nonce: bigint;
  readonly validUntil: number;
  readonly signature: Signature;
}

export interface WithdrawTx {
  readonly type: "withdraw";
  readonly account: number;
  readonly token: number;
  readonly amount: bigint;
  readonly fee: bigint;
  readonly nonce: bigint;
  readonly validUntil: number;
  readonly signature: Signature;
}

export type L2Tx = TransferTx | WithdrawTx;

/** Kinds of L1 queue records (PROTOCOL.md §4.1). */
export const QUEUE_DEPOSIT = 1;
export const QUEUE_REGISTER = 2;

export interface QueueRecord {
  readonly kind: typeof QUEUE_DEPOSIT | typeof QUEUE_REGISTER;
  readonly accountId: number;
  readonly token: number;
  readonly amount: bigint;
  /** The new account's key for kind 2; zero for kind 1. */
  readonly ax: bigint;
  readonly ay: bigint;
}

/** Context every L2 rule is checked in. */
export interface BatchContext {
  readonly chainId: number;
  readonly timestamp: number;
}

/** What the circuit reads for one L1 slot. */
export interface DepositSlotWitness {
  readonly enabled: boolean;
  readonly record: QueueRecord;
  readonly account: AccountWitness;
}

/** What the circuit reads for one L2 slot. */
export interface L2SlotWitness {
  readonly opType: number;
  readonly from: number;
  readonly to: number;
  readonly token: number;
  readonly amountF: bigint;
  readonly feeF: bigint;
  readonly validUntil: number;
  readonly signature: Signature;
  /** The chunk of public data this slot emits (15 bytes). */
  readonly chunk: Uint8Array;
  readonly fee: bigint;
  readonly a: AccountWitness;
  readonly b: AccountWitness;
}

export interface Withdrawal {
  readonly accountId: number;
  readonly token: number;
  readonly amount: bigint;
}
