/**
 * Building and signing orders and cancels for the API: pure (no I/O), like ./tx for transactions.
 * Needs `await initCrypto()` once before signing.
 */
import { signMessage, type Signature } from "../core/eddsa";
import { cancelMessage, orderHash, orderMessage } from "../core/ops/order";
import type { Order, OrderSide } from "../core/ops/types";
import type { Domain } from "../core/domain";
import type { Hex, OrderBody, SignatureBody } from "./api-client";
import { checkOrderAmount } from "./price";

export type TimeInForce = NonNullable<OrderBody["timeInForce"]>;

export interface OrderParams {
  readonly account: number;
  /** uint32; the order uses order-fill slot orderId mod 4^orderLevels of the account. */
  readonly orderId: number;
  readonly base: number;
  readonly quote: number;
  readonly side: OrderSide;
  /** Base amount, float40. */
  readonly amount: bigint;
  /** Quote amount at the limit for the whole `amount`, float40. */
  readonly quoteAmount: bigint;
  readonly maxFeeBips: number;
  readonly validUntil: number;
  readonly chainId: number;
  /** The Rollup contract (GET /v1/status → rollupAddress): signatures are bound to the deployment. */
  readonly rollup: `0x${string}`;
  readonly timeInForce: TimeInForce;
}

export interface SignedOrder {
  /** POST /v1/orders body. */
  readonly body: OrderBody;
  /** The API's order id: sha256 of the signed message. */
  readonly hash: Hex;
  /** The field element that was signed (PROTOCOL.md §4.5). */
  readonly message: bigint;
  readonly order: Order;
}

function wireSignature(sig: Signature): SignatureBody {
  return { r8x: sig.r8x.toString(), r8y: sig.r8y.toString(), s: sig.s.toString() };
}

export function buildSignedOrder(privateKey: string, p: OrderParams): SignedOrder {
  checkOrderAmount(p.amount, "amount");
  checkOrderAmount(p.quoteAmount, "quote-amount");
  const unsigned: Order = {
    account: p.account,
    orderId: BigInt(p.orderId),
    base: p.base,
    quote: p.quote,
    side: p.side,
    amount: p.amount,
    quoteAmount: p.quoteAmount,
    maxFeeBips: p.maxFeeBips,
    validUntil: p.validUntil,
    signature: { r8x: 0n, r8y: 0n, s: 0n },
  };
  const message = orderMessage(unsigned, { chainId: p.chainId, rollup: p.rollup });
  const signature = signMessage(privateKey, message);
  const order: Order = { ...unsigned, signature };
  return {
    body: {
      account: p.account,
      orderId: p.orderId,
      base: p.base,
      quote: p.quote,
      side: p.side,
      amount: p.amount.toString(),
      quoteAmount: p.quoteAmount.toString(),
      maxFeeBips: p.maxFeeBips,
      validUntil: p.validUntil,
      signature: wireSignature(signature),
      timeInForce: p.timeInForce,
    },
    hash: orderHash(order, { chainId: p.chainId, rollup: p.rollup }),
    message,
    order,
  };
}

/** DELETE /v1/orders/:hash signature: over core's cancelMessage(account, orderId, domain). */
export function signCancel(privateKey: string, account: number, orderId: number, domain: Domain): { signature: SignatureBody; message: bigint } {
  const message = cancelMessage(account, BigInt(orderId), domain);
  return { signature: wireSignature(signMessage(privateKey, message)), message };
}
