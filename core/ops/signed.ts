/** Rules shared by signed L2 operations: key, signature, nonce, expiry, amount encodings, debit. */
import { MAX_U128, MAX_U32 } from "../field";
import { fail } from "../errors";
import { FLOAT16, FLOAT40, tryEncodeFloat } from "../float";
import { packMessage, type MessageFields } from "../message";
import { signedMessage, type Domain } from "../domain";
import { verifySignature, type SignatureCheck } from "../eddsa";
import type { State } from "../state";
import type { BatchContext, L2Tx } from "./types";
import { OP_TRANSFER, OP_WITHDRAW } from "../message";

export interface EncodedAmounts {
  readonly amountF: bigint;
  readonly feeF: bigint;
}

export function encodeAmounts(amount: bigint, fee: bigint): EncodedAmounts {
  const amountF = tryEncodeFloat(FLOAT40, amount);
  if (amountF === null) fail("amount_not_representable", `amount ${amount} is not exactly representable as float40 (m·10^e, m < 2^35)`);
  const feeF = tryEncodeFloat(FLOAT16, fee);
  if (feeF === null) fail("amount_not_representable", `fee ${fee} is not exactly representable as float16 (m·10^e, m < 2^11)`);
  return { amountF, feeF };
}

export function signerOf(tx: L2Tx): number {
  return tx.type === "transfer" ? tx.from : tx.account;
}

/** The message a transaction's owner signs. */
export function messageFields(tx: L2Tx, chainId: number): MessageFields {
  const { amountF, feeF } = encodeAmounts(tx.amount, tx.fee);
  return {
    type: tx.type === "transfer" ? OP_TRANSFER : OP_WITHDRAW,
    from: signerOf(tx),
    to: tx.type === "transfer" ? tx.to : 0,
    token: tx.token,
    amountF,
    feeF,
    nonce: tx.nonce,
    validUntil: tx.validUntil,
    chainId,
  };
}

/** The field element a transaction's owner signs: its packed fields bound to the deployment. */
export function txMessage(tx: L2Tx, domain: Domain): bigint {
  return signedMessage(packMessage(messageFields(tx, domain.chainId)), domain);
}

/**
 * Checks everything about the signer's side of a signed op against the state; changes nothing.
 * `verify` checks the signature against the key read from `state` (default: verifySignature).
 */
export function checkSignedDebit(state: State, tx: L2Tx, ctx: BatchContext, verify: SignatureCheck = verifySignature): EncodedAmounts {
  const signer = signerOf(tx);
  if (!Number.isInteger(signer) || signer < 0 || signer >= state.accountCapacity) fail("unknown_account", `account ${signer} does not exist`);
  const capTokens = Math.min(4 ** state.params.balanceLevels, 256);
  if (!Number.isInteger(tx.token) || tx.token < 0 || tx.token >= capTokens) fail("bad_token", `token ${tx.token} outside 0..${capTokens - 1}`);
  if (tx.amount < 0n || tx.amount > MAX_U128) fail("amount_out_of_range", "amount outside 0..2^128-1");
  if (tx.fee < 0n || tx.fee > MAX_U128) fail("amount_out_of_range", "fee outside 0..2^128-1");
  if (!Number.isInteger(tx.validUntil) || tx.validUntil < 0 || BigInt(tx.validUntil) > MAX_U32) fail("bad_request", "validUntil must be a uint32");
  const enc = encodeAmounts(tx.amount, tx.fee);
  const acc = state.account(signer);
  if (!acc.registered) fail("unregistered_account", `account ${signer} is not registered`);
  if (tx.nonce !== acc.nonce) fail("bad_nonce", `nonce ${tx.nonce} does not match account nonce ${acc.nonce}`);
  if (acc.nonce >= MAX_U32) fail("nonce_overflow", "account nonce exhausted");
  if (ctx.timestamp > tx.validUntil) fail("expired", `operation expired at ${tx.validUntil}, batch time ${ctx.timestamp}`);
  const msg = txMessage(tx, ctx);
  if (!verify(msg, tx.signature, { ax: acc.ax, ay: acc.ay })) fail("bad_signature", "signature does not verify under the account's key");
  const balance = state.balance(signer, tx.token);
  if (balance < tx.amount + tx.fee) fail("insufficient_balance", `balance ${balance} < amount ${tx.amount} + fee ${tx.fee}`);
  return enc;
}
