/**
 * A small client of the sequencer API, and the signing helper a wallet needs to build a request
 * body. For scripts, demos and tests; it talks HTTP only (fetch), no sequencer internals.
 */
import { signMessage } from "../core/eddsa";
import { txMessage } from "../core/ops/signed";
import type { Domain } from "../core/domain";
import type { TransferTx, WithdrawTx } from "../core/ops/types";
import type { Hex } from "./store";
import type { AccountInfo, BatchInfo, StatusView, TxAccepted, TxInfo } from "./views";
import { txToWire, type WireTx } from "./wire";

export type UnsignedTx = Omit<TransferTx, "signature"> | Omit<WithdrawTx, "signature">;

/** Signs `tx` for a deployment with an EdDSA-Poseidon private key (32-byte hex); needs `await initCrypto()` once. */
export function signTx(privateKey: string, tx: UnsignedTx, domain: Domain): WireTx {
  const placeholder = { r8x: 0n, r8y: 0n, s: 0n };
  const full = { ...tx, signature: placeholder } as TransferTx | WithdrawTx;
  return txToWire({ ...full, signature: signMessage(privateKey, txMessage(full, domain)) });
}

export class ApiClientError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`${status} ${code}: ${message}`);
    this.name = "ApiClientError";
  }
}

export interface SequencerClient {
  status(): Promise<StatusView>;
  account(id: number): Promise<AccountInfo>;
  submit(tx: WireTx): Promise<TxAccepted>;
  tx(hash: Hex): Promise<TxInfo>;
  batch(n: number): Promise<BatchInfo>;
}

export function sequencerClient(baseUrl: string): SequencerClient {
  const call = async <T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> => {
    const res = await fetch(baseUrl + path, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json()) as T & { error?: { code: string; message: string } };
    if (!res.ok) throw new ApiClientError(res.status, json.error?.code ?? "unknown", json.error?.message ?? res.statusText);
    return json;
  };
  return {
    status: () => call("GET", "/v1/status"),
    account: (id) => call("GET", `/v1/accounts/${id}`),
    submit: (tx) => call("POST", "/v1/txs", tx),
    tx: (hash) => call("GET", `/v1/txs/${hash}`),
    batch: (n) => call("GET", `/v1/batches/${n}`),
  };
}
