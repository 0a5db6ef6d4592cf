/** Operation and witness types shared by the op modules. */
import type { Signature } from "../eddsa";
import type { AccountWitness } from "../state";
import type { Domain } from "../domain";

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

/** Side of a limit order: a buyer receives base and pays quote; a seller the reverse. */
export type OrderSide = "buy" | "sell";

/**
 * A signed limit order (PROTOCOL.md §4.5). Its limit price is the ratio quoteAmount / amount
 * (quote units per base unit), compared with exact integer arithmetic.
 */
export interface Order {
  readonly account: number;
  /** uint32; the order lives in order-fill slot orderId mod 4^orderLevels. */
  readonly orderId: bigint;
  readonly base: number;
  readonly quote: number;
  readonly side: OrderSide;
  /** Base amount the order may fill in total (float40, 0 < amount < 2^120). */
  readonly amount: bigint;
  /** Quote amount at the limit for the whole `amount` (float40, 0 < quoteAmount < 2^120). */
  readonly quoteAmount: bigint;
  /** The most fee the owner accepts, in basis points of what the order receives (≤ 10 000). */
  readonly maxFeeBips: number;
  readonly validUntil: number;
  readonly signature: Signature;
}

/**
 * One match between a sell order and a buy order of the same market (PROTOCOL.md §4.6).
 * The seller gives baseAmount of base and gets quoteAmount − sellFee of quote;
 * the buyer gives quoteAmount of quote and gets baseAmount − buyFee of base.
 */
export interface FillOp {
  readonly type: "fill";
  readonly sell: Order;
  readonly buy: Order;
  readonly baseAmount: bigint;
  readonly quoteAmount: bigint;
  /** Charged to the seller, in quote (float16). */
  readonly sellFee: bigint;
  /** Charged to the buyer, in base (float16). */
  readonly buyFee: bigint;
}

/** Kinds of L1 queue records (PROTOCOL.md §4.1). */
export const QUEUE_DEPOSIT = 1;
export const QUEUE_REGISTER = 2;
/** Forced exit (issue 5): the account's whole balance of `token` leaves L2; amount and key are zero. */
export const QUEUE_FORCED_EXIT = 3;

export type QueueRecordKind = typeof QUEUE_DEPOSIT | typeof QUEUE_REGISTER | typeof QUEUE_FORCED_EXIT;

export interface QueueRecord {
  readonly kind: QueueRecordKind;
  readonly accountId: number;
  readonly token: number;
  /** Credited amount for kinds 1 and 2; zero for kind 3. */
  readonly amount: bigint;
  /** The new account's key for kind 2; zero for kinds 1 and 3. */
  readonly ax: bigint;
  readonly ay: bigint;
}

/** Context every L2 rule is checked in: the deployment (signatures are bound to it) and the batch's time. */
export interface BatchContext extends Domain {
  readonly timestamp: number;
}

/** What the circuit reads for one L1 slot. */
export interface DepositSlotWitness {
  readonly enabled: boolean;
  readonly record: QueueRecord;
  readonly account: AccountWitness;
  /** What a forced exit takes out (the old balance); 0 for kinds 1, 2 and disabled slots. */
  readonly exitAmount: bigint;
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
