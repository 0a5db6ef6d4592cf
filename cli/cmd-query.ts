/** Read-only commands against the API: `modex status`, `account ID`, `tx HASH`, `batch N`. */
import { parseAccountId, parseTxHash, parseUint } from "./args";
import type { StatusResponse } from "./api-client";
import { API_OPTION, apiClient, report, table, type Command } from "./context";

const time = (ms: number | undefined): string => (ms === undefined ? "-" : new Date(ms).toISOString());

export const status: Command = {
  spec: { name: "status", summary: "Show the rollup's status: chain, roots, batches, queue, prover.", options: { ...API_OPTION } },
  async run(args, ctx) {
    const s = await apiClient(args, ctx).status();
    report(ctx, args, s, [
      ...table([
        ["chain id", s.chainId],
        ["rollup", s.rollupAddress],
        ["state root", s.stateRoot],
        ["latest batch", s.latestBatch],
        ["finalized batch", s.finalizedBatch],
        ["finalized root", s.finalizedRoot],
        ["pending txs", s.pendingTxs ?? "-"],
        ["L1 queue", s.queue ? `${s.queue.consumed}/${s.queue.length} consumed` : "-"],
        ["forced withdrawals", s.forced?.pending ? `${s.forced.pending} waiting; the oldest (queue ${s.forced.oldestQueueIndex}) is due by block ${s.forced.deadlineBlock} (${s.forced.blocksLeft} blocks left)` : "none waiting"],
        ["prover", s.prover ? `${s.prover.pending} pending${s.prover.proving.length ? `, proving ${s.prover.proving.join(", ")}` : ""}` : "-"],
        ["proving backlog", s.proving ? backlogLine(s.proving) : "-"],
        ["L1 block", s.l1 ? `${s.l1.block} (time ${s.l1.timestamp})` : "-"],
      ]),
      ...(s.halted ? [`HALTED: ${s.halted.reason}${s.halted.batch !== null ? ` (batch ${s.halted.batch})` : ""}`] : []),
    ]);
  },
};

function backlogLine(p: StatusResponse["proving"]): string {
  const capacity = p.proofS === null ? "no proof timed yet" : `${p.proofS} s per proof, ${p.workers} worker${p.workers === 1 ? "" : "s"}`;
  const seconds = p.backlogS === null ? "" : ` = ${p.backlogS} s`;
  return `${p.backlogBatches} batches (${capacity})${seconds}; bound ${p.maxBacklogS} s${p.refusing ? ": REFUSING new transactions and orders (503)" : ""}`;
}

export const account: Command = {
  spec: {
    name: "account",
    summary: "Show an L2 account: key, nonce, balances (batched and pending).",
    positionals: [{ name: "ID", description: "account id" }],
    options: { ...API_OPTION },
  },
  async run(args, ctx) {
    const id = parseAccountId(args.positionals[0], "ID");
    const a = await apiClient(args, ctx).account(id);
    const tokens = [...new Set([...Object.keys(a.balances), ...Object.keys(a.pendingBalances)])].sort((x, y) => Number(x) - Number(y));
    report(ctx, args, a, [
      ...table([
        ["account", a.id],
        ["registered", a.registered ? "yes" : "no"],
        ...(a.registered
          ? ([
              ["ax", a.ax],
              ["ay", a.ay],
              ["nonce", a.pendingNonce !== a.nonce ? `${a.nonce} (next: ${a.pendingNonce})` : a.nonce],
            ] as const)
          : []),
      ]),
      tokens.length ? "balances (token: batched / with pending txs):" : "balances: none",
      ...tokens.map((t) => `  ${t}: ${a.balances[t] ?? "0"} / ${a.pendingBalances[t] ?? "0"}`),
    ]);
  },
};

export const tx: Command = {
  spec: {
    name: "tx",
    summary: "Show an L2 transaction's status (accepted, batched, proven, finalized or rejected).",
    positionals: [{ name: "HASH", description: "transaction hash (0x + 64 hex digits)" }],
    options: { ...API_OPTION },
  },
  async run(args, ctx) {
    const t = await apiClient(args, ctx).tx(parseTxHash(args.positionals[0]));
    const lines: (readonly [string, string | number])[] =
      t.type === "fill"
        ? [
            ["type", "fill"],
            ["market", t.market],
            ["trade", t.trade],
            ["seller", `${t.sell.account} (order ${t.sell.orderId})`],
            ["buyer", `${t.buy.account} (order ${t.buy.orderId})`],
            ["base amount", t.baseAmount],
            ["quote amount", t.quoteAmount],
            ["fees", `seller ${t.sellFee} quote, buyer ${t.buyFee} base`],
          ]
        : [
            ["type", t.type],
            ...(t.type === "transfer" ? ([["from", t.from], ["to", t.to]] as const) : ([["account", t.account]] as const)),
            ["token", t.token],
            ["amount", t.amount],
            ["fee", t.fee],
            ["nonce", t.nonce],
            ["valid until", t.validUntil],
          ];
    report(ctx, args, t, [
      ...table([
        ["hash", t.hash],
        ["status", t.status],
        ...(t.batch !== undefined ? ([["batch", t.slot !== undefined ? `${t.batch} (slot ${t.slot})` : t.batch]] as const) : []),
        ...lines,
        ["accepted at", time(t.timestamps?.acceptedAt)],
        ...(t.timestamps?.finalizedAt !== undefined ? ([["finalized at", time(t.timestamps.finalizedAt)]] as const) : []),
      ]),
      ...(t.reason ? [`reason: ${t.reason.code}: ${t.reason.message}`] : []),
    ]);
  },
};

export const batch: Command = {
  spec: {
    name: "batch",
    summary: "Show a batch: status, roots, public input, transactions, L1 submission.",
    positionals: [{ name: "N", description: "batch number" }],
    options: { ...API_OPTION },
  },
  async run(args, ctx) {
    const n = parseUint(args.positionals[0], "N", Number.MAX_SAFE_INTEGER);
    const b = await apiClient(args, ctx).batch(n);
    report(ctx, args, b, [
      ...table([
        ["batch", b.number],
        ["status", b.status],
        ["timestamp", `${b.timestamp} (${new Date(b.timestamp * 1000).toISOString()})`],
        ["old root", b.oldRoot],
        ["new root", b.newRoot],
        ["public input", b.publicInput],
        ["deposits", `${b.depositCount} (queue from ${b.queueStart})`],
        ["fee tokens", (b.feeTokens ?? []).join(", ")],
        ["L1 tx", b.l1TxHash ?? "-"],
        ...(b.error ? ([["error", b.error]] as const) : []),
      ]),
      b.txs?.length ? `transactions (${b.txs.length}):` : "transactions: none",
      ...(b.txs ?? []).map((h) => `  ${h}`),
    ]);
  },
};
