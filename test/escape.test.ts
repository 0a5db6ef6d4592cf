/**
 * Forced withdrawals and the escape hatch (PROTOCOL.md §6) on a real anvil, without proofs: the Rollup
 * runs with test/fixtures/contracts/AcceptingVerifier.sol (TEST ONLY; it accepts the public input the test
 * sets), batches are built by core's buildBatch, and each batch's public input is core's, checked against
 * the contract's computePublicInputs (so core's forcedExits section and the contract's agree). Exits use
 * Merkle proofs from core's State against the root the contract holds. Real proofs: escape.e2e.test.ts.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { poseidon4, poseidon8 } from "poseidon-lite";
import { getContractAddress, parseAbi, parseEventLogs, toHex, type Address, type Hex } from "viem";
import { ANVIL_DEV_PRIVATE_KEYS, startAnvil, type AnvilInstance } from "../chain/anvil";
import { rollupAbi, testTokenAbi } from "../contracts/abi";
import { connectL1, type L1Clients } from "../contracts/clients";
import { deployModex, type ModexDeployment, type RollupParams } from "../contracts/deploy";
import { poseidon8Opt } from "../contracts/poseidon";
import {
  CONFIGS,
  QUEUE_DEPOSIT,
  QUEUE_FORCED_EXIT,
  QUEUE_REGISTER,
  State,
  buildBatch,
  generatePrivateKey,
  initCrypto,
  publicKeyOf,
  withdrawBitmap,
  type BatchResult,
  type Params,
  type QueueRecord,
} from "../core";
import { submitBatchArgs } from "../sequencer/l1";
import { exitArgs, expectRevert, mineBlocks, mined } from "./helpers/escape";

const ETHER = 10n ** 18n;
const DEADLINE = 5;
const ACCEPTING_VERIFIER = readFileSync(join(__dirname, "fixtures", "contracts", "AcceptingVerifier.sol"), "utf8");
const acceptingAbi = parseAbi(["function setExpectedInputs(uint256[5] inputs)"]);

let anvil: AnvilInstance;
let operator: L1Clients;
let user1: L1Clients;
let user2: L1Clients;
let user3: L1Clients;
const operatorPriv = generatePrivateKey();

beforeAll(async () => {
  await initCrypto();
  anvil = await startAnvil({ port: 0 });
  [operator, user1, user2, user3] = await Promise.all(
    ANVIL_DEV_PRIVATE_KEYS.slice(0, 4).map((privateKey) => connectL1({ rpcUrl: anvil.rpcUrl, privateKey, chainId: anvil.chainId })),
  );
});

afterAll(async () => {
  await anvil?.stop();
});

const rollupParams = (p: Params): RollupParams => ({
  accountLevels: p.accountLevels,
  balanceLevels: p.balanceLevels,
  depositSlots: p.depositSlots,
  l2Slots: p.l2Slots,
  fillSlots: p.fillSlots,
  feeBuckets: p.feeBuckets,
});

/** A deployment with the AcceptingVerifier, a core State mirroring it, and the queue records sent so far. */
async function setup(p: Params, forcedDeadlineBlocks = DEADLINE) {
  const state = new State(p);
  const d: ModexDeployment = await deployModex({
    rpcUrl: anvil.rpcUrl,
    privateKey: ANVIL_DEV_PRIVATE_KEYS[0],
    verifierSource: ACCEPTING_VERIFIER,
    verifierContract: "AcceptingVerifier",
    params: rollupParams(p),
    genesisRoot: state.root,
    operatorKey: publicKeyOf(operatorPriv),
    forcedDeadlineBlocks,
  });
  const records: QueueRecord[] = [{ kind: QUEUE_REGISTER, accountId: 0, token: 0, amount: 0n, ...publicKeyOf(operatorPriv) }];
  let queueHash = 0n;
  let consumed = 0;
  const read = <T>(functionName: string, args: readonly unknown[] = []): Promise<T> =>
    operator.publicClient.readContract({ address: d.rollup, abi: rollupAbi, functionName: functionName as never, args: args as never }) as Promise<T>;
  const write = (c: L1Clients, functionName: string, args: readonly unknown[], value = 0n): Promise<Hex> =>
    c.walletClient.writeContract({ address: d.rollup, abi: rollupAbi, functionName: functionName as never, args: args as never, value } as never);

  /** Builds the next batch over `count` queued records (0 = none); does not touch the chain. */
  const build = async (count: number): Promise<BatchResult> => {
    const block = await operator.publicClient.getBlock();
    return buildBatch(state, {
      chainId: anvil.chainId,
      rollup: d.rollup,
      timestamp: Number(block.timestamp),
      queueHashBefore: queueHash,
      deposits: records.slice(consumed, consumed + count),
      txs: [],
    });
  };
  const args = (b: BatchResult) =>
    [b.newRoot, b.timestamp, b.depositCount, toHex(Uint8Array.from(b.feeTokens)), toHex(withdrawBitmap(b.chunks)), toHex(b.slotData), toHex(b.forcedExitData)] as const;
  /** Accepts core's public inputs, then submits; the contract must compute the same inputs. */
  const submit = async (b: BatchResult): Promise<Hex> => {
    expect(await read("computePublicInputs", args(b))).toEqual(b.publicSignals);
    const [digest, oldRoot, newRoot, before, after] = b.publicSignals;
    await mined(operator, await operator.walletClient.writeContract({ address: d.verifier, abi: acceptingAbi, functionName: "setExpectedInputs", args: [[digest, oldRoot, newRoot, before, after]] }));
    return operator.walletClient.writeContract({ address: d.rollup, abi: rollupAbi, functionName: "submitBatch", args: [...args(b), [0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n]] });
  };
  /** Builds, submits and finalizes the next batch over `count` records. */
  const finalize = async (count: number) => {
    const b = await build(count);
    const receipt = await mined(operator, await submit(b));
    queueHash = b.queueHashAfter;
    consumed += b.depositCount;
    return { b, receipt };
  };
  const registerAccount = async (c: L1Clients, amount: bigint) => {
    const key = publicKeyOf(generatePrivateKey());
    await mined(c, await write(c, "register", [key.ax, key.ay, 0, amount], amount));
    records.push({ kind: QUEUE_REGISTER, accountId: records.filter((r) => r.kind === QUEUE_REGISTER).length, token: 0, amount, ...key });
  };
  const depositTo = async (c: L1Clients, accountId: number, token: number, amount: bigint) => {
    await mined(c, await write(c, "deposit", [accountId, token, amount], token === 0 ? amount : 0n));
    records.push({ kind: QUEUE_DEPOSIT, accountId, token, amount, ax: 0n, ay: 0n });
  };
  const forceWithdraw = async (c: L1Clients, accountId: number, token: number) => {
    const receipt = await mined(c, await write(c, "requestForcedWithdrawal", [accountId, token]));
    records.push({ kind: QUEUE_FORCED_EXIT, accountId, token, amount: 0n, ax: 0n, ay: 0n });
    const [ev] = parseEventLogs({ abi: rollupAbi, logs: receipt.logs, eventName: "ForcedWithdrawalRequested" });
    return { receipt, ev: ev.args };
  };
  const fundUsdc = async (c: L1Clients, amount: bigint) => {
    const usdc = d.tokens[0].address;
    await mined(c, await c.walletClient.writeContract({ address: usdc, abi: testTokenAbi, functionName: "mint", args: [c.account.address, amount] }));
    await mined(c, await c.walletClient.writeContract({ address: usdc, abi: testTokenAbi, functionName: "approve", args: [d.rollup, amount] }));
  };
  return { d, state, records, read, write, build, submit, finalize, registerAccount, depositTo, forceWithdraw, fundUsdc, consumed: () => consumed };
}

/** The latest block number (getBlockNumber would be cached by viem). */
const blockNumber = async (): Promise<bigint> => (await operator.publicClient.getBlock({ blockTag: "latest" })).number;
const usdcBalance = (d: ModexDeployment, who: Address) =>
  operator.publicClient.readContract({ address: d.tokens[0].address, abi: testTokenAbi, functionName: "balanceOf", args: [who] });

describe("forced withdrawals and the escape hatch (test config, AcceptingVerifier, core batches)", () => {
  const P = CONFIGS.test;
  let s: Awaited<ReturnType<typeof setup>>;

  beforeAll(async () => {
    s = await setup(P);
    // queue: [0] account 0 (constructor), [1] account 1 (user1, 1 ETH), [2] account 2 (user2, 2 ETH), [3] 5 USDC to account 2
    await s.registerAccount(user1, ETHER);
    await s.registerAccount(user2, 2n * ETHER);
    await s.fundUsdc(user2, 5_000_000n);
    await s.depositTo(user2, 2, 1, 5_000_000n);
    for (let i = 0; i < 4; i++) await s.finalize(1);
    expect(await s.read("consumed")).toBe(4n);
    expect(await s.read("stateRoot")).toBe(s.state.root);
  });

  test("the constructor's settings: deadline, Poseidon contracts, empty forced queue", async () => {
    expect(await s.read("forcedDeadlineBlocks")).toBe(DEADLINE);
    expect(s.d.forcedDeadlineBlocks).toBe(DEADLINE);
    expect(await s.read("poseidon5")).toBe(s.d.poseidon5);
    expect(await s.read("poseidon8")).toBe(s.d.poseidon8);
    // Poseidon_8 and the constants contract it created (nonce 1) each fit EIP-170
    const main = await operator.publicClient.getCode({ address: s.d.poseidon8 });
    const rest = await operator.publicClient.getCode({ address: getContractAddress({ from: s.d.poseidon8, nonce: 1n }) });
    for (const code of [main, rest]) {
      expect(code).toBeDefined();
      expect(((code as Hex).length - 2) / 2).toBeGreaterThan(20_000);
      expect(((code as Hex).length - 2) / 2).toBeLessThanOrEqual(24_576);
    }
    expect(poseidon8Opt([1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n])).toBe(poseidon8([1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n]));
    expect(await s.read("forcedCount")).toBe(0n);
    expect(await s.read("nextForced")).toBe(0n);
    expect(await s.read("frozen")).toBe(false);
    await expectRevert(s.read("forcedRequest", [0n]), "UnknownForcedRequest");
    await expectRevert(s.write(user3, "freeze", []), "NoExpiredRequest"); // nothing requested at all
  });

  test("requestForcedWithdrawal: owner only, registered tokens; a kind-3 record and a deadline", async () => {
    expect(await expectRevert(s.write(user2, "requestForcedWithdrawal", [1, 0]), "NotAccountOwner")).toEqual([1, user1.account.address]);
    expect(await expectRevert(s.write(user1, "requestForcedWithdrawal", [9, 0]), "NotAccountOwner")).toEqual([9, "0x0000000000000000000000000000000000000000"]);
    await expectRevert(s.write(user1, "requestForcedWithdrawal", [1, 3]), "UnknownToken");

    const prevHash = await s.read<bigint>("queueHash", [4n]);
    const { receipt, ev } = await s.forceWithdraw(user1, 1, 0);
    const deadline = receipt.blockNumber + BigInt(DEADLINE);
    expect(ev).toEqual({ forcedId: 0n, queueIndex: 4n, accountId: 1, token: 0, deadline });
    const [enq] = parseEventLogs({ abi: rollupAbi, logs: receipt.logs, eventName: "Enqueued" });
    const packed = 1n + (0n << 32n) + (3n << 40n);
    expect(enq.args).toMatchObject({ index: 4n, accountId: 1, kind: 3, token: 0, amount: 0n, ax: 0n, ay: 0n, sender: user1.account.address });
    expect(enq.args.queueHash).toBe(poseidon4([prevHash, packed, 0n, 0n]));
    expect(await s.read("forcedRequest", [0n])).toEqual({ queueIndex: 4n, deadline, accountId: 1, token: 0 });
    expect(await s.read("forcedCount")).toBe(1n);
    expect(await s.read("nextForced")).toBe(0n);
    await expectRevert(s.write(user3, "freeze", []), "NoExpiredRequest");
  });

  test("a batch that consumes the kind-3 record credits the whole balance to the owner", async () => {
    const { b, receipt } = await s.finalize(1);
    expect(b.forcedExits).toEqual([ETHER]);
    // the sequencer cuts the same arguments out of the stored pubdata (forcedExits: its last 16·D bytes)
    const zero = ["0", "0"];
    const cut = submitBatchArgs(P, { newRoot: b.newRoot, timestamp: b.timestamp, depositCount: b.depositCount, pubdata: toHex(b.pubdata), proof: { pi_a: zero, pi_b: [zero, zero], pi_c: zero, protocol: "groth16", curve: "bn128" } });
    expect(cut.slice(0, 7)).toEqual([b.newRoot, b.timestamp, b.depositCount, toHex(Uint8Array.from(b.feeTokens)), toHex(withdrawBitmap(b.chunks)), toHex(b.slotData), toHex(b.forcedExitData)]);
    expect(cut[6]).toBe(`0x${ETHER.toString(16).padStart(32, "0")}`);
    const credited = parseEventLogs({ abi: rollupAbi, logs: receipt.logs, eventName: "WithdrawalCredited" });
    expect(credited.map((e) => e.args)).toEqual([{ batchNumber: 5n, accountId: 1, owner: user1.account.address, token: 0, amount: ETHER }]);
    const processed = parseEventLogs({ abi: rollupAbi, logs: receipt.logs, eventName: "ForcedWithdrawalProcessed" });
    expect(processed.map((e) => e.args)).toEqual([{ forcedId: 0n, batchNumber: 5n, amount: ETHER }]);
    expect(await s.read("pendingWithdrawal", [user1.account.address, 0])).toBe(ETHER);
    expect(await s.read("nextForced")).toBe(1n);
    expect(s.state.balance(1, 0)).toBe(0n);
  });

  test("a batch may not leave an expired request unprocessed; then anyone freezes", async () => {
    // user2 forces out its USDC; the operator ignores it
    const { ev } = await s.forceWithdraw(user2, 2, 1);
    expect(ev.forcedId).toBe(1n);
    // queued after it: a deposit (user3, for account 2) and a registration (user3): both unconsumed at the freeze
    await s.depositTo(user3, 2, 0, ETHER / 2n);
    await s.registerAccount(user3, ETHER / 5n);
    // before the deadline a batch without it finalizes
    await s.finalize(0);
    const latest = await blockNumber();
    if (latest < ev.deadline - 1n) await mineBlocks(anvil.rpcUrl, Number(ev.deadline - 1n - latest));
    // next block = the deadline: not yet expired
    await expectRevert(s.write(user3, "freeze", []), "NoExpiredRequest");
    await mineBlocks(anvil.rpcUrl, 1);
    const late = await s.build(0);
    expect(await expectRevert(s.submit(late), "ForcedRequestExpired")).toEqual([5n, ev.deadline]);
    await expectRevert(s.write(user3, "exit", exitArgs(s.state, 2, 0)), "NotFrozen");
    await expectRevert(s.write(user3, "refundDeposit", [6n, 1, 2, 0, ETHER / 2n, 0n, 0n]), "NotFrozen");

    const receipt = await mined(user3, await s.write(user3, "freeze", []));
    const [ev2] = parseEventLogs({ abi: rollupAbi, logs: receipt.logs, eventName: "RollupFrozen" });
    expect(ev2.args).toEqual({ batchNumber: 6n, stateRoot: s.state.root, queueIndex: 5n });
    expect(await s.read("frozen")).toBe(true);
    await expectRevert(s.write(user3, "freeze", []), "Frozen");
  });

  test("frozen: no batches, deposits, registrations, forced requests or tokens", async () => {
    const key = publicKeyOf(generatePrivateKey());
    await expectRevert(s.submit(await s.build(0)), "Frozen");
    await expectRevert(s.write(user1, "deposit", [1, 0, 1n], 1n), "Frozen");
    await expectRevert(s.write(user1, "register", [key.ax, key.ay, 0, 0n]), "Frozen");
    await expectRevert(s.write(user1, "requestForcedWithdrawal", [1, 0]), "Frozen");
    await expectRevert(s.write(operator, "addToken", [s.d.tokens[0].address]), "Frozen");
  });

  test("claims keep working: the processed forced withdrawal pays", async () => {
    const before = await operator.publicClient.getBalance({ address: user1.account.address });
    await mined(user3, await s.write(user3, "claim", [user1.account.address, 0]));
    expect(await operator.publicClient.getBalance({ address: user1.account.address })).toBe(before + ETHER);
  });

  test("exit pays exactly the balance of the last finalized root, once; bad proofs are refused", async () => {
    const eth = exitArgs(s.state, 2, 0);
    expect(eth[2]).toBe(2n * ETHER);
    const wrongBalance = [...eth] as unknown[];
    wrongBalance[2] = eth[2] + 1n;
    await expectRevert(s.write(user3, "exit", wrongBalance), "BadExitProof");
    const wrongSibling = [...eth] as unknown[];
    wrongSibling[8] = eth[8].map((x, i) => (i === 0 ? x + 1n : x));
    await expectRevert(s.write(user3, "exit", wrongSibling), "BadExitProof");
    const otherAccount = [...exitArgs(s.state, 1, 0)] as unknown[];
    otherAccount[0] = 2; // account 1's leaf presented as account 2's
    otherAccount[2] = 1n;
    await expectRevert(s.write(user3, "exit", otherAccount), "BadExitProof");
    const short = [...eth] as unknown[];
    short[7] = eth[7].slice(1);
    await expectRevert(s.write(user3, "exit", short), "BadProofLength");
    const zero = [...eth] as unknown[];
    zero[2] = 0n;
    await expectRevert(s.write(user3, "exit", zero), "NothingToExit");
    const unknown = [...eth] as unknown[];
    unknown[0] = 4; // account 4 was never registered (account 3's registration is still queued)
    expect(await expectRevert(s.write(user3, "exit", unknown), "UnknownAccount")).toEqual([4]);
    await expectRevert(s.write(user3, "exit", [2, 3, 1n, ...eth.slice(3)]), "UnknownToken");
    // account 3 exists on L1 but not on L2 (its registration was never consumed): its empty leaf has no balance to prove
    const acct3 = [...exitArgs(s.state, 3, 0)] as unknown[];
    acct3[2] = ETHER / 5n;
    await expectRevert(s.write(user3, "exit", acct3), "BadExitProof");

    // anyone sends it; the L1 owner is credited
    const r1 = await mined(user3, await s.write(user3, "exit", eth));
    const [ev] = parseEventLogs({ abi: rollupAbi, logs: r1.logs, eventName: "Exited" });
    expect(ev.args).toEqual({ accountId: 2, token: 0, owner: user2.account.address, amount: 2n * ETHER });
    expect(await s.read("exited", [2, 0])).toBe(true);
    expect(await expectRevert(s.write(user3, "exit", eth), "AlreadyExited")).toEqual([2, 0]);

    const usdc = exitArgs(s.state, 2, 1);
    expect(usdc[2]).toBe(5_000_000n);
    await mined(user3, await s.write(user3, "exit", usdc));
    await expectRevert(s.write(user3, "exit", usdc), "AlreadyExited");
    // account 1's ETH left through its forced withdrawal: nothing left in the root
    const gone = [...exitArgs(s.state, 1, 0)] as unknown[];
    expect(gone[2]).toBe(0n);
    gone[2] = ETHER;
    await expectRevert(s.write(user3, "exit", gone), "BadExitProof");
  });

  test("refundDeposit: unconsumed deposits and registrations go to the account's owner, once; forged records are refused", async () => {
    // queue: [5] forced (account 2, USDC), [6] 0.5 ETH to account 2 (sent by user3), [7] account 3 (user3, 0.2 ETH)
    expect(await s.read("consumed")).toBe(5n);
    expect(await s.read("queueLength")).toBe(8n);
    expect(await expectRevert(s.write(user3, "refundDeposit", [6n, 1, 2, 0, ETHER / 2n + 1n, 0n, 0n]), "BadQueueRecord")).toEqual([6n]);
    await expectRevert(s.write(user3, "refundDeposit", [6n, 1, 1, 0, ETHER / 2n, 0n, 0n]), "BadQueueRecord"); // another account
    await expectRevert(s.write(user3, "refundDeposit", [6n, 2, 2, 0, ETHER / 2n, 0n, 0n]), "BadQueueRecord"); // another kind
    await expectRevert(s.write(user3, "refundDeposit", [5n, 3, 2, 1, 0n, 0n, 0n]), "NotRefundable"); // the forced request
    await expectRevert(s.write(user3, "refundDeposit", [5n, 1, 2, 1, 1n, 0n, 0n]), "BadQueueRecord");
    await expectRevert(s.write(user3, "refundDeposit", [3n, 1, 2, 1, 5_000_000n, 0n, 0n]), "NotRefundable"); // consumed
    await expectRevert(s.write(user3, "refundDeposit", [8n, 1, 2, 0, 1n, 0n, 0n]), "NotRefundable"); // past the queue

    const r = await mined(user1, await s.write(user1, "refundDeposit", [6n, 1, 2, 0, ETHER / 2n, 0n, 0n]));
    const [ev] = parseEventLogs({ abi: rollupAbi, logs: r.logs, eventName: "DepositRefunded" });
    expect(ev.args).toEqual({ index: 6n, accountId: 2, owner: user2.account.address, token: 0, amount: ETHER / 2n });
    expect(await expectRevert(s.write(user1, "refundDeposit", [6n, 1, 2, 0, ETHER / 2n, 0n, 0n]), "AlreadyRefunded")).toEqual([6n]);
    const reg = s.records[7];
    await mined(user1, await s.write(user1, "refundDeposit", [7n, 2, 3, 0, ETHER / 5n, reg.ax, reg.ay]));
    expect(await s.read("pendingWithdrawal", [user3.account.address, 0])).toBe(ETHER / 5n);
    expect(await s.read("refunded", [7n])).toBe(true);
  });

  test("claims pay exits and refunds exactly; the contract ends holding nothing", async () => {
    const ethBefore = await operator.publicClient.getBalance({ address: user2.account.address });
    const usdcBefore = await usdcBalance(s.d, user2.account.address);
    expect(await s.read("pendingWithdrawal", [user2.account.address, 0])).toBe(2n * ETHER + ETHER / 2n);
    await mined(user3, await s.write(user3, "claim", [user2.account.address, 0]));
    await mined(user3, await s.write(user3, "claim", [user2.account.address, 1]));
    expect(await operator.publicClient.getBalance({ address: user2.account.address })).toBe(ethBefore + 2n * ETHER + ETHER / 2n);
    expect(await usdcBalance(s.d, user2.account.address)).toBe(usdcBefore + 5_000_000n);
    await mined(user1, await s.write(user1, "claim", [user3.account.address, 0]));
    expect(await operator.publicClient.getBalance({ address: s.d.rollup })).toBe(0n);
    expect(await usdcBalance(s.d, s.d.rollup)).toBe(0n);
    expect(await s.read("tokenHeld", [0])).toBe(0n);
    expect(await s.read("tokenHeld", [1])).toBe(0n);
  });
});

describe("exit gas", () => {
  const gas: Record<string, number> = {};
  afterAll(() => {
    if (Object.keys(gas).length > 0) console.log(`exit gas:\n${JSON.stringify(gas, null, 2)}`);
  });

  const measure = async (name: string, p: Params) => {
    const s = await setup(p, 1);
    await s.registerAccount(user1, ETHER);
    // finalize the queue (D records per batch) so account 1 holds 1 ETH in the root
    while (s.consumed() < s.records.length) await s.finalize(Math.min(p.depositSlots, s.records.length - s.consumed()));
    const { ev } = await s.forceWithdraw(user1, 1, 0);
    await mineBlocks(anvil.rpcUrl, 2);
    expect(await blockNumber()).toBeGreaterThan(ev.deadline);
    await mined(user3, await s.write(user3, "freeze", []));
    const r = await mined(user3, await s.write(user3, "exit", exitArgs(s.state, 1, 0)));
    gas[`exit ${name} (accountLevels ${p.accountLevels}, balanceLevels ${p.balanceLevels})`] = Number(r.gasUsed);
    const f = await mined(user3, await s.write(user3, "claim", [user1.account.address, 0]));
    gas[`claim after exit ${name}`] = Number(f.gasUsed);
    return Number(r.gasUsed);
  };

  test("test, default and production parameters", async () => {
    const t = await measure("test", CONFIGS.test);
    const d = await measure("default", CONFIGS.default);
    const prod = await measure("production", CONFIGS.production);
    expect(t).toBeLessThan(d);
    expect(d).toBeLessThan(prod);
  });
});

describe("queue spam cannot make a forced request expire (default config, D = 2)", () => {
  const P = CONFIGS.default;
  const D = P.depositSlots;
  const F = 8;
  let s: Awaited<ReturnType<typeof setup>>;
  let attacker: number;

  /** The deadline PROTOCOL.md §6.1 gives a request sent in `block` with `ahead` records before it. */
  const formula = (block: bigint, ahead: bigint): bigint => block + BigInt(F) * (1n + ahead / BigInt(D));
  const spam = async (n: number) => {
    for (let i = 0; i < n; i++) await s.depositTo(user3, attacker, 0, 1n); // 1 wei each, one block each
  };
  const backlog = async (): Promise<bigint> => (await s.read<bigint>("queueLength")) - (await s.read<bigint>("consumed"));
  const drain = async () => {
    while (s.consumed() < s.records.length) await s.finalize(Math.min(D, s.records.length - s.consumed()));
  };
  /** Mines empty blocks until the latest is `block`. */
  const mineTo = async (block: bigint) => {
    const latest = await blockNumber();
    expect(latest).toBeLessThanOrEqual(block);
    if (latest < block) await mineBlocks(anvil.rpcUrl, Number(block - latest));
  };

  beforeAll(async () => {
    s = await setup(P, F);
    await s.registerAccount(user1, ETHER); // account 1: the victim
    await s.registerAccount(user2, ETHER); // account 2
    await s.registerAccount(user3, 1n); // account 3: the attacker
    attacker = 3;
    await drain();
  });

  test("the deadline grows by forcedDeadlineBlocks per D records ahead; a second open request for the same (account, token) is refused", async () => {
    await spam(3 * D + 1);
    const ahead = await backlog();
    expect(ahead).toBe(BigInt(3 * D + 1));
    const quoted = await s.read<bigint>("forcedDeadline"); // for a request in the latest block
    const { receipt, ev } = await s.forceWithdraw(user1, 1, 0);
    expect(ev.deadline).toBe(formula(receipt.blockNumber, ahead));
    expect(ev.deadline).toBe(receipt.blockNumber + 4n * BigInt(F));
    expect(ev.deadline).toBe(quoted + 1n);
    expect(await s.read("openForcedRequest", [1, 0])).toEqual([true, ev.forcedId]);
    expect(await s.read("openForcedRequest", [1, 1])).toEqual([false, 0n]);
    expect(await expectRevert(s.write(user1, "requestForcedWithdrawal", [1, 0]), "ForcedRequestPending")).toEqual([1, 0, ev.forcedId]);
  });

  test("an operator that finalizes one full batch every forcedDeadlineBlocks blocks processes it in time while 2·D records a window keep coming; freeze is refused all along", async () => {
    const r = await s.read<{ queueIndex: bigint; deadline: bigint }>("forcedRequest", [0n]);
    const requestBlock = r.deadline - 4n * BigInt(F);
    let processedAt: bigint | null = null;
    for (let k = 1n; processedAt === null; k++) {
      const target = requestBlock + k * BigInt(F);
      expect(target).toBeLessThanOrEqual(r.deadline);
      await spam(2 * D);
      await expectRevert(s.write(user2, "freeze", []), "NoExpiredRequest");
      await mineTo(target - 2n); // the verifier's setExpectedInputs, then submitBatch in `target`
      await expectRevert(s.write(user2, "freeze", []), "NoExpiredRequest");
      const { b, receipt } = await s.finalize(D);
      expect(receipt.blockNumber).toBe(target);
      const processed = parseEventLogs({ abi: rollupAbi, logs: receipt.logs, eventName: "ForcedWithdrawalProcessed" });
      if (processed.length > 0) {
        expect(processed.map((e) => e.args)).toEqual([{ forcedId: 0n, batchNumber: await s.read<bigint>("batchNumber"), amount: ETHER }]);
        expect(b.forcedExits).toContain(ETHER);
        processedAt = receipt.blockNumber;
      }
    }
    expect(processedAt).toBe(r.deadline); // the tightest schedule: the 4th batch, in the deadline block itself
    expect(await s.read("nextForced")).toBe(1n);
    expect(await s.read("openForcedRequest", [1, 0])).toEqual([false, 0n]);
    expect(await s.read("pendingWithdrawal", [user1.account.address, 0])).toBe(ETHER);
    expect(await backlog()).toBeGreaterThan(BigInt(D)); // the spam is still queued: it only delayed the exit
    await expectRevert(s.write(user2, "freeze", []), "NoExpiredRequest");
  });

  test("deadlines never decrease in queue order: a request behind a slower one gets the slower deadline", async () => {
    await drain();
    await spam(3 * D + 1);
    // processed, so (account 1, ETH) may ask again
    const first = await s.forceWithdraw(user1, 1, 0);
    expect(first.ev.deadline).toBe(formula(first.receipt.blockNumber, BigInt(3 * D + 1)));
    for (let i = 0; i < 3; i++) await s.finalize(D); // back to back: one record left ahead of the first request
    const ahead = await backlog();
    expect(ahead).toBe(2n);
    const second = await s.forceWithdraw(user2, 2, 0);
    expect(formula(second.receipt.blockNumber, ahead)).toBeLessThan(first.ev.deadline);
    expect(second.ev.deadline).toBe(first.ev.deadline);
    await drain(); // both processed, in queue order
    expect(await s.read("nextForced")).toBe(3n);
    expect(await s.read("openForcedRequest", [2, 0])).toEqual([false, 0n]);
  });
});
