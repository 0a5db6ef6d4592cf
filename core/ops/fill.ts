/**
 * Order fill (PROTOCOL.md §4.6): settles one match between a sell order and a buy order.
 * The seller gives baseAmount and gets quoteAmount − sellFee; the buyer gives quoteAmount and
 * gets baseAmount − buyFee; both orders' fill counters grow by baseAmount.
 */
import { MAX_U128, toBytesBE } from "../field";
import { FILL_CHUNK_BYTES } from "../params";
import type { SignatureCheck } from "../eddsa";
import { fail } from "../errors";
import { FLOAT16, tryEncodeFloat } from "../float";
import type { State, TradeWitness } from "../state";
import {
  buyerLimitHolds,
  checkOrder,
  feeWithinLimit,
  MAX_ORDER_AMOUNT,
  orderSlotIndex,
  sellerLimitHolds,
  slotLeaf,
  type OrderStateReader,
} from "./order";
import type { BatchContext, FillOp } from "./types";

export const OP_FILL = 4;

export interface EncodedFees {
  readonly sellFeeF: bigint;
  readonly buyFeeF: bigint;
}

/** What the circuit reads for one fill slot. A noop slot (isFill false) carries zeros only. */
export interface FillSlotWitness {
  readonly isFill: boolean;
  readonly fill: FillOp | null;
  readonly sellFeeF: bigint;
  readonly buyFeeF: bigint;
  readonly chunk: Uint8Array;
  readonly seller: TradeWitness | null;
  readonly buyer: TradeWitness | null;
}

export function encodeFees(fill: Pick<FillOp, "sellFee" | "buyFee">): EncodedFees {
  const sellFeeF = tryEncodeFloat(FLOAT16, fill.sellFee);
  if (sellFeeF === null) fail("amount_not_representable", `sell fee ${fill.sellFee} is not exactly representable as float16 (m·10^e, m < 2^11)`);
  const buyFeeF = tryEncodeFloat(FLOAT16, fill.buyFee);
  if (buyFeeF === null) fail("amount_not_representable", `buy fee ${fill.buyFee} is not exactly representable as float16 (m·10^e, m < 2^11)`);
  return { sellFeeF, buyFeeF };
}

/** 04 ‖ seller u24 ‖ sellOrderId u32 ‖ buyer u24 ‖ buyOrderId u32 ‖ base u8 ‖ quote u8 ‖ baseAmount u120 ‖ quoteAmount u120 ‖ sellFee f16 ‖ buyFee f16 */
export function fillChunk(fill: FillOp, fees: EncodedFees): Uint8Array {
  const c = new Uint8Array(FILL_CHUNK_BYTES);
  c[0] = OP_FILL;
  c.set(toBytesBE(BigInt(fill.sell.account), 3), 1);
  c.set(toBytesBE(fill.sell.orderId, 4), 4);
  c.set(toBytesBE(BigInt(fill.buy.account), 3), 8);
  c.set(toBytesBE(fill.buy.orderId, 4), 11);
  c[15] = fill.sell.base;
  c[16] = fill.sell.quote;
  c.set(toBytesBE(fill.baseAmount, 15), 17);
  c.set(toBytesBE(fill.quoteAmount, 15), 32);
  c.set(toBytesBE(fees.sellFeeF, 2), 47);
  c.set(toBytesBE(fees.buyFeeF, 2), 49);
  return c;
}

/** Every rule of a fill, against the state; changes nothing. Returns each order's filled amount before the fill. */
export function checkFill(state: OrderStateReader, fill: FillOp, ctx: BatchContext, verify?: SignatureCheck): { sellFilled: bigint; buyFilled: bigint; fees: EncodedFees } {
  const { sell, buy, baseAmount: b, quoteAmount: q } = fill;
  if (sell.side !== "sell" || buy.side !== "buy") fail("bad_request", "a fill takes a sell order and a buy order");
  if (sell.base !== buy.base || sell.quote !== buy.quote) fail("market_mismatch", "the two orders are for different markets");
  if (sell.account === buy.account) fail("self_trade", `account ${sell.account} cannot trade with itself`);
  if (b <= 0n || b > MAX_ORDER_AMOUNT) fail("amount_out_of_range", "fill base amount must be in 1..2^120-1");
  // A fill pays at least one quote unit: rounding never gives base away for nothing (§4.6).
  if (q <= 0n || q > MAX_ORDER_AMOUNT) fail("amount_out_of_range", "fill quote amount must be in 1..2^120-1");
  const fees = encodeFees(fill);
  const sellFilled = checkOrder(state, sell, ctx, verify);
  const buyFilled = checkOrder(state, buy, ctx, verify);
  if (sellFilled + b > sell.amount) fail("overfill", `sell order has ${sell.amount - sellFilled} left, fill is ${b}`);
  if (buyFilled + b > buy.amount) fail("overfill", `buy order has ${buy.amount - buyFilled} left, fill is ${b}`);
  if (!sellerLimitHolds(sell, b, q)) fail("price_limit", "fill price is below the sell order's limit");
  if (!buyerLimitHolds(buy, b, q)) fail("price_limit", "fill price is above the buy order's limit");
  if (!feeWithinLimit(sell.maxFeeBips, q, fill.sellFee)) fail("fee_too_high", `sell fee ${fill.sellFee} exceeds ${sell.maxFeeBips} bips of ${q}`);
  if (!feeWithinLimit(buy.maxFeeBips, b, fill.buyFee)) fail("fee_too_high", `buy fee ${fill.buyFee} exceeds ${buy.maxFeeBips} bips of ${b}`);
  const sellerBase = state.balance(sell.account, sell.base);
  if (sellerBase < b) fail("insufficient_balance", `seller balance ${sellerBase} < ${b}`);
  const buyerQuote = state.balance(buy.account, buy.quote);
  if (buyerQuote < q) fail("insufficient_balance", `buyer balance ${buyerQuote} < ${q}`);
  if (state.balance(sell.account, sell.quote) + q - fill.sellFee > MAX_U128) fail("balance_overflow", "seller quote balance would overflow");
  if (state.balance(buy.account, buy.base) + b - fill.buyFee > MAX_U128) fail("balance_overflow", "buyer base balance would overflow");
  return { sellFilled, buyFilled, fees };
}

/** Checks every rule, then executes. */
export function applyFill(state: State, fill: FillOp, ctx: BatchContext, verify?: SignatureCheck): FillSlotWitness {
  const { sellFilled, buyFilled } = checkFill(state, fill, ctx, verify);
  return executeFill(state, fill, sellFilled, buyFilled);
}

/** The state change and witness alone, without the rules (the circuit enforces them independently). */
export function executeFill(state: State, fill: FillOp, sellFilled: bigint, buyFilled: bigint): FillSlotWitness {
  const { sell, buy, baseAmount: b, quoteAmount: q } = fill;
  const fees = encodeFees(fill);
  const p = state.params;
  const seller = state.updateTrade(sell.account, {
    giveToken: sell.base,
    give: b,
    getToken: sell.quote,
    get: q - fill.sellFee,
    slot: orderSlotIndex(p, sell.orderId),
    newSlotLeaf: slotLeaf({ orderId: sell.orderId, filled: sellFilled + b }),
  });
  const buyer = state.updateTrade(buy.account, {
    giveToken: buy.quote,
    give: q,
    getToken: buy.base,
    get: b - fill.buyFee,
    slot: orderSlotIndex(p, buy.orderId),
    newSlotLeaf: slotLeaf({ orderId: buy.orderId, filled: buyFilled + b }),
  });
  return { isFill: true, fill, ...fees, chunk: fillChunk(fill, fees), seller, buyer };
}

/** An unused fill slot: changes nothing, emits 51 zero bytes. */
export function fillNoop(): FillSlotWitness {
  return { isFill: false, fill: null, sellFeeF: 0n, buyFeeF: 0n, chunk: new Uint8Array(FILL_CHUNK_BYTES), seller: null, buyer: null };
}

/** The fee credits a fill adds to the batch's buckets: [token, amount] pairs with a non-zero amount. */
export function fillFees(fill: FillOp): [number, bigint][] {
  const out: [number, bigint][] = [];
  if (fill.sellFee > 0n) out.push([fill.sell.quote, fill.sellFee]);
  if (fill.buyFee > 0n) out.push([fill.buy.base, fill.buyFee]);
  return out;
}
