/**
 * Building and signing L2 transactions for the API: pure (no I/O), so wallets and tests can use
 * it without a sequencer. Needs `await initCrypto()` once before signing.
 */
import { signMessage } from "../core/eddsa";
import { txHash } from "../core/message";
import { txMessage } from "../core/ops/signed";
import type { Domain } from "../core/domain";
import type { L2Tx, TransferTx, WithdrawTx } from "../core/ops/types";
import { checkL2Amounts } from "./amounts";
import type { Hex, TransferTxBody, TxBody, WithdrawTxBody } from "./api-client";

export { AmountNotRepresentableError, checkL2Amounts } from "./amounts";

interface Common {
  readonly token: number;
  readonly amount: bigint;
  readonly fee: bigint;
  /** The account's next nonce (GET /v1/accounts/:id → pendingNonce). */
  readonly nonce: number;
  /** Last batch timestamp (seconds) the transaction may be included in. */
  readonly validUntil: number;
  readonly chainId: number;
  /** The Rollup contract (GET /v1/status → rollupAddress): signatures are bound to the deployment. */
  readonly rollup: `0x${string}`;
}

export interface TransferParams extends Common {
  readonly from: number;
  readonly to: number;
}

export interface WithdrawParams extends Common {
  readonly account: number;
}

export interface SignedTx<B extends TxBody = TxBody> {
  /** POST /v1/txs body. */
  readonly body: B;
  /** The API's transaction id: sha256 of the signed message. */
  readonly hash: Hex;
  /** The field element that was signed (PROTOCOL.md §4.4). */
  readonly message: bigint;
  readonly tx: L2Tx;
}

function signed<B extends TxBody>(privateKey: string, tx: L2Tx, domain: Domain, body: (sig: TxBody["signature"]) => B): SignedTx<B> {
  checkL2Amounts(tx.amount, tx.fee);
  const message = txMessage(tx, domain);
  const sig = signMessage(privateKey, message);
  const withSig = { ...tx, signature: sig } as L2Tx;
  return {
    body: body({ r8x: sig.r8x.toString(), r8y: sig.r8y.toString(), s: sig.s.toString() }),
    hash: txHash(message),
    message,
    tx: withSig,
  };
}

const NO_SIGNATURE = { r8x: 0n, r8y: 0n, s: 0n };

export function buildSignedTransfer(privateKey: string, p: TransferParams): SignedTx<TransferTxBody> {
  const tx: TransferTx = { type: "transfer", from: p.from, to: p.to, token: p.token, amount: p.amount, fee: p.fee, nonce: BigInt(p.nonce), validUntil: p.validUntil, signature: NO_SIGNATURE };
  return signed(privateKey, tx, { chainId: p.chainId, rollup: p.rollup }, (signature) => ({
    type: "transfer",
    from: p.from,
    to: p.to,
    token: p.token,
    amount: p.amount.toString(),
    fee: p.fee.toString(),
    nonce: p.nonce,
    validUntil: p.validUntil,
    signature,
  }));
}

export function buildSignedWithdraw(privateKey: string, p: WithdrawParams): SignedTx<WithdrawTxBody> {
  const tx: WithdrawTx = { type: "withdraw", account: p.account, token: p.token, amount: p.amount, fee: p.fee, nonce: BigInt(p.nonce), validUntil: p.validUntil, signature: NO_SIGNATURE };
  return signed(privateKey, tx, { chainId: p.chainId, rollup: p.rollup }, (signature) => ({
    type: "withdraw",
    account: p.account,
    token: p.token,
    amount: p.amount.toString(),
    fee: p.fee.toString(),
    nonce: p.nonce,
    validUntil: p.validUntil,
    signature,
  }));
}

/** validUntil for a transaction valid for `seconds` from `nowSeconds` (capped to uint32). */
export function validUntilFrom(nowSeconds: number, seconds: number): number {
  return Math.min(Math.floor(nowSeconds) + seconds, 2 ** 32 - 1);
}
