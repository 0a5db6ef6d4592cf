/**
 * Gas of the escape hatch (PROTOCOL.md §6) on anvil, per config: a forced withdrawal request, the
 * batch that processes it (and what that adds over a batch consuming a plain deposit), freeze, exit
 * of an ETH and of a token balance at the last finalized root, the refund of a queued deposit, and
 * the claims that pay them.
 *
 * No proofs: the Rollup runs with an accept-anything verifier (as bench/audit.ts), so a submitBatch
 * here is everything but the Groth16 pairing check (the gas section's empty batch has that, with a
 * real verifier). Batches are core's buildBatch; exit() arguments are the CLI's own (cli/exit.ts)
 * from a core State that mirrors the chain. Only contracts and core run, so production parameters
 * need no circuit.
 */
import * as path from "node:path";
import { parseEventLogs, toHex, type Hex, type TransactionReceipt } from "viem";
import { ANVIL_DEV_PRIVATE_KEYS, mineBlocks, startAnvil } from "../chain/anvil";
import { rollupAbi, testTokenAbi } from "../contracts/abi";
import { connectL1, type L1Clients } from "../contracts/clients";
import { deployModex, type ModexDeployment } from "../contracts/deploy";
import {
  CONFIGS, State, buildBatch, shapesOf, generatePrivateKey, publicKeyOf, withdrawBitmap, paramsKey,
  QUEUE_DEPOSIT, QUEUE_FORCED_EXIT, QUEUE_REGISTER, type BatchResult, type Params, type QueueRecord,
} from "../core";
import { exitCallArgs, refundCallArgs } from "../cli/exit";

/** Accepts every proof (test/fixtures/contracts/AcceptAnythingVerifier.sol): never deployed for real. */
const ACCEPT_ANYTHING = path.join(__dirname, "..", "test", "fixtures", "contracts", "AcceptAnythingVerifier.sol");

const ETHER = 10n ** 18n;
/** Blocks a forced request may wait: small, so the bench mines only a few blocks before freezing. */
const DEADLINE_BLOCKS = 2;

/** Mines `n` empty blocks on anvil (anvil_mine); the same as test/helpers/escape.ts's. */
async function mined(c: L1Clients, hash: Hex): Promise<TransactionReceipt> {
  const r = await c.publicClient.waitForTransactionReceipt({ hash });
  if (r.status !== "success") throw new Error(`L1 tx ${hash} reverted`);
  return r;
}

export interface EscapeGas {
  readonly config: string;
  readonly params: string;
  readonly accountLevels: number;
  readonly balanceLevels: number;
  readonly depositSlots: number;
  readonly forcedDeadlineBlocks: number;
  readonly gas: {
    /** The rollup's first forced request (forcedCount 0 → 1). */
    readonly requestForcedWithdrawalFirst: number;
    /** A later one (forcedCount already non-zero): the usual case. */
    readonly requestForcedWithdrawal: number;
    /** A 1-wei ETH deposit to an existing account (not its first): the cheapest queue record, a spammer's unit. */
    readonly deposit1Wei: number;
    /** A batch that consumes one plain deposit and nothing else. */
    readonly submitBatchOneDeposit: number;
    /** The same batch shape consuming one forced-exit record instead (credits the owner, ForcedWithdrawalProcessed). */
    readonly submitBatchOneForcedExit: number;
    /** submitBatchOneForcedExit − submitBatchOneDeposit. */
    readonly forcedExitDelta: number;
    /** A batch with every slot noop and no queue records. */
    readonly submitBatchEmpty: number;
    readonly freeze: number;
    readonly exitEth: number;
    readonly exitToken: number;
    readonly refundDeposit: number;
    /** claim of ETH after the exit (and the refund) credited it: pays the owner. */
    readonly claimEthAfterExit: number;
    /** claim of the ERC-20 after its exit. */
    readonly claimTokenAfterExit: number;
    /** claim of the ETH the processed forced withdrawal credited. */
    readonly claimAfterForcedWithdrawal: number;
  };
  /**
   * Queue spam against one forced exit (PROTOCOL.md §6.1): every D records queued ahead of it delay it
   * by one batch and move its deadline forcedDeadlineBlocks later. What the spammer pays for that, in gas.
   */
  readonly spam: {
    /** D × deposit1Wei: one batch of delay. */
    readonly gasPerBatchOfDelay: number;
    /** Per block of delay against an operator that finalizes a full batch every block (= gasPerBatchOfDelay; against one batch per B blocks it is gasPerBatchOfDelay / B). */
    readonly gasPerBlockAtOneBatchPerBlock: number;
  };
}

export interface EscapeBench {
  readonly configs: readonly EscapeGas[];
  readonly note: string;
}

async function benchConfig(rpcUrl: string, chainId: number, name: keyof typeof CONFIGS, log: (o: object) => void): Promise<EscapeGas> {
  const p: Params = CONFIGS[name];
  const [operator, user1, user2, user3] = await Promise.all(
    ANVIL_DEV_PRIVATE_KEYS.slice(0, 4).map((privateKey) => connectL1({ rpcUrl, privateKey, chainId })),
  );
  const opKey = generatePrivateKey();
  const state = new State(p);
  const d: ModexDeployment = await deployModex({
    rpcUrl, privateKey: ANVIL_DEV_PRIVATE_KEYS[0], shapes: shapesOf(p).map((shape) => ({ shape, verifierSource: ACCEPT_ANYTHING })), params: p,
    genesisRoot: state.root, operatorKey: publicKeyOf(opKey), forcedDeadlineBlocks: DEADLINE_BLOCKS,
  });
  const records: QueueRecord[] = [{ kind: QUEUE_REGISTER, accountId: 0, token: 0, amount: 0n, ...publicKeyOf(opKey) }];
  let queueHash = 0n;
  let consumed = 0;
  let accounts = 1;
  const write = async (c: L1Clients, functionName: string, args: readonly unknown[], value = 0n): Promise<TransactionReceipt> =>
    mined(c, await c.walletClient.writeContract({ address: d.rollup, abi: rollupAbi, functionName: functionName as never, args: args as never, value } as never));
  const gasOf = (r: TransactionReceipt): number => Number(r.gasUsed);

  /** Builds and finalizes the next batch over `count` queued records. */
  const finalize = async (count: number): Promise<{ b: BatchResult; receipt: TransactionReceipt }> => {
    const block = await operator.publicClient.getBlock({ blockTag: "latest" });
    const b = buildBatch(state, { chainId, rollup: d.rollup, timestamp: Number(block.timestamp), queueHashBefore: queueHash, deposits: records.slice(consumed, consumed + count), txs: [] });
    const args = [b.newRoot, b.timestamp, b.depositCount, toHex(Uint8Array.from(b.feeTokens)), toHex(withdrawBitmap(b.chunks)), toHex(b.slotData), toHex(b.forcedExitData), new Array(8).fill(0n)];
    const receipt = await write(operator, "submitBatch", args);
    queueHash = b.queueHashAfter;
    consumed += b.depositCount;
    return { b, receipt };
  };
  const register = async (c: L1Clients, amount: bigint): Promise<number> => {
    const key = publicKeyOf(generatePrivateKey());
    await write(c, "register", [key.ax, key.ay, 0, amount], amount);
    const id = accounts++;
    records.push({ kind: QUEUE_REGISTER, accountId: id, token: 0, amount, ...key });
    return id;
  };
  const deposit = async (c: L1Clients, accountId: number, token: number, amount: bigint): Promise<number> => {
    await write(c, "deposit", [accountId, token, amount], token === 0 ? amount : 0n);
    records.push({ kind: QUEUE_DEPOSIT, accountId, token, amount, ax: 0n, ay: 0n });
    return records.length - 1;
  };
  const forceWithdraw = async (c: L1Clients, accountId: number, token: number): Promise<{ receipt: TransactionReceipt; deadline: bigint }> => {
    const receipt = await write(c, "requestForcedWithdrawal", [accountId, token]);
    records.push({ kind: QUEUE_FORCED_EXIT, accountId, token, amount: 0n, ax: 0n, ay: 0n });
    const [ev] = parseEventLogs({ abi: rollupAbi, logs: receipt.logs, eventName: "ForcedWithdrawalRequested" });
    if (!ev) throw new Error("no ForcedWithdrawalRequested event");
    return { receipt, deadline: ev.args.deadline };
  };

  log({ msg: "bench.escape.config", config: name });
  // Account 1 (user1, 1 ETH), account 2 (user2, 2 ETH and 5 test USDC, token 1); all finalized.
  const a1 = await register(user1, ETHER);
  const a2 = await register(user2, 2n * ETHER);
  const usdc = d.tokens[0].address;
  const usdcAmount = 5_000_000n;
  await mined(user2, await user2.walletClient.writeContract({ address: usdc, abi: testTokenAbi, functionName: "mint", args: [user2.account.address, usdcAmount] }));
  await mined(user2, await user2.walletClient.writeContract({ address: usdc, abi: testTokenAbi, functionName: "approve", args: [d.rollup, usdcAmount] }));
  await deposit(user2, a2, 1, usdcAmount);
  // A spammer's account (user3) and two 1-wei deposits to it: the second is the steady-state cost of a record.
  const a3 = await register(user3, 0n);
  await deposit(user3, a3, 0, 1n);
  const spamWei = 2n;
  const deposit1Wei = await write(user3, "deposit", [a3, 0, 1n], 1n);
  records.push({ kind: QUEUE_DEPOSIT, accountId: a3, token: 0, amount: 1n, ax: 0n, ay: 0n });
  while (consumed < records.length) await finalize(Math.min(p.depositSlots, records.length - consumed));

  const empty = await finalize(0);
  // The same batch shape twice: one queue record, a plain deposit, then a forced exit.
  await deposit(user1, a1, 0, 1000n);
  const oneDeposit = await finalize(1);
  const first = await forceWithdraw(user1, a1, 0);
  const oneForced = await finalize(1);
  if (oneForced.b.forcedExits[0] !== ETHER + 1000n) throw new Error(`forced exit credited ${oneForced.b.forcedExits[0]}, expected ${ETHER + 1000n}`);

  // Account 2 forces its USDC out; the operator ignores it. A deposit queued behind it stays unconsumed.
  const second = await forceWithdraw(user2, a2, 1);
  const refundIndex = await deposit(user3, a2, 0, ETHER / 2n);
  const latest = (await operator.publicClient.getBlock({ blockTag: "latest" })).number;
  if (latest < second.deadline) await mineBlocks(rpcUrl, Number(second.deadline - latest));
  const freeze = await write(user3, "freeze", []);

  // Exits at the last finalized root, sent by a third party; the L1 owner is credited.
  if (state.balance(a2, 0) !== 2n * ETHER || state.balance(a2, 1) !== usdcAmount) throw new Error("bench state does not hold account 2's balances");
  const exitEth = await write(user3, "exit", exitCallArgs(state, a2, 0));
  const exitToken = await write(user3, "exit", exitCallArgs(state, a2, 1));
  const refund = await write(user3, "refundDeposit", refundCallArgs(refundIndex, records[refundIndex]));
  const claimEth = await write(user3, "claim", [user2.account.address, 0]);
  const claimToken = await write(user3, "claim", [user2.account.address, 1]);
  const claimForced = await write(user3, "claim", [user1.account.address, 0]);
  const held = await operator.publicClient.getBalance({ address: d.rollup });
  if (held !== spamWei) throw new Error(`the rollup holds ${held} wei after the escape, expected the spammer's ${spamWei}`);

  const r: EscapeGas = {
    config: name,
    params: paramsKey(p),
    accountLevels: p.accountLevels,
    balanceLevels: p.balanceLevels,
    depositSlots: p.depositSlots,
    forcedDeadlineBlocks: DEADLINE_BLOCKS,
    gas: {
      requestForcedWithdrawalFirst: gasOf(first.receipt),
      requestForcedWithdrawal: gasOf(second.receipt),
      deposit1Wei: gasOf(deposit1Wei),
      submitBatchOneDeposit: gasOf(oneDeposit.receipt),
      submitBatchOneForcedExit: gasOf(oneForced.receipt),
      forcedExitDelta: gasOf(oneForced.receipt) - gasOf(oneDeposit.receipt),
      submitBatchEmpty: gasOf(empty.receipt),
      freeze: gasOf(freeze),
      exitEth: gasOf(exitEth),
      exitToken: gasOf(exitToken),
      refundDeposit: gasOf(refund),
      claimEthAfterExit: gasOf(claimEth),
      claimTokenAfterExit: gasOf(claimToken),
      claimAfterForcedWithdrawal: gasOf(claimForced),
    },
    spam: {
      gasPerBatchOfDelay: p.depositSlots * gasOf(deposit1Wei),
      gasPerBlockAtOneBatchPerBlock: p.depositSlots * gasOf(deposit1Wei),
    },
  };
  log({ msg: "bench.escape", ...r });
  return r;
}

export async function benchEscape(o: { configs?: readonly (keyof typeof CONFIGS)[]; log?: (o: object) => void } = {}): Promise<EscapeBench> {
  const log = o.log ?? ((): void => undefined);
  const anvil = await startAnvil({ port: 0 });
  try {
    const configs: EscapeGas[] = [];
    for (const name of o.configs ?? (["test", "default", "production"] as const)) configs.push(await benchConfig(anvil.rpcUrl, anvil.chainId, name, log));
    return {
      configs,
      note:
        "Gas from receipts on anvil, accept-anything verifier (no pairing check: a real verifier adds the same amount to every submitBatch, see the gas section). " +
        "submitBatchOneForcedExit and submitBatchOneDeposit each consume one queue record (the forced exit credits 1 ETH + 1000 wei to a fresh pendingWithdrawal slot); forcedExitDelta is their difference. " +
        "requestForcedWithdrawalFirst is the rollup's first request (forcedCount 0 → 1), requestForcedWithdrawal a later one. " +
        "Exits and the refund are sent by a third party after freeze; claimEthAfterExit pays an ETH exit plus a refund to the owner (an EOA), claimTokenAfterExit an ERC-20 (TestToken) exit.",
    };
  } finally {
    await anvil.stop();
  }
}
