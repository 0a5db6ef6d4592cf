/** The offline auditor: replays a rollup's history from the chain (or a proof bundle) and checks every batch. */
export * from "./audit";
export * from "./bundle";
export * from "./chain";
export * from "./report";
export * from "./snapshot";
export * from "./verifier-code";
