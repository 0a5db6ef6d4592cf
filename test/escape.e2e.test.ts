/**
 * The escape hatch end to end with the real batch circuit, development keys and real proofs on anvil
 * (PROTOCOL.md §6): deposits finalized → a forced withdrawal processed in time credits the whole balance →
 * another one ignored past its deadline → a batch leaving it unprocessed is refused → freeze → exits with
 * core's Merkle proofs pay exactly the balances (ETH and an ERC-20), once; a wrong proof is refused;
 * an unconsumed deposit is refunded.
 */
import * as snarkjs from "snarkjs";
import { parseEventLogs, toHex, type Hex } from "viem";
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
  type QueueRecord,
} from "../core";
import { startAnvil, ANVIL_DEV_PRIVATE_KEYS, type AnvilInstance } from "../chain/anvil";
import { deployModex, type ModexDeployment } from "../contracts/deploy";
import { connectL1, type L1Clients } from "../contracts/clients";
import { rollupAbi, testTokenAbi } from "../contracts/abi";
import { proofToSolidity } from "../contracts/proof";
import { releaseSnarkjsCurve } from "../prover/keys";
import { testCircuitKeys } from "./helpers/keys";
import { exitArgs, expectRevert, mineBlocks, mined } from "./helpers/escape";
import { checkInvariants } from "./helpers/invariants";

jest.setTimeout(600_000);

const P = CONFIGS.test;
const ETHER = 10n ** 18n;
const USDC = 5_000_000n;
const DEADLINE = 10;
let anvil: AnvilInstance;
let dep: ModexDeployment;
let operator: L1Clients;
let user1: L1Clients;
let user2: L1Clients;
let user3: L1Clients;
const state = new State(P);
const operatorPriv = generatePrivateKey();
const records: QueueRecord[] = [];
let queueHash = 0n;
let consumed = 0;

beforeAll(async () => {
  await initCrypto();
  anvil = await startAnvil({ port: 0 });
  const { keys } = await testCircuitKeys();
  dep = await deployModex({ rpcUrl: anvil.rpcUrl, verifierSource: keys.verifierPath, params: P, genesisRoot: state.root, operatorKey: publicKeyOf(operatorPriv), forcedDeadlineBlocks: DEADLINE });
  [operator, user1, user2, user3] = await Promise.all(
    ANVIL_DEV_PRIVATE_KEYS.slice(0, 4).map((privateKey) => connectL1({ rpcUrl: anvil.rpcUrl, privateKey, chainId: anvil.chainId })),
  );
  records.push({ kind: QUEUE_REGISTER, accountId: 0, token: 0, amount: 0n, ...publicKeyOf(operatorPriv) });
});

afterAll(async () => {
  await anvil?.stop();
  await releaseSnarkjsCurve();
});

const write = (c: L1Clients, functionName: string, args: readonly unknown[], value = 0n): Promise<Hex> =>
  c.walletClient.writeContract({ address: dep.rollup, abi: rollupAbi, functionName: functionName as never, args: args as never, value } as never);
const read = <T>(functionName: string, args: readonly unknown[] = []): Promise<T> =>
  operator.publicClient.readContract({ address: dep.rollup, abi: rollupAbi, functionName: functionName as never, args: args as never }) as Promise<T>;
const ethBalance = (c: L1Clients) => operator.publicClient.getBalance({ address: c.account.address });
const usdcBalance = (c: L1Clients) => operator.publicClient.readContract({ address: dep.tokens[0].address, abi: testTokenAbi, functionName: "balanceOf", args: [c.account.address] });

async function build(count: number): Promise<BatchResult> {
  const block = await operator.publicClient.getBlock({ blockTag: "latest" });
  return buildBatch(state, { chainId: anvil.chainId, rollup: dep.rollup, timestamp: Number(block.timestamp), queueHashBefore: queueHash, deposits: records.slice(consumed, consumed + count), txs: [] });
}

async function prove(b: BatchResult) {
  const { circuit, keys } = await testCircuitKeys();
  const { proof } = await snarkjs.groth16.fullProve(b.circuitInput, circuit.wasmPath, keys.zkeyPath);
  return proofToSolidity(proof);
}

async function submit(b: BatchResult): Promise<Hex> {
  const proof = await prove(b);
  const args = [b.newRoot, b.timestamp, b.depositCount, toHex(Uint8Array.from(b.feeTokens)), toHex(withdrawBitmap(b.chunks)), toHex(b.slotData), toHex(b.forcedExitData)] as const;
  expect(await read("computePublicInputs", args)).toEqual(b.publicSignals);
  return operator.walletClient.writeContract({ address: dep.rollup, abi: rollupAbi, functionName: "submitBatch", args: [...args, proof] });
}

async function finalize(count: number) {
  const b = await build(count);
  const receipt = await mined(operator, await submit(b));
  queueHash = b.queueHashAfter;
  consumed += b.depositCount;
  expect(await read("stateRoot")).toBe(state.root);
  return { b, receipt };
}

test("forced withdrawal in time, then one ignored: refused batch, freeze, exits, refund", async () => {
  // queue: [1] account 1 (user1, 1 ETH), [2] account 2 (user2, 2 ETH), [3] 5 USDC to account 2
  const key1 = publicKeyOf(generatePrivateKey());
  const key2 = publicKeyOf(generatePrivateKey());
  await mined(user1, await write(user1, "register", [key1.ax, key1.ay, 0, ETHER], ETHER));
  records.push({ kind: QUEUE_REGISTER, accountId: 1, token: 0, amount: ETHER, ...key1 });
  await mined(user2, await write(user2, "register", [key2.ax, key2.ay, 0, 2n * ETHER], 2n * ETHER));
  records.push({ kind: QUEUE_REGISTER, accountId: 2, token: 0, amount: 2n * ETHER, ...key2 });
  const usdc = dep.tokens[0].address;
  await mined(user2, await user2.walletClient.writeContract({ address: usdc, abi: testTokenAbi, functionName: "mint", args: [user2.account.address, USDC] }));
  await mined(user2, await user2.walletClient.writeContract({ address: usdc, abi: testTokenAbi, functionName: "approve", args: [dep.rollup, USDC] }));
  await mined(user2, await write(user2, "deposit", [2, 1, USDC]));
  records.push({ kind: QUEUE_DEPOSIT, accountId: 2, token: 1, amount: USDC, ax: 0n, ay: 0n });
  for (let i = 0; i < 4; i++) await finalize(1);
  expect(state.balance(2, 1)).toBe(USDC);

  // A forced withdrawal processed in time: the batch whose L1 slot consumes the kind-3 record credits it all.
  await expectRevert(write(user2, "requestForcedWithdrawal", [1, 0]), "NotAccountOwner");
  await mined(user1, await write(user1, "requestForcedWithdrawal", [1, 0]));
  records.push({ kind: QUEUE_FORCED_EXIT, accountId: 1, token: 0, amount: 0n, ax: 0n, ay: 0n });
  const { b: b5, receipt: r5 } = await finalize(1);
  expect(b5.forcedExits).toEqual([ETHER]);
  expect(parseEventLogs({ abi: rollupAbi, logs: r5.logs, eventName: "WithdrawalCredited" }).map((e) => e.args)).toEqual([
    { batchNumber: 5n, accountId: 1, owner: user1.account.address, token: 0, amount: ETHER },
  ]);
  expect(parseEventLogs({ abi: rollupAbi, logs: r5.logs, eventName: "ForcedWithdrawalProcessed" }).map((e) => e.args)).toEqual([
    { forcedId: 0n, batchNumber: 5n, amount: ETHER },
  ]);
  expect(state.balance(1, 0)).toBe(0n);
  const before1 = await ethBalance(user1);
  await mined(user3, await write(user3, "claim", [user1.account.address, 0]));
  expect(await ethBalance(user1)).toBe(before1 + ETHER);

  // A forced withdrawal the operator ignores: user2's USDC; a deposit queued behind it.
  const rq = await mined(user2, await write(user2, "requestForcedWithdrawal", [2, 1]));
  const [req] = parseEventLogs({ abi: rollupAbi, logs: rq.logs, eventName: "ForcedWithdrawalRequested" });
  expect(req.args).toMatchObject({ forcedId: 1n, queueIndex: 5n, accountId: 2, token: 1, deadline: rq.blockNumber + BigInt(DEADLINE) });
  records.push({ kind: QUEUE_FORCED_EXIT, accountId: 2, token: 1, amount: 0n, ax: 0n, ay: 0n });
  await mined(user3, await write(user3, "deposit", [2, 0, ETHER / 2n], ETHER / 2n));
  records.push({ kind: QUEUE_DEPOSIT, accountId: 2, token: 0, amount: ETHER / 2n, ax: 0n, ay: 0n });
  await expectRevert(write(user3, "freeze", []), "NoExpiredRequest");
  const latest = (await operator.publicClient.getBlock({ blockTag: "latest" })).number;
  await mineBlocks(anvil.rpcUrl, Number(req.args.deadline - latest) + 1);

  // A batch that leaves it unprocessed past its deadline is refused, with a valid proof.
  const late = await build(0);
  expect(await expectRevert(submit(late), "ForcedRequestExpired")).toEqual([5n, req.args.deadline]);
  expect(state.root).toBe(await read("stateRoot")); // an empty batch changes nothing

  const fr = await mined(user3, await write(user3, "freeze", []));
  expect(parseEventLogs({ abi: rollupAbi, logs: fr.logs, eventName: "RollupFrozen" })[0].args).toEqual({ batchNumber: 5n, stateRoot: state.root, queueIndex: 5n });
  const lateArgs = [late.newRoot, late.timestamp, 0, toHex(Uint8Array.from(late.feeTokens)), toHex(withdrawBitmap(late.chunks)), toHex(late.slotData), toHex(late.forcedExitData), [0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n]] as const;
  await expectRevert(write(operator, "submitBatch", lateArgs), "Frozen");

  // Exits with core's Merkle proofs against the frozen root.
  const usdcExit = exitArgs(state, 2, 1);
  const ethExit = exitArgs(state, 2, 0);
  expect(usdcExit[2]).toBe(USDC);
  expect(ethExit[2]).toBe(2n * ETHER);
  const wrong = [...usdcExit] as unknown[];
  wrong[2] = USDC + 1n;
  await expectRevert(write(user3, "exit", wrong), "BadExitProof");
  const wrongSibling = [...ethExit] as unknown[];
  wrongSibling[7] = ethExit[7].map((x, i) => (i === 0 ? x ^ 1n : x));
  await expectRevert(write(user3, "exit", wrongSibling), "BadExitProof");
  const exitReceipt = await mined(user3, await write(user3, "exit", usdcExit));
  console.log(`exit gas (test config, real deployment): ${exitReceipt.gasUsed}`);
  expect(parseEventLogs({ abi: rollupAbi, logs: exitReceipt.logs, eventName: "Exited" })[0].args).toEqual({ accountId: 2, token: 1, owner: user2.account.address, amount: USDC });
  await mined(user3, await write(user3, "exit", ethExit));
  expect(await expectRevert(write(user3, "exit", usdcExit), "AlreadyExited")).toEqual([2, 1]);
  await expectRevert(write(user3, "exit", ethExit), "AlreadyExited");

  // The deposit behind the ignored request was never consumed: refunded to account 2's owner.
  await mined(user3, await write(user3, "refundDeposit", [6n, 1, 2, 0, ETHER / 2n, 0n, 0n]));
  await expectRevert(write(user3, "refundDeposit", [6n, 1, 2, 0, ETHER / 2n, 0n, 0n]), "AlreadyRefunded");

  const eth2 = await ethBalance(user2);
  const usdc2 = await usdcBalance(user2);
  await mined(user3, await write(user3, "claim", [user2.account.address, 0]));
  await mined(user3, await write(user3, "claim", [user2.account.address, 1]));
  expect(await ethBalance(user2)).toBe(eth2 + 2n * ETHER + ETHER / 2n);
  expect(await usdcBalance(user2)).toBe(usdc2 + USDC);
  expect(await operator.publicClient.getBalance({ address: dep.rollup })).toBe(0n);
  // And at every batch before the freeze, the contract held exactly what it owed.
  expect(await checkInvariants({ rpcUrl: anvil.rpcUrl, rollup: dep.rollup })).toMatchObject({ violations: [] });
});
