/**
 * The JSON wire format of an L2 transaction (POST /v1/txs body, GET /v1/txs/:hash fields, and the
 * `body` column of the txs table), with a strict parser. Pure: no state, no I/O.
 *
 *   transfer: { "type": "transfer", "from": 1, "to": 2, "token": 0, "amount": "1000", "fee": "0",
 *               "nonce": 0, "validUntil": 4294967295, "signature": { "r8x": "…", "r8y": "…", "s": "…" } }
 *   withdraw: { "type": "withdraw", "account": 1, "token": 0, "amount": "1000", "fee": "0",
 *               "nonce": 0, "validUntil": 4294967295, "signature": { … } }
 *
 * Small integers (account ids, token, nonce, validUntil) are JSON integers; amounts, fees and
 * signature components are canonical decimal strings (no sign, no leading zeros, no exponent),
 * because JSON numbers lose precision above 2^53. Unknown or missing fields are rejected.
 * Ranges are checked against the deployment's parameters, so a parsed tx can only fail on
 * state-dependent rules.
 */
import { FIELD_MODULUS, MAX_U128, MAX_U32 } from "../core/field";
import { FLOAT16, FLOAT40, tryEncodeFloat } from "../core/float";
import { maxAccounts, maxTokens, type Params } from "../core/params";
import type { FillOp, L2Tx, Order, OrderSide } from "../core/ops/types";
import { MAX_FEE_BIPS, MAX_ORDER_AMOUNT } from "../core/ops/order";
import type { Signature } from "../core/eddsa";
import { badRequest } from "./errors";

type Hex = `0x${string}`;

export interface WireSignature {
  readonly r8x: string;
  readonly r8y: string;
  readonly s: string;
}

interface WireCommon {
  readonly token: number;
  readonly amount: string;
  readonly fee: string;
  readonly nonce: number;
  readonly validUntil: number;
  readonly signature: WireSignature;
}

export interface WireTransfer extends WireCommon {
  readonly type: "transfer";
  readonly from: number;
  readonly to: number;
}

export interface WireWithdraw extends WireCommon {
  readonly type: "withdraw";
  readonly account: number;
}

export type WireTx = WireTransfer | WireWithdraw;

const TRANSFER_KEYS = ["type", "from", "to", "token", "amount", "fee", "nonce", "validUntil", "signature"] as const;
const WITHDRAW_KEYS = ["type", "account", "token", "amount", "fee", "nonce", "validUntil", "signature"] as const;
const SIGNATURE_KEYS = ["r8x", "r8y", "s"] as const;
/** 2^256 has 78 digits: longer strings are rejected before BigInt parses them. */
const MAX_DECIMAL_DIGITS = 78;
const DECIMAL = /^(0|[1-9][0-9]*)$/;

/** Parses and range-checks a request body. Throws ApiError 400 on anything malformed. */
export function parseTx(body: unknown, p: Params): L2Tx {
  const o = record(body, "body");
  const type = o.type;
  if (type !== "transfer" && type !== "withdraw") throw badRequest(`type: must be "transfer" or "withdraw"`);
  exactKeys(o, type === "transfer" ? TRANSFER_KEYS : WITHDRAW_KEYS, "body");

  const accounts = maxAccounts(p);
  const accountId = (name: string): number => {
    const v = uint(o[name], name, Number(MAX_U32));
    if (v >= accounts) throw badRequest(`${name}: account ${v} is outside the account tree (0..${accounts - 1})`, "unknown_account");
    return v;
  };
  const tokens = maxTokens(p);
  const token = uint(o.token, "token", 255);
  if (token >= tokens) throw badRequest(`token: ${token} is outside 0..${tokens - 1}`, "bad_token");

  const amount = decimal(o.amount, "amount", MAX_U128, "amount_out_of_range");
  if (tryEncodeFloat(FLOAT40, amount) === null) {
    throw badRequest(`amount: ${amount} is not exactly representable as float40 (m·10^e, m < 2^35)`, "amount_not_representable");
  }
  const fee = decimal(o.fee, "fee", MAX_U128, "amount_out_of_range");
  if (tryEncodeFloat(FLOAT16, fee) === null) {
    throw badRequest(`fee: ${fee} is not exactly representable as float16 (m·10^e, m < 2^11)`, "amount_not_representable");
  }
  const nonce = BigInt(uint(o.nonce, "nonce", Number(MAX_U32)));
  const validUntil = uint(o.validUntil, "validUntil", Number(MAX_U32));

  const so = record(o.signature, "signature");
  exactKeys(so, SIGNATURE_KEYS, "signature");
  const signature = {
    r8x: decimal(so.r8x, "signature.r8x", FIELD_MODULUS - 1n),
    r8y: decimal(so.r8y, "signature.r8y", FIELD_MODULUS - 1n),
    s: decimal(so.s, "signature.s", FIELD_MODULUS - 1n),
  };

  const common = { token, amount, fee, nonce, validUntil, signature };
  return type === "transfer"
    ? { type, from: accountId("from"), to: accountId("to"), ...common }
    : { type, account: accountId("account"), ...common };
}

/** The canonical wire form (what parseTx accepts and the API returns). */
export function txToWire(tx: L2Tx): WireTx {
  const common = {
    token: tx.token,
    amount: tx.amount.toString(),
    fee: tx.fee.toString(),
    nonce: Number(tx.nonce),
    validUntil: tx.validUntil,
    signature: { r8x: tx.signature.r8x.toString(), r8y: tx.signature.r8y.toString(), s: tx.signature.s.toString() },
  };
  return tx.type === "transfer"
    ? { type: "transfer", from: tx.from, to: tx.to, ...common }
    : { type: "withdraw", account: tx.account, ...common };
}

function record(v: unknown, name: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw badRequest(`${name}: must be a JSON object`);
  return v as Record<string, unknown>;
}

function exactKeys(o: Record<string, unknown>, allowed: readonly string[], name: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw badRequest(`${name}: unknown field ${JSON.stringify(k)}`);
  for (const k of allowed) if (!(k in o) || o[k] === undefined) throw badRequest(`${name}: missing field ${JSON.stringify(k)}`);
}

function uint(v: unknown, name: string, max: number): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw badRequest(`${name}: must be a non-negative JSON integer`);
  if (v > max) throw badRequest(`${name}: ${v} exceeds ${max}`);
  return v;
}

function decimal(v: unknown, name: string, max: bigint, rangeCode: "bad_request" | "amount_out_of_range" = "bad_request"): bigint {
  if (typeof v !== "string" || v.length > MAX_DECIMAL_DIGITS || !DECIMAL.test(v)) {
    throw badRequest(`${name}: must be a decimal string without sign, leading zeros or exponent`);
  }
  const x = BigInt(v);
  if (x > max) throw badRequest(`${name}: ${v} exceeds ${max}`, rangeCode);
  return x;
}

// ---------------------------------------------------------------- orders and fills

/**
 * A signed limit order (POST /v1/orders body, and inside stored fills):
 *   { "account": 1, "orderId": 7, "base": 0, "quote": 1, "side": "sell", "amount": "1000000000000000000",
 *     "quoteAmount": "2000000000", "maxFeeBips": 30, "validUntil": 4294967295, "signature": { … } }
 * POST /v1/orders also takes "timeInForce": "gtc" (default) | "ioc" | "post_only".
 */
export interface WireOrder {
  readonly account: number;
  readonly orderId: number;
  readonly base: number;
  readonly quote: number;
  readonly side: OrderSide;
  readonly amount: string;
  readonly quoteAmount: string;
  readonly maxFeeBips: number;
  readonly validUntil: number;
  readonly signature: WireSignature;
}

/** A fill as the sequencer stores it among its operations (the `body` of a txs row of type "fill"). */
export interface WireFill {
  readonly type: "fill";
  readonly trade: number;
  readonly market: string;
  readonly makerHash: Hex;
  readonly takerHash: Hex;
  readonly sell: WireOrder;
  readonly buy: WireOrder;
  readonly baseAmount: string;
  readonly quoteAmount: string;
  readonly sellFee: string;
  readonly buyFee: string;
}

export type WireOp = WireTx | WireFill;

const ORDER_KEYS = ["account", "orderId", "base", "quote", "side", "amount", "quoteAmount", "maxFeeBips", "validUntil", "signature"] as const;
const TIME_IN_FORCE = ["gtc", "ioc", "post_only"] as const;
export type WireTimeInForce = (typeof TIME_IN_FORCE)[number];

/** Parses and range-checks an order. Throws ApiError 400 on anything malformed. */
export function parseOrder(body: unknown, p: Params, name = "body"): Order {
  const o = record(body, name);
  exactKeys(o, ORDER_KEYS, name);
  const accounts = maxAccounts(p);
  const account = uint(o.account, `${name}.account`, Number(MAX_U32));
  if (account >= accounts) throw badRequest(`${name}.account: account ${account} is outside the account tree (0..${accounts - 1})`, "unknown_account");
  const tokens = maxTokens(p);
  const token = (k: "base" | "quote"): number => {
    const t = uint(o[k], `${name}.${k}`, 255);
    if (t >= tokens) throw badRequest(`${name}.${k}: ${t} is outside 0..${tokens - 1}`, "bad_token");
    return t;
  };
  const side = o.side;
  if (side !== "buy" && side !== "sell") throw badRequest(`${name}.side: must be "buy" or "sell"`);
  const amount = (k: "amount" | "quoteAmount"): bigint => {
    const v = decimal(o[k], `${name}.${k}`, MAX_ORDER_AMOUNT, "amount_out_of_range");
    if (v === 0n) throw badRequest(`${name}.${k}: must be positive`, "amount_out_of_range");
    if (tryEncodeFloat(FLOAT40, v) === null) throw badRequest(`${name}.${k}: ${v} is not exactly representable as float40 (m·10^e, m < 2^35)`, "amount_not_representable");
    return v;
  };
  const so = record(o.signature, `${name}.signature`);
  exactKeys(so, SIGNATURE_KEYS, `${name}.signature`);
  return {
    account,
    orderId: BigInt(uint(o.orderId, `${name}.orderId`, Number(MAX_U32))),
    base: token("base"),
    quote: token("quote"),
    side,
    amount: amount("amount"),
    quoteAmount: amount("quoteAmount"),
    maxFeeBips: uint(o.maxFeeBips, `${name}.maxFeeBips`, MAX_FEE_BIPS),
    validUntil: uint(o.validUntil, `${name}.validUntil`, Number(MAX_U32)),
    signature: {
      r8x: decimal(so.r8x, `${name}.signature.r8x`, FIELD_MODULUS - 1n),
      r8y: decimal(so.r8y, `${name}.signature.r8y`, FIELD_MODULUS - 1n),
      s: decimal(so.s, `${name}.signature.s`, FIELD_MODULUS - 1n),
    },
  };
}

/** POST /v1/orders: the order's fields plus an optional timeInForce. */
export function parseOrderRequest(body: unknown, p: Params): { order: Order; timeInForce: WireTimeInForce } {
  const o = record(body, "body");
  const { timeInForce, ...fields } = o;
  if (timeInForce !== undefined && !TIME_IN_FORCE.includes(timeInForce as WireTimeInForce)) {
    throw badRequest(`timeInForce: must be one of ${TIME_IN_FORCE.map((t) => `"${t}"`).join(", ")}`);
  }
  return { order: parseOrder(fields, p), timeInForce: (timeInForce as WireTimeInForce | undefined) ?? "gtc" };
}

/** DELETE /v1/orders/:hash body: { "signature": { … } } over core's cancelMessage. */
export function parseCancelRequest(body: unknown): Signature {
  const o = record(body, "body");
  exactKeys(o, ["signature"], "body");
  const so = record(o.signature, "signature");
  exactKeys(so, SIGNATURE_KEYS, "signature");
  return {
    r8x: decimal(so.r8x, "signature.r8x", FIELD_MODULUS - 1n),
    r8y: decimal(so.r8y, "signature.r8y", FIELD_MODULUS - 1n),
    s: decimal(so.s, "signature.s", FIELD_MODULUS - 1n),
  };
}

export function orderToWire(o: Order): WireOrder {
  return {
    account: o.account,
    orderId: Number(o.orderId),
    base: o.base,
    quote: o.quote,
    side: o.side,
    amount: o.amount.toString(),
    quoteAmount: o.quoteAmount.toString(),
    maxFeeBips: o.maxFeeBips,
    validUntil: o.validUntil,
    signature: { r8x: o.signature.r8x.toString(), r8y: o.signature.r8y.toString(), s: o.signature.s.toString() },
  };
}

export interface FillRecord {
  readonly fill: FillOp;
  readonly trade: number;
  readonly market: string;
  readonly makerHash: Hex;
  readonly takerHash: Hex;
}

export function fillToWire(f: FillRecord): WireFill {
  return {
    type: "fill",
    trade: f.trade,
    market: f.market,
    makerHash: f.makerHash,
    takerHash: f.takerHash,
    sell: orderToWire(f.fill.sell),
    buy: orderToWire(f.fill.buy),
    baseAmount: f.fill.baseAmount.toString(),
    quoteAmount: f.fill.quoteAmount.toString(),
    sellFee: f.fill.sellFee.toString(),
    buyFee: f.fill.buyFee.toString(),
  };
}

/** A stored fill back to core's FillOp (bodies were written by fillToWire). */
export function parseStoredFill(w: WireFill, p: Params): FillOp {
  const amount = (v: string, name: string): bigint => decimal(v, name, MAX_ORDER_AMOUNT);
  const fee = (v: string, name: string): bigint => decimal(v, name, MAX_U128);
  return {
    type: "fill",
    sell: parseOrder(w.sell, p, "sell"),
    buy: parseOrder(w.buy, p, "buy"),
    baseAmount: amount(w.baseAmount, "baseAmount"),
    quoteAmount: amount(w.quoteAmount, "quoteAmount"),
    sellFee: fee(w.sellFee, "sellFee"),
    buyFee: fee(w.buyFee, "buyFee"),
  };
}

/** A stored operation (txs.body) back to core's form. */
export function parseStoredOp(w: WireOp, p: Params): L2Tx | FillOp {
  return w.type === "fill" ? parseStoredFill(w, p) : parseTx(w, p);
}
