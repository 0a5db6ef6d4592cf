/** The limit order matching engine (pure; see engine.ts). */
export { MatchingEngine, type VoidedFill } from "./engine";
export { MemoryLedger } from "./memory-ledger";
export { feeOn, feeRate } from "./fees";
export { limitPrice, formatPrice, fillWithinLimits, type Price } from "./price";
export * from "./types";
