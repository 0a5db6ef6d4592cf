/** A rule of the protocol was broken; `code` is stable and machine-readable. */
export type ProtocolErrorCode =
  | "bad_signature"
  | "bad_nonce"
  | "insufficient_balance"
  | "balance_overflow"
  | "amount_not_representable"
  | "amount_out_of_range"
  | "unknown_account"
  | "unregistered_account"
  | "account_exists"
  | "bad_token"
  | "expired"
  | "nonce_overflow"
  | "fee_token_not_in_batch"
  | "batch_full"
  | "bad_queue_record"
  | "order_id_used"
  | "order_filled"
  | "overfill"
  | "price_limit"
  | "fee_too_high"
  | "self_trade"
  | "market_mismatch"
  | "bad_request";

export class ProtocolError extends Error {
  readonly code: ProtocolErrorCode;
  constructor(code: ProtocolErrorCode, message: string) {
    super(message);
    this.name = "ProtocolError";
    this.code = code;
  }
}

export function fail(code: ProtocolErrorCode, message: string): never {
  throw new ProtocolError(code, message);
}
