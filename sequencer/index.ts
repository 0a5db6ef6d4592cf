/** Modex sequencer: tx acceptance, L1 queue mirror, batch cutting, proving hand-off, in-order L1 submission, HTTP API. */
export { createSequencer, type Sequencer, type SequencerOptions } from "./sequencer";
export { createApi, serve, type RunningApi } from "./api";
export { ApiError, protocolStatus, type ApiErrorCode, type ApiErrorStatus } from "./errors";
export { parseTx, txToWire, type WireTx, type WireTransfer, type WireWithdraw, type WireSignature } from "./wire";
export { jsonLogger, silentLogger, type LogFn, type LogLevel } from "./log";
export type { L1Options } from "./l1";
export type { AccountInfo, BatchInfo, HaltInfo, StatusView, TxAccepted, TxInfo } from "./views";
export type { BatchStatus, TxStatus, BatchTimings } from "./store";
export { signTx, sequencerClient, ApiClientError, type SequencerClient, type UnsignedTx } from "./client";
