/**
 * API errors: every failure a client can cause is an ApiError with a stable `code` and a 4xx status,
 * rendered as `{ error: { code, message } }`.
 *
 * Status policy (one rule, applied everywhere):
 *   400  the request itself is invalid, whatever the state: malformed JSON, wrong types, unknown or
 *        missing fields, values out of range or not encodable (amount_not_representable,
 *        amount_out_of_range, unknown_account = id outside the account tree, bad_token = id outside
 *        the balance tree), bad path parameters.
 *   404  the thing asked for does not exist (unknown tx hash, batch number, account id, route).
 *   409  the transaction or order (same hash = same signed message) was already received; an order
 *        slot already holds an open order (slot_in_use); a cancel of an order that is closed.
 *   413  body too large; 415 body is not application/json.
 *   400 malformed_http, 431 header_too_large, 408 request_timeout: what Node's HTTP parser refuses
 *        before routing (bad request line, headers or framing; request line and headers over 16 KiB).
 *   422  well-formed, but breaks a protocol rule against the pending state: bad_signature, bad_nonce,
 *        insufficient_balance, unregistered_account, expired, balance_overflow, nonce_overflow.
 *   429  too many transactions waiting for a batch (back-pressure).
 *   503  overloaded: the proving backlog is past the sequencer's bound (sequencer/backpressure.ts);
 *        the response carries Retry-After in seconds.
 * Codes are core's ProtocolError codes where the protocol defines one.
 */
import { ProtocolError, type ProtocolErrorCode } from "../core/errors";

export type ApiErrorCode =
  | ProtocolErrorCode
  | "not_found"
  | "duplicate"
  | "malformed_json"
  | "unsupported_media_type"
  | "payload_too_large"
  | "malformed_http"
  | "header_too_large"
  | "request_timeout"
  | "too_many_pending"
  | "overloaded"
  | "internal"
  // trading (the matching engine's codes)
  | "unknown_market"
  | "invalid_order"
  | "invalid_amount"
  | "duplicate_order"
  | "slot_in_use"
  | "would_take"
  | "unknown_order"
  | "order_closed";

export type ApiErrorStatus = 400 | 404 | 408 | 409 | 413 | 415 | 422 | 429 | 431 | 500 | 503;

export class ApiError extends Error {
  readonly status: ApiErrorStatus;
  readonly code: ApiErrorCode;
  /** Seconds for a Retry-After header (503 overloaded). */
  readonly retryAfterS?: number;
  constructor(status: ApiErrorStatus, code: ApiErrorCode, message: string, retryAfterS?: number) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    if (retryAfterS !== undefined) this.retryAfterS = retryAfterS;
  }

  toJSON(): { error: { code: ApiErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

/** Which protocol rule violations are the request's own fault (400) and which depend on state (422). */
const PROTOCOL_STATUS: Record<ProtocolErrorCode, 400 | 422> = {
  bad_request: 400,
  amount_not_representable: 400,
  amount_out_of_range: 400,
  unknown_account: 400,
  bad_token: 400,
  bad_signature: 422,
  bad_nonce: 422,
  insufficient_balance: 422,
  balance_overflow: 422,
  unregistered_account: 422,
  account_exists: 422,
  expired: 422,
  order_id_used: 422,
  order_filled: 422,
  overfill: 422,
  price_limit: 422,
  fee_too_high: 422,
  self_trade: 422,
  market_mismatch: 400,
  nonce_overflow: 422,
  fee_token_not_in_batch: 422,
  batch_full: 422,
  bad_queue_record: 422,
};

export function protocolStatus(code: ProtocolErrorCode): 400 | 422 {
  return PROTOCOL_STATUS[code];
}

export function fromProtocolError(e: ProtocolError): ApiError {
  return new ApiError(protocolStatus(e.code), e.code, e.message);
}

export const badRequest = (message: string, code: ApiErrorCode = "bad_request"): ApiError => new ApiError(400, code, message);
export const notFound = (message: string): ApiError => new ApiError(404, "not_found", message);
