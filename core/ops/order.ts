/**
 * Signed limit orders (PROTOCOL.md §4.5): the message an order's owner signs, the rules an order
 * obeys on its own, its order-fill slot, and the limit-price inequalities a fill must satisfy.
 */
import { sha256 } from "@noble/hashes/sha256";
import { MAX_U32, toBytesBE, toHex } from "../field";
import { fail } from "../errors";
import { FLOAT40, tryEncodeFloat } from "../float";
import { verifySignature, type SignatureCheck } from "../eddsa";
import { AMOUNT_BITS, MAX_FEE_BIPS, MAX_ORDER_AMOUNT, ORDER_ARITY } from "../params";
import type { State } from "../state";
import type { BatchContext, Order } from "./types";
import { signedMessage, type Domain } from "../domain";

/** Type byte of an order message (PROTOCOL.md §4.4 numbering). */
export const MSG_ORDER = 4;
export { AMOUNT_BITS, MAX_ORDER_AMOUNT, MAX_FEE_BIPS } from "../params";
/** A slot leaf is filled + orderId · 2^128. */
export const ORDER_ID_SHIFT = 128n;

export interface OrderMessageFields {
  readonly account: number;
  readonly orderId: bigint;
  readonly base: number;
  readonly quote: number;
  /** 1 for sell, 0 for buy. */
  readonly side: number;
  readonly amountF: bigint;
  readonly quoteAmountF: bigint;
  readonly maxFeeBips: number;
  readonly validUntil: number;
  readonly chainId: number;
}

const LAYOUT: [keyof OrderMessageFields | "type", number][] = [
  ["type", 8],
  ["account", 32],
  ["orderId", 32],
  ["base", 8],
  ["quote", 8],
  ["side", 1],
  ["amountF", 40],
  ["quoteAmountF", 40],
  ["maxFeeBips", 16],
  ["validUntil", 32],
  ["chainId", 32],
];

/** The one field element (249 bits) an order's owner signs. */
export function packOrderMessage(m: OrderMessageFields): bigint {
  let out = 0n;
  let offset = 0n;
  for (const [name, bits] of LAYOUT) {
    const v = name === "type" ? BigInt(MSG_ORDER) : BigInt(m[name]);
    if (v < 0n || v >= 1n << BigInt(bits)) throw new RangeError(`order message field ${name} out of ${bits}-bit range`);
    out |= v << offset;
    offset += BigInt(bits);
  }
  return out;
}

export function encodeOrderAmounts(order: Order): { amountF: bigint; quoteAmountF: bigint } {
  const amountF = tryEncodeFloat(FLOAT40, order.amount);
  if (amountF === null) fail("amount_not_representable", `order amount ${order.amount} is not exactly representable as float40 (m·10^e, m < 2^35)`);
  const quoteAmountF = tryEncodeFloat(FLOAT40, order.quoteAmount);
  if (quoteAmountF === null) fail("amount_not_representable", `order quoteAmount ${order.quoteAmount} is not exactly representable as float40 (m·10^e, m < 2^35)`);
  return { amountF, quoteAmountF };
}

/** An order's message fields (amounts float40-encoded) for a chain. */
export function orderFields(order: Order, chainId: number): OrderMessageFields {
  const { amountF, quoteAmountF } = encodeOrderAmounts(order);
  return {
    account: order.account,
    orderId: order.orderId,
    base: order.base,
    quote: order.quote,
    side: order.side === "sell" ? 1 : 0,
    amountF,
    quoteAmountF,
    maxFeeBips: order.maxFeeBips,
    validUntil: order.validUntil,
    chainId,
  };
}

/** The field element an order's owner signs: its packed fields bound to the deployment. */
export function orderMessage(order: Order, domain: Domain): bigint {
  const inputs = [order.account, order.orderId, order.base, order.quote, order.side, order.amount, order.quoteAmount, order.maxFeeBips, order.validUntil, domain.chainId, domain.rollup];
  const memo = messageMemo.get(order);
  if (memo && memo.inputs.every((v, i) => v === inputs[i])) return memo.message;
  const message = signedMessage(packOrderMessage(orderFields(order, domain.chainId)), domain);
  messageMemo.set(order, { inputs, message });
  return message;
}

/**
 * The last message computed for each order object, with the inputs it came from: accepting an order
 * asks for it three times (its hash, the verification ahead, core's check), and each costs a Poseidon
 * hash. An entry answers only while every input still equals, so a changed object is hashed again.
 */
const messageMemo = new WeakMap<Order, { readonly inputs: readonly unknown[]; readonly message: bigint }>();

/** The API's order id: sha256 of the signed message as 32 bytes (as for transactions). */
export function orderHash(order: Order, domain: Domain): `0x${string}` {
  return toHex(sha256(toBytesBE(orderMessage(order, domain), 32)));
}

export function orderSlotIndex(p: State["params"], orderId: bigint): number {
  return Number(orderId % BigInt(ORDER_ARITY ** p.orderLevels));
}

/** What an order-fill slot holds. The empty slot is (0, 0). */
export interface OrderSlot {
  readonly orderId: bigint;
  readonly filled: bigint;
}

export function slotLeaf(s: OrderSlot): bigint {
  return s.filled + (s.orderId << ORDER_ID_SHIFT);
}

export function slotOfLeaf(leaf: bigint): OrderSlot {
  return { orderId: leaf >> ORDER_ID_SHIFT, filled: leaf & ((1n << ORDER_ID_SHIFT) - 1n) };
}

/**
 * The base amount already filled of `order`, given its slot: the slot's counter when the slot holds
 * this order id, 0 when it holds a smaller one. A larger id makes the order unfillable.
 */
export function filledOf(order: Order, slot: OrderSlot): bigint {
  if (slot.orderId === order.orderId) return slot.filled;
  if (slot.orderId > order.orderId) fail("order_id_used", `order slot holds order id ${slot.orderId} > ${order.orderId}: this order can no longer be filled`);
  return 0n;
}

/** The part of State an order check reads (the sequencer's pending view implements it too). */
export type OrderStateReader = Pick<State, "params" | "accountCapacity" | "account" | "balance" | "orderSlot">;

/**
 * Every rule about one order on its own; returns the base amount it has filled so far. Changes nothing.
 * `verify` checks the signature against the key read from `state` (default: verifySignature).
 */
export function checkOrder(state: OrderStateReader, order: Order, ctx: BatchContext, verify: SignatureCheck = verifySignature): bigint {
  const p = state.params;
  if (!Number.isInteger(order.account) || order.account < 0 || order.account >= state.accountCapacity) fail("unknown_account", `account ${order.account} does not exist`);
  if (order.side !== "buy" && order.side !== "sell") fail("bad_request", `order side must be "buy" or "sell"`);
  if (typeof order.orderId !== "bigint" || order.orderId < 0n || order.orderId > MAX_U32) fail("bad_request", "orderId must be a uint32");
  const capTokens = Math.min(4 ** p.balanceLevels, 256);
  for (const t of [order.base, order.quote]) {
    if (!Number.isInteger(t) || t < 0 || t >= capTokens) fail("bad_token", `token ${t} outside 0..${capTokens - 1}`);
  }
  if (order.base === order.quote) fail("bad_token", "base and quote tokens must differ");
  for (const [name, v] of [["amount", order.amount], ["quoteAmount", order.quoteAmount]] as const) {
    if (v <= 0n || v > MAX_ORDER_AMOUNT) fail("amount_out_of_range", `order ${name} must be in 1..2^${AMOUNT_BITS}-1`);
  }
  encodeOrderAmounts(order);
  if (!Number.isInteger(order.maxFeeBips) || order.maxFeeBips < 0 || order.maxFeeBips > MAX_FEE_BIPS) fail("bad_request", `maxFeeBips must be an integer in 0..${MAX_FEE_BIPS}`);
  if (!Number.isInteger(order.validUntil) || order.validUntil < 0 || BigInt(order.validUntil) > MAX_U32) fail("bad_request", "validUntil must be a uint32");
  const acc = state.account(order.account);
  if (!acc.registered) fail("unregistered_account", `account ${order.account} is not registered`);
  if (ctx.timestamp > order.validUntil) fail("expired", `order expired at ${order.validUntil}, batch time ${ctx.timestamp}`);
  if (!verify(orderMessage(order, ctx), order.signature, { ax: acc.ax, ay: acc.ay })) fail("bad_signature", "order signature does not verify under the account's key");
  const filled = filledOf(order, state.orderSlot(order.account, orderSlotIndex(p, order.orderId)));
  if (filled >= order.amount) fail("order_filled", `order ${order.orderId} is already filled`);
  return filled;
}

/** Seller gets at least floor(b·Q/B): q·B + B − 1 ≥ b·Q. */
export function sellerLimitHolds(sell: Pick<Order, "amount" | "quoteAmount">, base: bigint, quote: bigint): boolean {
  return quote * sell.amount + sell.amount - 1n >= base * sell.quoteAmount;
}

/** Buyer pays at most ceil(b·Q/B): q·B ≤ b·Q + B − 1. */
export function buyerLimitHolds(buy: Pick<Order, "amount" | "quoteAmount">, base: bigint, quote: bigint): boolean {
  return quote * buy.amount <= base * buy.quoteAmount + buy.amount - 1n;
}

/** A fee is at most maxFeeBips of what the order receives: fee · 10 000 ≤ received · maxFeeBips. */
export function feeWithinLimit(maxFeeBips: number, received: bigint, fee: bigint): boolean {
  return fee * BigInt(MAX_FEE_BIPS) <= received * BigInt(maxFeeBips);
}

/** Type byte of a cancel request (signed for the sequencer's book; never on chain). */
export const MSG_CANCEL = 5;

/**
 * The field element a trader signs to cancel an open order in the sequencer's book:
 * Poseidon(type 5 (8 bits) ‖ account (32) ‖ orderId (32) ‖ chainId (32), least significant first;
 * the rollup's address). It binds one order id of one account in one deployment; it is not a
 * protocol operation (the protocol's cancellation is expiry or a later order id in the slot, §4.5).
 */
export function cancelMessage(account: number, orderId: bigint, domain: Domain): bigint {
  const { chainId } = domain;
  if (!Number.isInteger(account) || account < 0 || BigInt(account) > MAX_U32) throw new RangeError("account must be a uint32");
  if (orderId < 0n || orderId > MAX_U32) throw new RangeError("orderId must be a uint32");
  if (!Number.isInteger(chainId) || chainId < 0 || BigInt(chainId) > MAX_U32) throw new RangeError("chainId must be a uint32");
  return signedMessage(BigInt(MSG_CANCEL) | (BigInt(account) << 8n) | (orderId << 40n) | (BigInt(chainId) << 72n), domain);
}
