/** `modex transfer` and `modex withdraw`: sign an L2 transaction with the account's key and submit it to the API. */
import { parseAccountId, parseAmount, parseSeconds, parseTokenId, UsageError, type OptionSpec, type ParsedArgs } from "./args";
import type { AccountResponse, Hex, ModexApiClient, StatusResponse, TxBody, TxResponse } from "./api-client";
import { API_OPTION, apiClient, lazy, note, report, table, type CliContext, type Command } from "./context";
import type { LoadedKey } from "./keyfile";
import { checkL2Amounts } from "./amounts";
import type { SignedTx } from "./tx";

const DEFAULT_VALID_FOR = 3600;
const DEFAULT_WAIT_TIMEOUT = 600;

const SIGNED_OPTIONS: Record<string, OptionSpec> = {
  key: { type: "string", value: "FILE", description: "the account's key file (modex keygen)", required: true },
  token: { type: "string", value: "ID", description: "token id (0 = ETH)", required: true },
  amount: { type: "string", value: "N", description: "amount in base units; must be float40-representable (m·10^e, m < 2^35)", required: true },
  fee: { type: "string", value: "N", description: "fee in the same token, paid to the operator; float16 (m·10^e, m < 2^11)", default: "0" },
  "valid-for": { type: "string", value: "SECONDS", description: "expire if not in a batch within SECONDS (L1 time)", default: String(DEFAULT_VALID_FOR) },
  wait: { type: "boolean", description: "wait until the transaction is finalized on L1 (or rejected)" },
  timeout: { type: "string", value: "SECONDS", description: "with --wait: give up after SECONDS", default: String(DEFAULT_WAIT_TIMEOUT) },
  ...API_OPTION,
};

const AMOUNT_NOTES = "Amounts are decimal integers in base units (wei for ETH). L2 amounts are decimal floats;\nan amount that no float represents exactly is refused with the nearest lower one that works.";

export const transfer: Command = {
  spec: {
    name: "transfer",
    summary: "Send tokens from your L2 account to another L2 account.",
    options: {
      from: { type: "string", value: "ID", description: "your account id", required: true },
      to: { type: "string", value: "ID", description: "receiver's account id", required: true },
      ...SIGNED_OPTIONS,
    },
    notes: AMOUNT_NOTES,
  },
  async run(args, ctx) {
    const from = parseAccountId(str(args, "from"), "from");
    const to = parseAccountId(str(args, "to"), "to");
    const common = parseSignedCommon(args);
    const key = await loadKey(args, ctx);
    const api = apiClient(args, ctx);
    const { status, account } = await chainAndAccount(api, from, key, str(args, "key"));
    const { buildSignedTransfer, validUntilFrom } = lazy<typeof import("./tx")>(() => require("./tx"));
    const signed = buildSignedTransfer(key.privateKey, {
      from,
      to,
      token: common.token,
      amount: common.amount,
      fee: common.fee,
      nonce: account.pendingNonce,
      validUntil: validUntilFrom(signingTime(ctx, status), common.validFor),
      chainId: status.chainId,
      rollup: status.rollupAddress,
    });
    await submit(args, ctx, api, signed, common, [
      ["from", from],
      ["to", to],
    ]);
  },
};

export const withdraw: Command = {
  spec: {
    name: "withdraw",
    summary: "Withdraw tokens from your L2 account to its L1 owner address (claim them on L1 with modex claim once finalized).",
    options: {
      account: { type: "string", value: "ID", description: "your account id", required: true },
      ...SIGNED_OPTIONS,
    },
    notes: AMOUNT_NOTES,
  },
  async run(args, ctx) {
    const id = parseAccountId(str(args, "account"), "account");
    const common = parseSignedCommon(args);
    const key = await loadKey(args, ctx);
    const api = apiClient(args, ctx);
    const { status, account } = await chainAndAccount(api, id, key, str(args, "key"));
    const { buildSignedWithdraw, validUntilFrom } = lazy<typeof import("./tx")>(() => require("./tx"));
    const signed = buildSignedWithdraw(key.privateKey, {
      account: id,
      token: common.token,
      amount: common.amount,
      fee: common.fee,
      nonce: account.pendingNonce,
      validUntil: validUntilFrom(signingTime(ctx, status), common.validFor),
      chainId: status.chainId,
      rollup: status.rollupAddress,
    });
    const final = await submit(args, ctx, api, signed, common, [["account", id]]);
    if (final?.status === "finalized") note(ctx, args, `claim it on L1 with: modex claim --token ${common.token} --l1-key <owner key>`);
  },
};

interface SignedCommon {
  readonly token: number;
  readonly amount: bigint;
  readonly fee: bigint;
  readonly validFor: number;
  readonly wait: boolean;
  readonly timeoutS: number;
}

function str(args: ParsedArgs, name: string): string {
  return args.values[name] as string;
}

/** Everything checkable offline is checked before any key file or network access. */
function parseSignedCommon(args: ParsedArgs): SignedCommon {
  const token = parseTokenId(str(args, "token"));
  const amount = parseAmount(str(args, "amount"), "amount");
  const fee = parseAmount((args.values.fee as string | undefined) ?? "0", "fee");
  try {
    checkL2Amounts(amount, fee);
  } catch (e) {
    // Includes AmountNotRepresentableError, whose message carries the nearest representable amount.
    if (e instanceof RangeError) throw new UsageError(e.message);
    throw e;
  }
  const validFor = parseSeconds((args.values["valid-for"] as string | undefined) ?? String(DEFAULT_VALID_FOR), "valid-for");
  if (validFor === 0) throw new UsageError("--valid-for must be at least 1 second");
  const timeoutS = parseSeconds((args.values.timeout as string | undefined) ?? String(DEFAULT_WAIT_TIMEOUT), "timeout");
  return { token, amount, fee, validFor, wait: args.values.wait === true, timeoutS };
}

export async function loadKey(args: ParsedArgs, ctx: CliContext): Promise<LoadedKey> {
  // Loaded on demand: the EdDSA library takes most of a second to load, which --help and argument errors should not pay.
  const { readKeyFile } = lazy<typeof import("./keyfile")>(() => require("./keyfile"));
  const key = await readKeyFile(str(args, "key"));
  if (key.warning) ctx.stderr(`warning: ${key.warning}\n`);
  return key;
}

/** The chain id to sign for and the account's next nonce; refuses early when the key is not the account's. */
export async function chainAndAccount(api: ModexApiClient, id: number, key: LoadedKey, file: string): Promise<{ status: StatusResponse; account: AccountResponse }> {
  const [status, account] = await Promise.all([api.status(), api.account(id)]);
  if (!account.registered) throw new Error(`account ${id} is not registered (register it on L1 with modex register)`);
  if (account.ax !== key.ax || account.ay !== key.ay) throw new Error(`${file} is not the key of account ${id}`);
  return { status, account };
}

/**
 * Batches are timestamped with L1 time, which on a devnet can run ahead of this clock; count
 * the validity window from whichever is later.
 */
export function signingTime(ctx: CliContext, status: StatusResponse): number {
  return Math.max(Math.floor(ctx.nowMs() / 1000), status.l1?.timestamp ?? 0);
}

async function submit(
  args: ParsedArgs,
  ctx: CliContext,
  api: ModexApiClient,
  signed: SignedTx,
  common: SignedCommon,
  who: readonly (readonly [string, number])[],
): Promise<TxResponse | null> {
  const body: TxBody = signed.body;
  const accepted = await api.submitTx(body);
  if (accepted.hash.toLowerCase() !== signed.hash) {
    ctx.stderr(`warning: the API reports hash ${accepted.hash}, this client computed ${signed.hash}\n`);
  }
  const hash = accepted.hash as Hex;
  let final: TxResponse | null = null;
  if (common.wait) {
    note(ctx, args, `${body.type} ${hash} accepted; waiting for finalization (up to ${common.timeoutS} s)`);
    final = await api.waitForTx(hash, {
      timeoutMs: common.timeoutS * 1000,
      onStatus: (t) => note(ctx, args, `  ${t.status}${t.batch !== undefined ? ` (batch ${t.batch})` : ""}`),
    });
  }
  const status = final?.status ?? accepted.status;
  const result = {
    hash,
    status,
    type: body.type,
    ...Object.fromEntries(who),
    token: body.token,
    amount: body.amount,
    fee: body.fee,
    nonce: body.nonce,
    validUntil: body.validUntil,
    ...(final?.batch !== undefined ? { batch: final.batch } : {}),
    ...(final?.reason ? { reason: final.reason } : {}),
  };
  report(ctx, args, result, [
    ...table([
      ["hash", hash],
      ["status", status + (final?.batch !== undefined ? ` (batch ${final.batch})` : "")],
      ...who,
      ["token", body.token],
      ["amount", body.amount],
      ["fee", body.fee],
      ["nonce", body.nonce],
      ["valid until", `${body.validUntil} (${new Date(body.validUntil * 1000).toISOString()})`],
    ]),
    ...(final?.reason ? [`reason: ${final.reason.code}: ${final.reason.message}`] : []),
  ]);
  if (final?.status === "rejected") throw new ReportedFailure(`transaction ${hash} was rejected${final.reason ? `: ${final.reason.message}` : ""}`);
  return final;
}

/** A failure whose details are already printed: exit 1 with a one-line message. */
export class ReportedFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReportedFailure";
  }
}
