/**
 * L1 actions on the Rollup contract with viem: register, deposit, claim, and the escape hatch's
 * forced withdrawal request and freeze. Every call is simulated
 * first, so a revert is reported by its Solidity error name before any gas is spent. Used by the
 * CLI (cli/cmd-l1.ts); usable from scripts and tests.
 */
import { BaseError, ContractFunctionRevertedError, erc20Abi, parseEventLogs, type Address, type Hex, type TransactionReceipt } from "viem";
import { rollupAbi } from "../contracts/abi";
import { connectL1, type L1Clients } from "../contracts/clients";

export interface L1Session {
  readonly clients: L1Clients;
  readonly rollup: Address;
}

export interface L1TxResult {
  readonly l1TxHash: Hex;
  readonly block: bigint;
}

const ETH = 0;

/** Connects to `rpcUrl` as `privateKey` and checks that `rollup` is a contract there. */
export async function connectRollup(opts: { readonly rpcUrl: string; readonly rollup: Address; readonly privateKey: Hex }): Promise<L1Session> {
  let clients: L1Clients;
  try {
    clients = await connectL1({ rpcUrl: opts.rpcUrl, privateKey: opts.privateKey });
  } catch (e) {
    const why = e instanceof BaseError ? `${e.shortMessage.replace(/\.$/, "")}${e.details ? `: ${e.details}` : ""}` : (e as Error).message;
    throw new Error(`cannot reach the L1 RPC at ${opts.rpcUrl} (${why}) (--rpc URL)`);
  }
  const code = await clients.publicClient.getCode({ address: opts.rollup });
  if (!code || code === "0x") throw new Error(`no contract at ${opts.rollup} on chain ${clients.chain.id} (--rollup ADDR)`);
  return { clients, rollup: opts.rollup };
}

/** Queues a registration of key (ax, ay) owned by the session's account, with an optional first deposit. */
export async function registerAccount(
  l1: L1Session,
  p: { readonly ax: bigint; readonly ay: bigint; readonly token: number; readonly amount: bigint },
  onNote?: (line: string) => void,
): Promise<L1TxResult & { readonly accountId: number; readonly queueIndex: bigint; readonly owner: Address }> {
  await approveIfNeeded(l1, p.token, p.amount, onNote);
  const receipt = await send(l1, "register", () =>
    l1.clients.publicClient.simulateContract({
      account: l1.clients.account,
      address: l1.rollup,
      abi: rollupAbi,
      functionName: "register",
      args: [p.ax, p.ay, p.token, p.amount],
      value: p.token === ETH ? p.amount : 0n,
    }),
  );
  const ev = enqueued(receipt);
  return { accountId: ev.accountId, queueIndex: ev.index, owner: l1.clients.account.address, l1TxHash: receipt.transactionHash, block: receipt.blockNumber };
}

/** Queues a deposit to an existing account (anyone may deposit to any account). */
export async function depositToAccount(
  l1: L1Session,
  p: { readonly accountId: number; readonly token: number; readonly amount: bigint },
  onNote?: (line: string) => void,
): Promise<L1TxResult & { readonly queueIndex: bigint }> {
  await approveIfNeeded(l1, p.token, p.amount, onNote);
  const receipt = await send(l1, "deposit", () =>
    l1.clients.publicClient.simulateContract({
      account: l1.clients.account,
      address: l1.rollup,
      abi: rollupAbi,
      functionName: "deposit",
      args: [p.accountId, p.token, p.amount],
      value: p.token === ETH ? p.amount : 0n,
    }),
  );
  return { queueIndex: enqueued(receipt).index, l1TxHash: receipt.transactionHash, block: receipt.blockNumber };
}

/** Pays the session account's pending withdrawal of `token` to itself, or to `to` (claimTo). */
export async function claimWithdrawal(
  l1: L1Session,
  p: { readonly token: number; readonly to?: Address },
): Promise<L1TxResult & { readonly owner: Address; readonly amount: bigint; readonly to: Address }> {
  const owner = l1.clients.account.address;
  const pending = await l1.clients.publicClient.readContract({ address: l1.rollup, abi: rollupAbi, functionName: "pendingWithdrawal", args: [owner, p.token] });
  if (pending === 0n) throw new Error(`nothing to claim: ${owner} has no finalized withdrawal of token ${p.token}`);
  const to = p.to;
  const receipt = await send(l1, "claim", () =>
    to === undefined
      ? l1.clients.publicClient.simulateContract({ account: l1.clients.account, address: l1.rollup, abi: rollupAbi, functionName: "claim", args: [owner, p.token] })
      : l1.clients.publicClient.simulateContract({ account: l1.clients.account, address: l1.rollup, abi: rollupAbi, functionName: "claimTo", args: [p.token, to] }),
  );
  const [ev] = parseEventLogs({ abi: rollupAbi, logs: receipt.logs, eventName: "Claimed" });
  return { owner, amount: ev?.args.amount ?? pending, to: ev?.args.to ?? to ?? owner, l1TxHash: receipt.transactionHash, block: receipt.blockNumber };
}

/** Queues a forced withdrawal of the whole balance of `token` of `accountId` (the session's account must own it). */
export async function forceWithdraw(
  l1: L1Session,
  p: { readonly accountId: number; readonly token: number },
): Promise<L1TxResult & { readonly forcedId: bigint; readonly queueIndex: bigint; readonly ahead: bigint; readonly deadline: bigint; readonly owner: Address }> {
  const { publicClient, account } = l1.clients;
  const owner = await publicClient.readContract({ address: l1.rollup, abi: rollupAbi, functionName: "accountOwner", args: [p.accountId] });
  if (owner === ZERO_ADDRESS) throw new Error(`account ${p.accountId} is not registered on this Rollup`);
  if (owner.toLowerCase() !== account.address.toLowerCase()) {
    throw new Error(`account ${p.accountId} is owned by ${owner}, not by ${account.address} (--l1-key must be the owner's key)`);
  }
  const [[open, openId], frozen] = await Promise.all([
    publicClient.readContract({ address: l1.rollup, abi: rollupAbi, functionName: "openForcedRequest", args: [p.accountId, p.token] }),
    publicClient.readContract({ address: l1.rollup, abi: rollupAbi, functionName: "frozen" }),
  ]);
  if (open && !frozen) {
    const r = await publicClient.readContract({ address: l1.rollup, abi: rollupAbi, functionName: "forcedRequest", args: [openId] });
    throw new Error(
      `account ${p.accountId} already has forced withdrawal #${openId} of token ${p.token} waiting (queue index ${r.queueIndex}, deadline block ${r.deadline}): one open request per account and token; a batch processes it by its deadline, or anyone may freeze after it`,
    );
  }
  const receipt = await send(l1, "requestForcedWithdrawal", () =>
    publicClient.simulateContract({ account, address: l1.rollup, abi: rollupAbi, functionName: "requestForcedWithdrawal", args: [p.accountId, p.token] }),
  );
  const [ev] = parseEventLogs({ abi: rollupAbi, logs: receipt.logs, eventName: "ForcedWithdrawalRequested" });
  if (!ev) throw new Error(`no ForcedWithdrawalRequested event in L1 tx ${receipt.transactionHash}`);
  // The records it waits behind (its deadline grew by forcedDeadlineBlocks per D of them, PROTOCOL.md §6.1).
  const consumed = await publicClient.readContract({ address: l1.rollup, abi: rollupAbi, functionName: "consumed", blockNumber: receipt.blockNumber });
  const ahead = ev.args.queueIndex > consumed ? ev.args.queueIndex - consumed : 0n;
  return { forcedId: ev.args.forcedId, queueIndex: ev.args.queueIndex, ahead, deadline: ev.args.deadline, owner, l1TxHash: receipt.transactionHash, block: receipt.blockNumber };
}

/** Why freeze() would be refused now, or null if it would pass (checked before sending, for a clear message). */
export async function freezeRefusal(l1: L1Session): Promise<string | null> {
  const { publicClient } = l1.clients;
  const read = <F extends "frozen" | "nextForced" | "forcedCount">(functionName: F) =>
    publicClient.readContract({ address: l1.rollup, abi: rollupAbi, functionName });
  const [frozen, next, count, block] = await Promise.all([read("frozen"), read("nextForced"), read("forcedCount"), publicClient.getBlock({ blockTag: "latest" })]);
  if (frozen) return "the rollup is already frozen (exits and refunds are open)";
  if (next >= count) return "nothing to freeze: no forced withdrawal is waiting";
  const r = await publicClient.readContract({ address: l1.rollup, abi: rollupAbi, functionName: "forcedRequest", args: [next] });
  if (r.deadline >= block.number + 1n) {
    return `nothing to freeze: the oldest unprocessed forced withdrawal (#${next}, queue index ${r.queueIndex}) has deadline block ${r.deadline}; the chain is at block ${block.number}, so freezing is possible from block ${r.deadline + 1n}`;
  }
  return null;
}

/** Freezes the rollup (anyone may, once a forced withdrawal has passed its deadline unprocessed). */
export async function freezeRollup(l1: L1Session): Promise<L1TxResult & { readonly batchNumber: bigint; readonly stateRoot: bigint; readonly queueIndex: bigint }> {
  const refusal = await freezeRefusal(l1);
  if (refusal) throw new Error(refusal);
  const { publicClient, account } = l1.clients;
  const receipt = await send(l1, "freeze", () => publicClient.simulateContract({ account, address: l1.rollup, abi: rollupAbi, functionName: "freeze" }));
  const [ev] = parseEventLogs({ abi: rollupAbi, logs: receipt.logs, eventName: "RollupFrozen" });
  if (!ev) throw new Error(`no RollupFrozen event in L1 tx ${receipt.transactionHash}`);
  return { batchNumber: ev.args.batchNumber, stateRoot: ev.args.stateRoot, queueIndex: ev.args.queueIndex, l1TxHash: receipt.transactionHash, block: receipt.blockNumber };
}

const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

/** ERC-20 deposits pull funds with transferFrom: approve the Rollup for `amount` when the allowance is short. */
async function approveIfNeeded(l1: L1Session, token: number, amount: bigint, onNote?: (line: string) => void): Promise<void> {
  if (token === ETH || amount === 0n) return;
  const { publicClient, walletClient, account } = l1.clients;
  const erc20 = await publicClient.readContract({ address: l1.rollup, abi: rollupAbi, functionName: "tokenAddress", args: [token] }).catch((e: unknown) => {
    throw l1Error(e, `reading the address of token ${token}`);
  });
  const [balance, allowance] = await Promise.all([
    publicClient.readContract({ address: erc20, abi: erc20Abi, functionName: "balanceOf", args: [account.address] }),
    publicClient.readContract({ address: erc20, abi: erc20Abi, functionName: "allowance", args: [account.address, l1.rollup] }),
  ]);
  if (balance < amount) throw new Error(`${account.address} holds ${balance} of token ${token} (${erc20}), less than ${amount}`);
  if (allowance >= amount) return;
  onNote?.(`approving the Rollup to take ${amount} of token ${token} (${erc20})`);
  await send(l1, "approve", () => publicClient.simulateContract({ account, address: erc20, abi: erc20Abi, functionName: "approve", args: [l1.rollup, amount] }));
}

/** Simulates, sends, and waits for a successful receipt. */
export async function send(l1: L1Session, what: string, simulate: () => Promise<{ request: unknown }>): Promise<TransactionReceipt> {
  let hash: Hex;
  try {
    const { request } = await simulate();
    // The simulated request is exactly what writeContract takes; viem's union typing cannot follow it through `unknown`.
    hash = await l1.clients.walletClient.writeContract(request as Parameters<L1Clients["walletClient"]["writeContract"]>[0]);
  } catch (e) {
    throw l1Error(e, what);
  }
  const receipt = await l1.clients.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`${what} reverted (L1 tx ${hash})`);
  return receipt;
}

function enqueued(receipt: TransactionReceipt): { accountId: number; index: bigint } {
  const [ev] = parseEventLogs({ abi: rollupAbi, logs: receipt.logs, eventName: "Enqueued" });
  if (!ev) throw new Error(`no Enqueued event in L1 tx ${receipt.transactionHash}`);
  return { accountId: ev.args.accountId, index: ev.args.index };
}

const REVERT_HINTS: Record<string, string> = {
  UnknownToken: "the Rollup has no token with this id",
  UnknownAccount: "no account with this id has been registered",
  KeyNotOnCurve: "the key file's public key is not a Baby Jubjub point",
  KeyIsIdentity: "the key file's public key is the identity point",
  ZeroAmount: "deposits must be greater than 0",
  TokenCapExceeded: "the Rollup would hold 2^128 or more of this token",
  AccountTreeFull: "every account id of this deployment is taken",
  NothingToClaim: "no finalized withdrawal is waiting",
  NotAccountOwner: "only the account's L1 owner may force its withdrawal",
  ForcedRequestPending: "this account already has an unprocessed forced withdrawal of this token",
  Frozen: "the rollup is frozen: use exits and refunds",
  NoExpiredRequest: "no forced withdrawal has passed its deadline unprocessed",
};

/** viem errors are long; keep the Solidity error (with a hint) or viem's short message. */
export function l1Error(e: unknown, what: string): Error {
  if (e instanceof BaseError) {
    const rev = e.walk((x) => x instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null;
    const name = rev?.data?.errorName;
    if (name) {
      const argsText = (rev?.data?.args ?? []).map((a) => String(a)).join(", ");
      return new Error(`${what} reverted with ${name}(${argsText})${REVERT_HINTS[name] ? `: ${REVERT_HINTS[name]}` : ""}`);
    }
    if (rev?.reason) return new Error(`${what} reverted: ${rev.reason}`);
    return new Error(`${what} failed: ${e.shortMessage}`);
  }
  return e instanceof Error ? e : new Error(String(e));
}
