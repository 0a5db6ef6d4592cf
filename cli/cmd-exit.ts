/**
 * `modex exit`: take an account's funds out of a frozen rollup with no operator and no sequencer API.
 * The state is rebuilt from chain data alone (audit/), the exits and refunds are sent (cli/exit.ts).
 */
import type { Address, Hex } from "viem";
import { parseAccountId, parseAddress, parsePrivateKeyHex, parseTokenId, parseUint, parseUrl, UsageError } from "./args";
import { DEFAULT_RPC, lazy, note, report, table, type Command } from "./context";

export const exit: Command = {
  spec: {
    name: "exit",
    summary:
      "Exit an account's balances from a frozen rollup at its last finalized state, refund its deposits still queued, and pay them to the account's L1 owner. Needs only the chain: no operator, no sequencer API.",
    options: {
      account: { type: "string", value: "ID", description: "L2 account id to exit", required: true },
      token: { type: "string", value: "ID", description: "only this token", default: "every token the account holds" },
      freeze: { type: "boolean", description: "freeze the rollup first if a forced withdrawal has passed its deadline unprocessed" },
      "no-claim": { type: "boolean", description: "credit the owner's pending withdrawals without claiming them" },
      rpc: { type: "string", value: "URL", description: "L1 JSON-RPC endpoint (env MODEX_RPC)", default: DEFAULT_RPC },
      rollup: { type: "string", value: "ADDR", description: "Rollup contract address (env MODEX_ROLLUP)", required: false },
      config: { type: "string", value: "NAME", description: "parameter set test|default|production (orderLevels is not on chain)", default: "the config whose other params match the rollup's" },
      "from-block": { type: "string", value: "N", description: "first L1 block to scan for events", default: "0" },
      snapshot: { type: "string", value: "FILE", description: "start the rebuild from an audit snapshot (modex audit --snapshot)" },
      "l1-key": { type: "string", value: "HEX", description: "L1 private key that sends and pays gas; anyone may, the funds go to the owner (env MODEX_L1_KEY)" },
    },
    notes: [
      "Exits open once the rollup is frozen: a forced withdrawal ('modex l1 force-withdraw') that no",
      "batch processed by its deadline lets anyone freeze it ('modex l1 freeze', or --freeze here).",
      "Each balance exits once; running the command again skips what is done and says so.",
    ].join("\n"),
  },
  async run(args, ctx) {
    const v = (name: string): string | undefined => args.values[name] as string | undefined;
    const accountId = parseAccountId(v("account") as string, "account");
    const token = v("token") === undefined ? undefined : parseTokenId(v("token") as string);
    const rpcUrl = parseUrl(v("rpc") ?? ctx.env.MODEX_RPC ?? DEFAULT_RPC, "rpc");
    const rollupArg = v("rollup") ?? ctx.env.MODEX_ROLLUP;
    if (rollupArg === undefined) throw new UsageError("missing --rollup ADDR (or MODEX_ROLLUP)", "exit");
    const rollup: Address = parseAddress(rollupArg, "rollup");
    const config = v("config");
    if (config !== undefined && !["test", "default", "production"].includes(config)) throw new UsageError(`--config must be test, default or production, got ${JSON.stringify(config)}`, "exit");
    const fromBlock = v("from-block") === undefined ? undefined : BigInt(parseUint(v("from-block") as string, "from-block", Number.MAX_SAFE_INTEGER));
    const keyArg = v("l1-key") ?? ctx.env.MODEX_L1_KEY;
    if (keyArg === undefined) throw new UsageError("missing --l1-key HEX (or set MODEX_L1_KEY)", "exit");
    const privateKey: Hex = parsePrivateKeyHex(keyArg, "l1-key");

    const auditLib = lazy<typeof import("../audit")>(() => require("../audit"));
    const l1Lib = lazy<typeof import("./l1")>(() => require("./l1"));
    const exitLib = lazy<typeof import("./exit")>(() => require("./exit"));

    note(ctx, args, "rebuilding the state from chain data (events and calldata)");
    const rebuilt = await auditLib.rebuildStateFromChain({ rpcUrl, rollup, config, fromBlock, snapshotPath: v("snapshot") });
    note(ctx, args, `rebuilt batch ${rebuilt.batchNumber}, root 0x${rebuilt.root.toString(16).padStart(64, "0")}`);
    // The chain's state is what users exit from; where the operator's batches differ from core's rules, say so and go on.
    for (const d of rebuilt.divergences) note(ctx, args, `warning: ${d.batch === null ? "" : `batch ${d.batch} `}[${d.check}] ${d.reason} (modex audit reports it; the exit uses the chain's state)`);
    const l1 = await l1Lib.connectRollup({ rpcUrl, rollup, privateKey });
    const r = await exitLib.exitAccount(l1, rebuilt, { accountId, token, freeze: args.values.freeze === true, claim: args.values["no-claim"] !== true, onNote: (line) => note(ctx, args, line) });

    const sent = r.steps.filter((s) => s.l1TxHash !== null);
    const rows: [string, string][] = r.steps.map((s) => [
      `${s.action} token ${s.token}${s.index !== undefined ? ` (queue ${s.index})` : ""}`,
      s.skipped ? `skipped: ${s.skipped}` : `${s.amount}${s.gasUsed !== null ? `, gas ${s.gasUsed}` : ""}, tx ${s.l1TxHash}`,
    ]);
    report(ctx, args, { ...r, paid: Object.fromEntries(r.paid) }, [
      `exit of account ${accountId} at batch ${r.batchNumber}${r.froze ? " (froze the rollup first)" : ""}`,
      ...table([["owner (L1)", r.owner], ...rows, ["paid", r.paid.size === 0 ? "nothing" : [...r.paid].map(([t, a]) => `${a} of token ${t}`).join(", ")]]),
    ]);
    if (sent.length === 0) throw new exitLib.ExitRefused(`nothing to exit for account ${accountId}: ${r.steps.length === 0 ? "it holds nothing at the last finalized root and has no queued deposit" : r.steps.map((s) => `token ${s.token} ${s.skipped}`).join("; ")}`);
  },
};
