/**
 * L1 commands: `modex register`, `modex deposit`, `modex claim`, and the escape hatch's
 * `modex l1 force-withdraw` and `modex l1 freeze`. Arguments and output here; the
 * contract calls are in cli/l1.ts, loaded only when a command runs (viem takes a while to load).
 */
import type { Address, Hex } from "viem";
import { parseAccountId, parseAddress, parseAmount, parsePrivateKeyHex, parseTokenId, parseUrl, UsageError, type OptionSpec, type ParsedArgs } from "./args";
import { API_OPTION, apiClient, DEFAULT_RPC, lazy, note, report, table, type CliContext, type Command } from "./context";
import type { L1Session } from "./l1";
import type { CommandGroup } from "./cmd-prover";

const L1_OPTIONS: Record<string, OptionSpec> = {
  rpc: { type: "string", value: "URL", description: "L1 JSON-RPC endpoint (env MODEX_RPC)", default: DEFAULT_RPC },
  rollup: { type: "string", value: "ADDR", description: "Rollup contract address (env MODEX_ROLLUP)", default: "rollupAddress from GET /v1/status of --api" },
  "l1-key": { type: "string", value: "HEX", description: "L1 private key that sends and pays (env MODEX_L1_KEY keeps it out of the process list)" },
  ...API_OPTION,
};

export const register: Command = {
  spec: {
    name: "register",
    summary: "Register a new L2 account on L1 for a key from modex keygen, optionally with a first deposit. Prints the new account id.",
    options: {
      key: { type: "string", value: "FILE", description: "key file whose public key the account gets", required: true },
      token: { type: "string", value: "ID", description: "token of the first deposit (0 = ETH)", default: "0" },
      amount: { type: "string", value: "N", description: "first deposit in base units (wei for ETH)", default: "0" },
      ...L1_OPTIONS,
    },
    notes: "The L1 sender becomes the account's owner: L2 withdrawals are paid to it. ERC-20 deposits\nare approved first when the allowance is short. The account exists on L2 once a batch\nconsumes the registration from the L1 queue.",
  },
  async run(args, ctx) {
    const token = parseTokenId(opt(args, "token") ?? "0");
    const amount = parseAmount(opt(args, "amount") ?? "0", "amount");
    const privateKey = l1PrivateKey(args, ctx);
    const { readKeyFile } = lazy<typeof import("./keyfile")>(() => require("./keyfile"));
    const key = await readKeyFile(opt(args, "key") as string);
    if (key.warning) ctx.stderr(`warning: ${key.warning}\n`);
    const { l1, lib } = await connect(args, ctx, privateKey);
    const r = await lib.registerAccount(l1, { ax: BigInt(key.ax), ay: BigInt(key.ay), token, amount }, (line) => note(ctx, args, line));
    report(ctx, args, { ...r, token, amount }, [
      `registered account ${r.accountId}`,
      ...table([
        ["owner (L1)", r.owner],
        ["deposit", amount === 0n ? "none" : `${amount} of token ${token}`],
        ["queue index", r.queueIndex],
        ["L1 tx", r.l1TxHash],
      ]),
    ]);
  },
};

export const deposit: Command = {
  spec: {
    name: "deposit",
    summary: "Deposit ETH or an ERC-20 token from L1 into an existing L2 account.",
    options: {
      account: { type: "string", value: "ID", description: "L2 account id to credit", required: true },
      token: { type: "string", value: "ID", description: "token id (0 = ETH)", required: true },
      amount: { type: "string", value: "N", description: "amount in base units (wei for ETH)", required: true },
      ...L1_OPTIONS,
    },
    notes: "Anyone may deposit to any account. ERC-20 deposits are approved first when the allowance is short.",
  },
  async run(args, ctx) {
    const accountId = parseAccountId(opt(args, "account") as string, "account");
    const token = parseTokenId(opt(args, "token") as string);
    const amount = parseAmount(opt(args, "amount") as string, "amount");
    if (amount === 0n) throw new UsageError("--amount must be greater than 0");
    const { l1, lib } = await connect(args, ctx, l1PrivateKey(args, ctx));
    const r = await lib.depositToAccount(l1, { accountId, token, amount }, (line) => note(ctx, args, line));
    report(ctx, args, { accountId, token, amount, ...r }, [
      `queued deposit of ${amount} of token ${token} to account ${accountId}`,
      ...table([
        ["queue index", r.queueIndex],
        ["L1 tx", r.l1TxHash],
      ]),
    ]);
  },
};

export const claim: Command = {
  spec: {
    name: "claim",
    summary: "Pull your finalized L2 withdrawals of a token to L1 (the owner address of --l1-key).",
    options: {
      token: { type: "string", value: "ID", description: "token id (0 = ETH)", required: true },
      to: { type: "string", value: "ADDR", description: "pay to ADDR instead of the owner address" },
      ...L1_OPTIONS,
    },
  },
  async run(args, ctx) {
    const token = parseTokenId(opt(args, "token") as string);
    const to: Address | undefined = opt(args, "to") !== undefined ? parseAddress(opt(args, "to") as string, "to") : undefined;
    const { l1, lib } = await connect(args, ctx, l1PrivateKey(args, ctx));
    const r = await lib.claimWithdrawal(l1, { token, to });
    report(ctx, args, { ...r, token }, [
      `claimed ${r.amount} of token ${token}`,
      ...table([
        ["paid to", r.to],
        ["L1 tx", r.l1TxHash],
      ]),
    ]);
  },
};

export const forceWithdraw: Command = {
  spec: {
    name: "l1 force-withdraw",
    summary: "Force the whole L2 balance of a token out of your account through L1, without the sequencer. Prints the queue index and the deadline block.",
    options: {
      account: { type: "string", value: "ID", description: "L2 account id (--l1-key must be its L1 owner)", required: true },
      token: { type: "string", value: "ID", description: "token id (0 = ETH)", required: true },
      ...L1_OPTIONS,
    },
    notes:
      "Queues a forced withdrawal on the Rollup. A batch must process it by the deadline block: it then\ncredits the whole balance to the owner address ('modex claim' pulls it). If no batch does, anyone\nmay freeze the rollup after the deadline ('modex l1 freeze') and every balance becomes exitable\nwith a Merkle proof against the last finalized state. The deadline is forcedDeadlineBlocks after\nthe request per D queue records ahead of it (its own batch included), and one request per account\nand token may be open at a time.",
  },
  async run(args, ctx) {
    const accountId = parseAccountId(opt(args, "account") as string, "account");
    const token = parseTokenId(opt(args, "token") as string);
    const { l1, lib } = await connect(args, ctx, l1PrivateKey(args, ctx));
    const r = await lib.forceWithdraw(l1, { accountId, token });
    report(ctx, args, { accountId, token, ...r }, [
      `requested forced withdrawal #${r.forcedId} of token ${token} from account ${accountId}`,
      ...table([
        ["queue index", r.queueIndex],
        ["records ahead", r.ahead],
        ["deadline block", r.deadline],
        ["owner (L1)", r.owner],
        ["L1 tx", r.l1TxHash],
      ]),
    ]);
  },
};

export const freeze: Command = {
  spec: {
    name: "l1 freeze",
    summary: "Freeze the rollup after a forced withdrawal passed its deadline unprocessed (anyone may). Batches stop; exits and refunds open.",
    options: { ...L1_OPTIONS },
    notes: "Refused, with the reason, while no forced withdrawal is past its deadline or when already frozen.",
  },
  async run(args, ctx) {
    const { l1, lib } = await connect(args, ctx, l1PrivateKey(args, ctx));
    const r = await lib.freezeRollup(l1);
    report(ctx, args, r, [
      `froze the rollup at batch ${r.batchNumber}`,
      ...table([
        ["state root", `0x${r.stateRoot.toString(16).padStart(64, "0")}`],
        ["expired request", `queue index ${r.queueIndex}`],
        ["L1 tx", r.l1TxHash],
      ]),
    ]);
  },
};

export const l1Group: CommandGroup = {
  name: "l1",
  summary: "The Rollup's escape hatch on L1: force a withdrawal past the sequencer, freeze the rollup.",
  subcommands: [
    { name: "force-withdraw", command: forceWithdraw },
    { name: "freeze", command: freeze },
  ],
};

function opt(args: ParsedArgs, name: string): string | undefined {
  return args.values[name] as string | undefined;
}

function l1PrivateKey(args: ParsedArgs, ctx: CliContext): Hex {
  const v = opt(args, "l1-key") ?? ctx.env.MODEX_L1_KEY;
  if (v === undefined) throw new UsageError("missing --l1-key HEX (or set MODEX_L1_KEY)");
  return parsePrivateKeyHex(v, "l1-key");
}

async function connect(args: ParsedArgs, ctx: CliContext, privateKey: Hex): Promise<{ l1: L1Session; lib: typeof import("./l1") }> {
  const rpcUrl = parseUrl(opt(args, "rpc") ?? ctx.env.MODEX_RPC ?? DEFAULT_RPC, "rpc");
  let rollup: Address;
  const given = opt(args, "rollup") ?? ctx.env.MODEX_ROLLUP;
  if (given !== undefined) rollup = parseAddress(given, "rollup");
  else {
    const api = apiClient(args, ctx);
    const status = await api.status().catch((e: Error) => {
      throw new Error(`no --rollup given and the API could not tell it: ${e.message}`);
    });
    rollup = status.rollupAddress;
    note(ctx, args, `rollup ${rollup} (from ${api.baseUrl})`);
  }
  const lib = lazy<typeof import("./l1")>(() => require("./l1"));
  return { l1: await lib.connectRollup({ rpcUrl, rollup, privateKey }), lib };
}
