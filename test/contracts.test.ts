/**
 * Rollup.sol against a real anvil: the L1 queue, token registry, batch finalization (public input,
 * withdrawal crediting, rejections), claims, and gas with a real Groth16 verifier.
 *
 * Most batch tests use test/fixtures/contracts/AcceptingVerifier.sol (TEST ONLY): it accepts a proof
 * iff its public input equals the value the test set, which checks the Rollup's public input against
 * the TS reference below. The gas tests use a real snarkjs Groth16 verifier for a circuit with the
 * batch's five public inputs (test/fixtures/contracts/batch_public_inputs.circom, TEST ONLY) and real proofs.
 */
import { sha256 } from "@noble/hashes/sha256";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { poseidon4 } from "poseidon-lite";
import * as snarkjs from "snarkjs";
import {
  BaseError,
  createTestClient,
  decodeErrorResult,
  encodeDeployData,
  encodeErrorResult,
  getAddress,
  http,
  parseEventLogs,
  toHex,
  type Abi,
  type Address,
  type Hex,
  type TransactionReceipt,
} from "viem";
import { ANVIL_DEV_PRIVATE_KEYS, startAnvil, type AnvilInstance } from "../chain/anvil";
import { rollupAbi, testTokenAbi } from "../contracts/abi";
import { connectL1, type L1Clients } from "../contracts/clients";
import { artifact, compileContracts, type CompiledContracts } from "../contracts/compile";
import { DEFAULT_MAX_TIMESTAMP_LAG, deployModex, type ModexDeployment, type RollupParams } from "../contracts/deploy";
import { proofToSolidity, type SnarkjsGroth16Proof, type SolidityProof } from "../contracts/proof";
import { FLOAT16, FLOAT40, encodeFloat } from "../core/float";
import { shapeKey, type Shape } from "../core/params";
import { checkRollupParams, connectRollup, rollupParams } from "../sequencer/l1";
import { expectRevert, mined } from "./helpers/escape";

// ------------------------------------------------------------------ constants and fixtures

const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
const INPUT_MASK = (1n << 253n) - 1n;
/** The verifier's public inputs, as viem types a uint256[5]. */
type Inputs = readonly [bigint, bigint, bigint, bigint, bigint];
const ETHER = 10n ** 18n;
const MAX_U128 = (1n << 128n) - 1n;

const TEST_PARAMS: RollupParams = { accountLevels: 2, balanceLevels: 1, depositSlots: 1, l2Slots: 2, fillSlots: 1, feeBuckets: 1 };
const PRODUCTION_PARAMS: RollupParams = {
  accountLevels: 8,
  balanceLevels: 4,
  depositSlots: 8,
  l2Slots: 64,
  fillSlots: 16,
  feeBuckets: 4,
};
const GENESIS_ROOT = 0x1234n;
const FIXTURES = join(__dirname, "fixtures", "contracts");
const fixture = (f: string): string => readFileSync(join(FIXTURES, f), "utf8");
const ACCEPTING_VERIFIER = fixture("AcceptingVerifier.sol");
const EXTRA_FIXTURES = {
  "test/fixtures/contracts/FeeOnTransferToken.sol": fixture("FeeOnTransferToken.sol"),
  "test/fixtures/contracts/ReentrantClaimer.sol": fixture("ReentrantClaimer.sol"),
};

// ------------------------------------------------------------------ Baby Jubjub (test keys)

const BJJ_A = 168700n;
const BJJ_D = 168696n;
const BASE8: Point = [
  5299619240641551281634865583518297030282874472190772894086521144482721001553n,
  16950150798460657717958625567821834550301663161624707787222815936182638968203n,
];
type Point = readonly [bigint, bigint];
const mod = (x: bigint): bigint => ((x % R) + R) % R;
function inv(x: bigint): bigint {
  let [r, b, e] = [1n, mod(x), R - 2n];
  for (; e > 0n; e >>= 1n, b = (b * b) % R) if (e & 1n) r = (r * b) % R;
  return r;
}
function addPoints([x1, y1]: Point, [x2, y2]: Point): Point {
  const t = mod(BJJ_D * x1 * x2 * y1 * y2);
  return [mod((x1 * y2 + y1 * x2) * inv(1n + t)), mod((y1 * y2 - BJJ_A * x1 * x2) * inv(1n - t))];
}
/** k · Base8: a valid public key for private scalar k. */
function testKey(k: bigint): { ax: bigint; ay: bigint } {
  let acc: Point = [0n, 1n];
  let p = BASE8;
  for (; k > 0n; k >>= 1n, p = addPoints(p, p)) if (k & 1n) acc = addPoints(acc, p);
  return { ax: acc[0], ay: acc[1] };
}

// ------------------------------------------------------------------ TS reference (PROTOCOL.md §4.1, §5.2)

const packRecord = (accountId: number, token: number, kind: number, amount: bigint): bigint =>
  BigInt(accountId) + (BigInt(token) << 32n) + (BigInt(kind) << 40n) + (amount << 48n);

function be(value: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = length - 1, v = value; i >= 0; i--, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}
const concat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));
const hex = (b: Uint8Array): Hex => toHex(b);

interface PubdataHeader {
  readonly oldRoot: bigint;
  readonly newRoot: bigint;
  readonly queueHashBefore: bigint;
  readonly queueHashAfter: bigint;
  readonly chainId: number;
  readonly timestamp: number;
  /** The rollup's own address (address(this)). */
  readonly rollup: Address;
}

function buildPubdata(h: PubdataHeader, feeTokens: Uint8Array, bitmap: Uint8Array, chunks: Uint8Array, forcedExits: Uint8Array): Uint8Array {
  return concat(
    be(h.oldRoot, 32),
    be(h.newRoot, 32),
    be(h.queueHashBefore, 32),
    be(h.queueHashAfter, 32),
    be(BigInt(h.chainId), 4),
    be(BigInt(h.timestamp), 4),
    be(BigInt(h.rollup), 20),
    feeTokens,
    bitmap,
    chunks,
    forcedExits,
  );
}
/** The proof's public inputs (§5.2): sha256 of the pubdata after its four header words, then the words. */
const publicInputsOf = (pubdata: Uint8Array): bigint[] => [
  BigInt(hex(sha256(pubdata.subarray(128)))) & INPUT_MASK,
  ...[0, 1, 2, 3].map((i) => BigInt(hex(pubdata.subarray(32 * i, 32 * i + 32)))),
];

const f40 = (v: bigint): bigint => encodeFloat(FLOAT40, v);
const f16 = (v: bigint): bigint => encodeFloat(FLOAT16, v);
const NOOP = new Uint8Array(15);
/** The test deployment's one fill slot, unused: 51 zero bytes after the L2 chunks. */
const NOOP_FILLS = new Uint8Array(51);
const transferChunk = (from: number, to: number, token: number, amount: bigint, fee = 0n): Uint8Array =>
  concat(Uint8Array.of(2), be(BigInt(from), 3), be(BigInt(to), 3), Uint8Array.of(token), be(f40(amount), 5), be(f16(fee), 2));
const withdrawChunk = (account: number, token: number, amount: bigint, fee = 0n): Uint8Array =>
  concat(Uint8Array.of(3), be(BigInt(account), 3), Uint8Array.of(token), be(f40(amount), 5), be(f16(fee), 2), new Uint8Array(3));
/** A transfer chunk with random, all non-zero fields: the worst case for calldata gas (16 per byte). */
const randomTransferChunk = (): Uint8Array => concat(Uint8Array.of(2), randomBytes(14).map((b) => b || 1));
const bitmapOf = (chunks: readonly Uint8Array[]): Uint8Array => {
  const bm = new Uint8Array(Math.ceil(chunks.length / 8));
  chunks.forEach((c, i) => {
    if (c[0] === 3) bm[i >> 3] |= 0x80 >> (i & 7);
  });
  return bm;
};

// ------------------------------------------------------------------ helpers

interface Batch {
  newRoot: bigint;
  timestamp: number;
  depositCount: number;
  feeTokens: Uint8Array;
  bitmap: Uint8Array;
  chunks: Uint8Array;
  /** u128 exit amount per L1 slot, 16 bytes each (zeros: no forced exit in the batch). */
  forcedExits: Uint8Array;
}

const ZERO_PROOF: SolidityProof = [0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n];

function batchArgs(b: Batch, proof: SolidityProof = ZERO_PROOF) {
  return [b.newRoot, b.timestamp, b.depositCount, hex(b.feeTokens), hex(b.bitmap), hex(b.chunks), hex(b.forcedExits), proof] as const;
}
const viewArgs = (b: Batch) => batchArgs(b).slice(0, 7) as unknown as readonly [bigint, number, number, Hex, Hex, Hex, Hex];

type Key = { readonly ax: bigint; readonly ay: bigint };

/** register(ax, ay, token, amount) sent by `c`; ETH attached when token is 0. */
async function registerAccount(c: L1Clients, rollup: Address, key: Key, token = 0, amount = 0n): Promise<TransactionReceipt> {
  const value = token === 0 ? amount : 0n;
  const args = [key.ax, key.ay, token, amount] as const;
  return mined(c, await c.walletClient.writeContract({ address: rollup, abi: rollupAbi, functionName: "register", args, value }));
}

/** deposit(accountId, token, amount) sent by `c`; ETH attached when token is 0. */
async function depositTo(c: L1Clients, rollup: Address, accountId: number, token: number, amount: bigint): Promise<TransactionReceipt> {
  const value = token === 0 ? amount : 0n;
  const args = [accountId, token, amount] as const;
  return mined(c, await c.walletClient.writeContract({ address: rollup, abi: rollupAbi, functionName: "deposit", args, value }));
}

/** Mints `amount` of a TestToken to `c` and approves `spender` for it. */
async function fundToken(c: L1Clients, token: Address, spender: Address, amount: bigint): Promise<void> {
  const w = c.walletClient;
  await mined(c, await w.writeContract({ address: token, abi: testTokenAbi, functionName: "mint", args: [c.account.address, amount] }));
  await mined(c, await w.writeContract({ address: token, abi: testTokenAbi, functionName: "approve", args: [spender, amount] }));
}

// ------------------------------------------------------------------ suite

let anvil: AnvilInstance;
let operator: L1Clients;
let user1: L1Clients;
let user2: L1Clients;
let user3: L1Clients;
let compiled: CompiledContracts;
const operatorKey = testKey(7n);
const key1 = testKey(11n);
const key2 = testKey(12n);
const key3 = testKey(13n);

beforeAll(async () => {
  anvil = await startAnvil({ port: 0 });
  [operator, user1, user2, user3] = await Promise.all(
    ANVIL_DEV_PRIVATE_KEYS.map((privateKey) => connectL1({ rpcUrl: anvil.rpcUrl, privateKey, chainId: anvil.chainId })),
  );
  compiled = compileContracts({ ...EXTRA_FIXTURES, "Verifier.sol": ACCEPTING_VERIFIER });
});

afterAll(async () => {
  await anvil?.stop();
});

async function deployTest(params: RollupParams = TEST_PARAMS): Promise<ModexDeployment> {
  return deployModex({
    rpcUrl: anvil.rpcUrl,
    privateKey: ANVIL_DEV_PRIVATE_KEYS[0],
    verifierSource: ACCEPTING_VERIFIER,
    verifierContract: "AcceptingVerifier",
    extraSources: EXTRA_FIXTURES,
    params,
    genesisRoot: GENESIS_ROOT,
    operatorKey,
  });
}

function reader(d: ModexDeployment) {
  const read = <T>(functionName: string, args: readonly unknown[] = []): Promise<T> =>
    operator.publicClient.readContract({ address: d.rollup, abi: rollupAbi as Abi, functionName, args }) as Promise<T>;
  return read;
}

test("abi.ts matches the compiled contracts (regenerate with `npx tsx contracts/gen-abi.ts`)", () => {
  expect(artifact(compiled, "Rollup").abi).toEqual(rollupAbi);
  expect(artifact(compiled, "TestToken").abi).toEqual(testTokenAbi);
  // EIP-170
  expect((artifact(compiled, "Rollup").deployedBytecode.length - 2) / 2).toBeLessThanOrEqual(24576);
});

test("startAnvil picks free ports and stops without orphans", async () => {
  const a = await startAnvil({ port: 0, chainId: 777 });
  expect(a.port).not.toBe(anvil.port);
  const c = await connectL1({ rpcUrl: a.rpcUrl, privateKey: ANVIL_DEV_PRIVATE_KEYS[0] });
  expect(c.chain.id).toBe(777);
  await a.stop();
  expect(() => process.kill(a.pid, 0)).toThrow(); // the process is gone
});

describe("L1 queue and tokens", () => {
  let d: ModexDeployment;
  let read: ReturnType<typeof reader>;
  let usdc: Address;
  /** queueHash[k] as the TS reference computes it from the records sent so far. */
  const expectedChain: bigint[] = [0n];
  const pushRecord = (accountId: number, token: number, kind: number, amount: bigint, ax = 0n, ay = 0n): bigint => {
    const h = poseidon4([expectedChain[expectedChain.length - 1], packRecord(accountId, token, kind, amount), ax, ay]);
    expectedChain.push(h);
    return h;
  };

  beforeAll(async () => {
    d = await deployTest();
    read = reader(d);
    usdc = d.tokens[0].address;
  });

  test("the constructor registers account 0 for the operator and sets up the views", async () => {
    pushRecord(0, 0, 2, 0n, operatorKey.ax, operatorKey.ay);
    expect(await read("accountOwner", [0])).toBe(operator.account.address);
    expect(await read("nextAccountId")).toBe(1);
    expect(await read("queueLength")).toBe(1n);
    expect(await read("queueHash", [0])).toBe(0n);
    expect(await read("queueHash", [1])).toBe(expectedChain[1]);
    await expectRevert(read("queueHash", [2]), "QueueIndexOutOfRange");
    expect(await read("stateRoot")).toBe(GENESIS_ROOT);
    expect(await read("batchRoots", [0n])).toBe(GENESIS_ROOT);
    expect(await read("batchNumber")).toBe(0n);
    expect(await read("consumed")).toBe(0n);
    expect(await read("lastTimestamp")).toBe(0);
    expect(await read("tokenCount")).toBe(3n);
    expect(await read("tokenAddress", [0])).toBe("0x0000000000000000000000000000000000000000");
    expect(await read("tokenAddress", [1])).toBe(usdc);
    expect(await read("tokenAddress", [2])).toBe(d.tokens[1].address);
    await expectRevert(read("tokenAddress", [3]), "UnknownToken");
    expect(await read("params")).toEqual({ accountLevels: TEST_PARAMS.accountLevels, balanceLevels: TEST_PARAMS.balanceLevels, feeBuckets: TEST_PARAMS.feeBuckets });
    expect(await read("shapes")).toEqual([{ verifier: d.verifier, depositSlots: 1, l2Slots: 2, fillSlots: 1 }]);
    expect(d.verifiers).toEqual([{ shape: { depositSlots: 1, l2Slots: 2, fillSlots: 1 }, address: d.verifier }]);
    expect(d.params.shapes).toEqual([{ depositSlots: 1, l2Slots: 2, fillSlots: 1 }]);
    expect(await read("maxAccounts")).toBe(64n);
    expect(await read("maxTokens")).toBe(4n);
    expect(await read("operator")).toBe(operator.account.address);
    expect(await read("maxTimestampLag")).toBe(DEFAULT_MAX_TIMESTAMP_LAG);
  });

  test("register with ETH: kind-2 record, owner, queue hash = poseidon-lite of the packed record", async () => {
    const amount = ETHER;
    const hash = await user1.walletClient.writeContract({
      address: d.rollup,
      abi: rollupAbi,
      functionName: "register",
      args: [key1.ax, key1.ay, 0, amount],
      value: amount,
    });
    const receipt = await mined(user1, hash);
    const expected = pushRecord(1, 0, 2, amount, key1.ax, key1.ay);
    const [ev] = parseEventLogs({ abi: rollupAbi, logs: receipt.logs, eventName: "Enqueued" });
    expect(ev.args).toEqual({
      index: 1n,
      accountId: 1,
      kind: 2,
      token: 0,
      amount,
      ax: key1.ax,
      ay: key1.ay,
      sender: user1.account.address,
      queueHash: expected,
    });
    expect(await read("queueHash", [2])).toBe(expected);
    expect(await read("accountOwner", [1])).toBe(user1.account.address);
    expect(await read("nextAccountId")).toBe(2);
    expect(await read("tokenHeld", [0])).toBe(amount);
    expect(await operator.publicClient.getBalance({ address: d.rollup })).toBe(amount);
  });

  test("deposit ERC-20 (kind 1) and register with an ERC-20 amount", async () => {
    const amount = 5_000_000n;
    await fundToken(user1, usdc, d.rollup, 10n ** 12n);
    await depositTo(user1, d.rollup, 1, 1, amount);
    expect(await read("queueHash", [3])).toBe(pushRecord(1, 1, 1, amount));

    // ETH deposit by someone other than the owner
    await depositTo(user2, d.rollup, 0, 0, 123n);
    expect(await read("queueHash", [4])).toBe(pushRecord(0, 0, 1, 123n));

    await registerAccount(user1, d.rollup, key2, 1, 7n);
    expect(await read("queueHash", [5])).toBe(pushRecord(2, 1, 2, 7n, key2.ax, key2.ay));
    expect(await read("accountOwner", [2])).toBe(user1.account.address);
    expect(await read("tokenHeld", [1])).toBe(amount + 7n);
    expect(await operator.publicClient.readContract({ address: usdc, abi: testTokenAbi, functionName: "balanceOf", args: [d.rollup] })).toBe(amount + 7n);
    // register with token 1 and amount 0 is allowed (no transfer)
    await registerAccount(user2, d.rollup, key3, 1, 0n);
    expect(await read("queueHash", [6])).toBe(pushRecord(3, 1, 2, 0n, key3.ax, key3.ay));
  });

  test("rejects bad keys, unknown accounts and tokens, wrong msg.value, zero deposits", async () => {
    const w = user2.walletClient;
    const reg = (ax: bigint, ay: bigint, token = 0, amount = 0n, value = 0n) =>
      w.writeContract({ address: d.rollup, abi: rollupAbi, functionName: "register", args: [ax, ay, token, amount], value });
    await expectRevert(reg(1n, 2n), "KeyNotOnCurve");
    await expectRevert(reg(0n, 0n), "KeyNotOnCurve"); // (0,0) means "unregistered" in the tree
    await expectRevert(reg(key1.ax, key1.ay + 1n), "KeyNotOnCurve");
    await expectRevert(reg(0n, 1n), "KeyIsIdentity");
    await expectRevert(reg(key1.ax + R, key1.ay), "KeyNotInField"); // same point mod r, non-canonical
    await expectRevert(reg(key1.ax, key1.ay + R), "KeyNotInField");
    await expectRevert(reg(key1.ax, key1.ay, 0, 5n, 4n), "WrongEthValue");
    await expectRevert(reg(key1.ax, key1.ay, 1, 5n, 5n), "WrongEthValue"); // ERC-20 with ETH attached
    await expectRevert(reg(key1.ax, key1.ay, 3, 0n), "UnknownToken");

    const dep = (id: number, token: number, amount: bigint, value = 0n) =>
      w.writeContract({ address: d.rollup, abi: rollupAbi, functionName: "deposit", args: [id, token, amount], value });
    const next = await read<number>("nextAccountId");
    expect(await expectRevert(dep(next, 0, 1n, 1n), "UnknownAccount")).toEqual([next]);
    await expectRevert(dep(2 ** 32 - 1, 0, 1n, 1n), "UnknownAccount");
    await expectRevert(dep(1, 0, 1n, 2n), "WrongEthValue");
    await expectRevert(dep(1, 0, 2n, 1n), "WrongEthValue");
    await expectRevert(dep(1, 1, 1n, 1n), "WrongEthValue");
    await expectRevert(dep(1, 3, 1n), "UnknownToken");
    await expectRevert(dep(1, 255, 1n), "UnknownToken");
    await expectRevert(dep(1, 0, 0n), "ZeroAmount");
    // nothing was queued by the failures
    expect(await read("queueLength")).toBe(BigInt(expectedChain.length - 1));
  });

  test("caps each token's holdings below 2^128", async () => {
    const held = await read<bigint>("tokenHeld", [1]);
    await fundToken(user1, usdc, d.rollup, 1n << 129n);
    const dep = (amount: bigint) =>
      user1.walletClient.writeContract({ address: d.rollup, abi: rollupAbi, functionName: "deposit", args: [1, 1, amount] });
    expect(await expectRevert(dep(MAX_U128 - held + 1n), "TokenCapExceeded")).toEqual([1, held, MAX_U128 - held + 1n]);
    await mined(user1, await dep(MAX_U128 - held)); // exactly 2^128 - 1 held
    pushRecord(1, 1, 1, MAX_U128 - held);
    expect(await read("tokenHeld", [1])).toBe(MAX_U128);
    await expectRevert(dep(1n), "TokenCapExceeded");
  });

  test("addToken: operator only, contracts only, no duplicates, ids below 4^balanceLevels; fee-on-transfer tokens are refused", async () => {
    const add = (c: L1Clients, token: Address) =>
      c.walletClient.writeContract({ address: d.rollup, abi: rollupAbi, functionName: "addToken", args: [token] });
    const fot = artifact(compiled, "FeeOnTransferToken");
    const fotReceipt = await mined(operator, await operator.walletClient.deployContract({ abi: fot.abi, bytecode: fot.bytecode }));
    const fotAddress = getAddress(fotReceipt.contractAddress as Address);

    await expectRevert(add(user1, fotAddress), "NotOperator");
    await expectRevert(add(operator, usdc), "TokenAlreadyAdded");
    await expectRevert(add(operator, user1.account.address), "NotAContract");
    const receipt = await mined(operator, await add(operator, fotAddress));
    const [ev] = parseEventLogs({ abi: rollupAbi, logs: receipt.logs, eventName: "TokenAdded" });
    expect(ev.args).toEqual({ id: 3, token: fotAddress });
    expect(await read("tokenCount")).toBe(4n);
    await expectRevert(add(operator, d.poseidon4), "TooManyTokens"); // 4^1 ids: ETH + 3

    await mined(user1, await user1.walletClient.writeContract({ address: fotAddress, abi: fot.abi, functionName: "mint", args: [user1.account.address, 10n ** 6n] }));
    await mined(user1, await user1.walletClient.writeContract({ address: fotAddress, abi: fot.abi, functionName: "approve", args: [d.rollup, 10n ** 6n] }));
    const args = await expectRevert(
      user1.walletClient.writeContract({ address: d.rollup, abi: rollupAbi, functionName: "deposit", args: [1, 3, 1000n] }),
      "TransferAmountMismatch",
    );
    expect(args).toEqual([1000n, 990n]);
  });

  test("auditors rebuild the queue and the owners from events alone", async () => {
    const logs = await operator.publicClient.getContractEvents({
      address: d.rollup,
      abi: rollupAbi,
      eventName: "Enqueued",
      fromBlock: d.deployBlock,
    });
    let h = 0n;
    const owners = new Map<number, Address>();
    for (const [k, log] of logs.entries()) {
      const a = log.args as Required<typeof log.args>;
      expect(a.index).toBe(BigInt(k));
      h = poseidon4([h, packRecord(a.accountId, a.token, a.kind, a.amount), a.ax, a.ay]);
      expect(a.queueHash).toBe(h);
      expect(await read("queueHash", [k + 1])).toBe(h);
      if (a.kind === 2) owners.set(a.accountId, a.sender);
    }
    expect(logs.length).toBe(expectedChain.length - 1);
    expect(h).toBe(expectedChain[expectedChain.length - 1]);
    for (const [id, owner] of owners) expect(await read("accountOwner", [id])).toBe(owner);
  });

  test("the account tree's capacity is enforced (8^accountLevels accounts)", async () => {
    const small = await deployTest({ ...TEST_PARAMS, accountLevels: 1 });
    for (let i = 1; i < 8; i++) {
      const k = testKey(100n + BigInt(i));
      await registerAccount(user3, small.rollup, k, 0, 0n);
    }
    await expectRevert(
      user3.walletClient.writeContract({ address: small.rollup, abi: rollupAbi, functionName: "register", args: [key1.ax, key1.ay, 0, 0n] }),
      "AccountTreeFull",
    );
  });
});

describe("submitBatch (AcceptingVerifier) and claims", () => {
  let d: ModexDeployment;
  let read: ReturnType<typeof reader>;
  let usdc: Address;
  let lastTimestamp = 0;

  const setExpected = async (input: readonly bigint[]): Promise<void> => {
    await mined(operator, await operator.walletClient.writeContract({ address: d.verifier, abi: artifact(compiled, "AcceptingVerifier").abi, functionName: "setExpectedInputs", args: [input as Inputs] }));
  };
  const latestTimestamp = async (): Promise<number> => Number((await operator.publicClient.getBlock()).timestamp);
  /** The public inputs per the TS reference, from the contract's current state. */
  const referenceInput = async (b: Batch): Promise<{ pubdata: Uint8Array; input: bigint[] }> => {
    const consumed = await read<bigint>("consumed");
    const pubdata = buildPubdata(
      {
        oldRoot: await read<bigint>("stateRoot"),
        newRoot: b.newRoot,
        queueHashBefore: await read<bigint>("queueHash", [consumed]),
        queueHashAfter: await read<bigint>("queueHash", [consumed + BigInt(b.depositCount)]),
        chainId: anvil.chainId,
        timestamp: b.timestamp,
        rollup: d.rollup,
      },
      b.feeTokens,
      b.bitmap,
      b.chunks,
      b.forcedExits,
    );
    return { pubdata, input: publicInputsOf(pubdata) };
  };
  const submit = (b: Batch, by: L1Clients = operator) =>
    by.walletClient.writeContract({ address: d.rollup, abi: rollupAbi, functionName: "submitBatch", args: batchArgs(b) });
  /** Sets the verifier to accept exactly the reference input, submits, checks the result. */
  const finalize = async (b: Batch): Promise<TransactionReceipt> => {
    const { pubdata, input } = await referenceInput(b);
    expect(await read("computePubdata", viewArgs(b))).toBe(hex(pubdata));
    expect(await read("computePublicInputs", viewArgs(b))).toEqual(input);
    await setExpected(input);
    const before = await read<bigint>("batchNumber");
    const oldRoot = await read<bigint>("stateRoot");
    const consumed = await read<bigint>("consumed");
    const receipt = await mined(operator, await submit(b));
    const [ev] = parseEventLogs({ abi: rollupAbi, logs: receipt.logs, eventName: "BatchFinalized" });
    expect(ev.args).toEqual({ batchNumber: before + 1n, newRoot: b.newRoot, oldRoot, depositCount: b.depositCount, timestamp: b.timestamp });
    expect(await read("batchNumber")).toBe(before + 1n);
    expect(await read("stateRoot")).toBe(b.newRoot);
    expect(await read("batchRoots", [before + 1n])).toBe(b.newRoot);
    expect(await read("batchRoots", [before])).toBe(oldRoot);
    expect(await read("consumed")).toBe(consumed + BigInt(b.depositCount));
    expect(await read("lastTimestamp")).toBe(b.timestamp);
    lastTimestamp = b.timestamp;
    return receipt;
  };
  const makeBatch = async (chunks: Uint8Array[], depositCount: number, over: Partial<Batch> = {}): Promise<Batch> => ({
    newRoot: BigInt(hex(randomBytes(31))),
    timestamp: await latestTimestamp(),
    depositCount,
    feeTokens: Uint8Array.of(0),
    bitmap: bitmapOf(chunks),
    chunks: concat(...chunks, NOOP_FILLS),
    forcedExits: new Uint8Array(16 * TEST_PARAMS.depositSlots),
    ...over,
  });

  beforeAll(async () => {
    d = await deployTest();
    read = reader(d);
    usdc = d.tokens[0].address;
    // queue: [0] account 0 (constructor), [1] register account 1 (user1, 1 ETH),
    // [2] register account 2 (user2, 2 ETH), [3] deposit 100 USDC to account 2
    await registerAccount(user1, d.rollup, key1, 0, ETHER);
    await registerAccount(user2, d.rollup, key2, 0, 2n * ETHER);
    await fundToken(user2, usdc, d.rollup, 100_000_000n);
    await depositTo(user2, d.rollup, 2, 1, 100_000_000n);
    expect(await read("queueLength")).toBe(4n);
  });

  test("batch 1: the contract's public input equals the reference; a withdrawal is credited to the account's owner", async () => {
    const b = await makeBatch([transferChunk(1, 2, 0, ETHER / 10n, 10n ** 15n), withdrawChunk(1, 0, ETHER / 4n)], 1);
    expect(b.bitmap).toEqual(Uint8Array.of(0x40));
    const receipt = await finalize(b);
    const credits = parseEventLogs({ abi: rollupAbi, logs: receipt.logs, eventName: "WithdrawalCredited" });
    expect(credits.map((c) => c.args)).toEqual([
      { batchNumber: 1n, accountId: 1, owner: user1.account.address, token: 0, amount: ETHER / 4n },
    ]);
    expect(await read("pendingWithdrawal", [user1.account.address, 0])).toBe(ETHER / 4n);
    expect(await read("pendingWithdrawal", [user2.account.address, 0])).toBe(0n);

    // replaying the same batch: oldRoot (and the queue position) moved on, so its public input differs
    await expectRevert(submit(b), "InvalidProof");
  });

  test("a proof for other public inputs is rejected: another data digest, or any other header word", async () => {
    const b = await makeBatch([NOOP, NOOP], 0);
    const { input } = await referenceInput(b);
    // each of the five inputs is bound: a proof that differs in one word only (another old or new
    // root, another queue position) is refused
    for (let i = 0; i < 5; i++) {
      await setExpected(input.map((x, k) => (k === i ? x ^ 1n : x)));
      await expectRevert(submit(b), "InvalidProof");
    }
    await setExpected(input);
    await expectRevert(submit({ ...b, newRoot: b.newRoot + 1n }), "InvalidProof");
    await expectRevert(submit({ ...b, chunks: concat(NOOP, transferChunk(1, 2, 0, 1n), NOOP_FILLS) }), "InvalidProof");
    await expectRevert(submit({ ...b, feeTokens: Uint8Array.of(1) }), "InvalidProof");
  });

  test("batch 2: several withdrawals, several owners; equal timestamps are allowed", async () => {
    const b = await makeBatch([withdrawChunk(1, 0, ETHER / 20n, 1000n), withdrawChunk(2, 0, ETHER / 2n)], 1, {
      timestamp: lastTimestamp,
    });
    expect(b.bitmap).toEqual(Uint8Array.of(0xc0));
    await finalize(b);
    expect(await read("pendingWithdrawal", [user1.account.address, 0])).toBe(ETHER / 4n + ETHER / 20n);
    expect(await read("pendingWithdrawal", [user2.account.address, 0])).toBe(ETHER / 2n);
  });

  test("rejects bad lengths, deposit counts, timestamps, roots and bitmaps", async () => {
    const ok = await makeBatch([NOOP, NOOP], 1);
    await expectRevert(submit({ ...ok, feeTokens: Uint8Array.of(0, 0) }), "BadFeeTokensLength");
    await expectRevert(submit({ ...ok, feeTokens: new Uint8Array(0) }), "BadFeeTokensLength");
    await expectRevert(submit({ ...ok, bitmap: new Uint8Array(2) }), "BadWithdrawBitmapLength");
    await expectRevert(submit({ ...ok, bitmap: new Uint8Array(0) }), "BadWithdrawBitmapLength");
    // chunks and forcedExits lengths of no shape of the deployment (its one: 81 and 16 bytes)
    expect(await expectRevert(submit({ ...ok, chunks: new Uint8Array(29) }), "UnknownShape")).toEqual([29n, 16n]);
    await expectRevert(submit({ ...ok, chunks: new Uint8Array(45) }), "UnknownShape");
    expect(await expectRevert(submit({ ...ok, forcedExits: new Uint8Array(15) }), "UnknownShape")).toEqual([81n, 15n]);
    await expectRevert(submit({ ...ok, forcedExits: new Uint8Array(0) }), "UnknownShape");
    await expectRevert(submit({ ...ok, depositCount: 2 }), "TooManyDeposits");
    await expectRevert(submit({ ...ok, timestamp: lastTimestamp - 1 }), "TimestampBeforePrevious");
    await expectRevert(submit({ ...ok, timestamp: (await latestTimestamp()) + 3600 }), "TimestampInFuture");
    await expectRevert(submit({ ...ok, newRoot: R }), "RootNotInField");

    await expectRevert(read("computePublicInputs", viewArgs({ ...ok, depositCount: 2 })), "TooManyDeposits");
    // the bitmap checks come after proof verification: each case gets its own accepted input
    const withBits = async (chunks: Uint8Array[], bitmap: number) => {
      const b = { ...ok, chunks: concat(...chunks, NOOP_FILLS), bitmap: Uint8Array.of(bitmap) };
      await setExpected((await referenceInput(b)).input);
      return submit(b);
    };
    expect(await expectRevert(withBits([transferChunk(1, 2, 0, 5n), NOOP], 0x80), "NotAWithdrawChunk")).toEqual([0n]);
    expect(await expectRevert(withBits([NOOP, NOOP], 0x40), "NotAWithdrawChunk")).toEqual([1n]);
    expect(await expectRevert(withBits([NOOP, withdrawChunk(1, 0, 1n)], 0x60), "BitmapBitOutOfRange")).toEqual([2n]);
    expect(await expectRevert(withBits([NOOP, withdrawChunk(1, 0, 1n)], 0x41), "BitmapBitOutOfRange")).toEqual([7n]);
    expect(await expectRevert(withBits([withdrawChunk(9, 0, 1n), NOOP], 0x80), "UnknownAccount")).toEqual([9]);
  });

  test("batch 3: ERC-20 withdrawal; batch 4 consumes the last record; the queue cannot be over-consumed", async () => {
    await finalize(await makeBatch([NOOP, withdrawChunk(2, 1, 40_000_000n)], 1));
    expect(await read("pendingWithdrawal", [user2.account.address, 1])).toBe(40_000_000n);
    await finalize(await makeBatch([NOOP, NOOP], 1));
    expect(await read("consumed")).toBe(4n);
    const b = await makeBatch([NOOP, NOOP], 1);
    expect(await expectRevert(submit(b), "DepositsNotQueued")).toEqual([4n, 1n, 4n]);
    // a batch without deposits still finalizes (queueHashBefore = queueHashAfter)
    await finalize({ ...b, depositCount: 0 });
  });

  test("a batch dated more than maxTimestampLag before its block reverts TimestampTooOld; exactly at the bound it finalizes", async () => {
    const lag = await read<number>("maxTimestampLag");
    expect(lag).toBe(DEFAULT_MAX_TIMESTAMP_LAG);
    const chain = createTestClient({ mode: "anvil", transport: http(anvil.rpcUrl) });
    // The chain's clock runs lag + 100 s ahead: batches dated lag + 1 s before the next block are stale.
    const blockTime = (await latestTimestamp()) + lag + 100;
    const stale = await makeBatch([NOOP, NOOP], 0, { timestamp: blockTime - lag - 1 });
    expect(stale.timestamp).toBeGreaterThanOrEqual(lastTimestamp);
    await setExpected((await referenceInput(stale)).input);
    await chain.setNextBlockTimestamp({ timestamp: BigInt(blockTime) });
    expect(await expectRevert(submit(stale), "TimestampTooOld")).toEqual([stale.timestamp, BigInt(blockTime), lag]);

    // the same batch dated exactly maxTimestampLag before the block that finalizes it
    const next = blockTime + 30;
    const edge = { ...stale, timestamp: next - lag };
    await setExpected((await referenceInput(edge)).input);
    expect(await latestTimestamp()).toBeLessThan(next);
    await chain.setNextBlockTimestamp({ timestamp: BigInt(next) });
    const receipt = await mined(operator, await submit(edge));
    expect((await operator.publicClient.getBlock({ blockNumber: receipt.blockNumber })).timestamp).toBe(BigInt(next));
    expect(await read("lastTimestamp")).toBe(edge.timestamp);
    lastTimestamp = edge.timestamp;
  });

  test("claim pays once, to the owner, whoever triggers it", async () => {
    const pending = ETHER / 4n + ETHER / 20n;
    const owner = user1.account.address;
    const balanceBefore = await operator.publicClient.getBalance({ address: owner });
    const heldBefore = await read<bigint>("tokenHeld", [0]);
    const receipt = await mined(user3, await user3.walletClient.writeContract({ address: d.rollup, abi: rollupAbi, functionName: "claim", args: [owner, 0] }));
    const [ev] = parseEventLogs({ abi: rollupAbi, logs: receipt.logs, eventName: "Claimed" });
    expect(ev.args).toEqual({ owner, token: 0, to: owner, amount: pending });
    expect(await operator.publicClient.getBalance({ address: owner })).toBe(balanceBefore + pending);
    expect(await read("pendingWithdrawal", [owner, 0])).toBe(0n);
    expect(await read("tokenHeld", [0])).toBe(heldBefore - pending);
    expect(await expectRevert(
      user3.walletClient.writeContract({ address: d.rollup, abi: rollupAbi, functionName: "claim", args: [owner, 0] }),
      "NothingToClaim",
    )).toEqual([owner, 0]);
    await expectRevert(
      user3.walletClient.writeContract({ address: d.rollup, abi: rollupAbi, functionName: "claim", args: [user3.account.address, 0] }),
      "NothingToClaim",
    );
  });

  test("claimTo pays the caller's own pending ERC-20 withdrawal to another address", async () => {
    const to = user3.account.address;
    const bal = () => operator.publicClient.readContract({ address: usdc, abi: testTokenAbi, functionName: "balanceOf", args: [to] });
    const before = await bal();
    await mined(user2, await user2.walletClient.writeContract({ address: d.rollup, abi: rollupAbi, functionName: "claimTo", args: [1, to] }));
    expect(await bal()).toBe(before + 40_000_000n);
    expect(await read("tokenHeld", [1])).toBe(60_000_000n);
    await expectRevert(
      user2.walletClient.writeContract({ address: d.rollup, abi: rollupAbi, functionName: "claimTo", args: [1, to] }),
      "NothingToClaim",
    );
  });

  test("claim is reentrancy safe: a re-entering owner is paid exactly once", async () => {
    const c = artifact(compiled, "ReentrantClaimer");
    const receipt = await mined(operator, await operator.walletClient.deployContract({ abi: c.abi, bytecode: c.bytecode, args: [d.rollup] }));
    const claimer = getAddress(receipt.contractAddress as Address);
    await mined(user3, await user3.walletClient.writeContract({ address: claimer, abi: c.abi, functionName: "register", args: [key3.ax, key3.ay], value: ETHER }));
    const accountId = (await read<number>("nextAccountId")) - 1;
    expect(await read("accountOwner", [accountId])).toBe(claimer);
    await finalize(await makeBatch([NOOP, withdrawChunk(accountId, 0, (7n * ETHER) / 10n)], 1));

    const rollupBefore = await operator.publicClient.getBalance({ address: d.rollup });
    await mined(user3, await user3.walletClient.writeContract({ address: d.rollup, abi: rollupAbi, functionName: "claim", args: [claimer, 0] }));
    const get = (functionName: string) => operator.publicClient.readContract({ address: claimer, abi: c.abi, functionName });
    expect(await get("received")).toBe((7n * ETHER) / 10n);
    expect(await get("reentryAttempts")).toBe(1n);
    expect(await get("reentrySucceeded")).toBe(false);
    expect(await get("reentryError")).toBe(encodeErrorResult({ abi: rollupAbi, errorName: "Reentrancy" }));
    expect(await operator.publicClient.getBalance({ address: claimer })).toBe((7n * ETHER) / 10n);
    expect(await operator.publicClient.getBalance({ address: d.rollup })).toBe(rollupBefore - (7n * ETHER) / 10n);
    await expectRevert(
      user3.walletClient.writeContract({ address: d.rollup, abi: rollupAbi, functionName: "claim", args: [claimer, 0] }),
      "NothingToClaim",
    );
  });
});


// ------------------------------------------------------------------ batch shapes (PROTOCOL.md §5.5)

/** The test deployment's shape: chunks 2·15 + 51 = 81 bytes, forcedExits 16, bitmap 1 byte. */
const SHAPE_A: Shape = { depositSlots: 1, l2Slots: 2, fillSlots: 1 };
/** No L2 slot, two L1 slots: chunks 51 bytes, forcedExits 32, no bitmap. */
const SHAPE_B: Shape = { depositSlots: 2, l2Slots: 0, fillSlots: 1 };
/** No L1 slot, nine L2 slots: chunks 135 bytes, forcedExits 0, bitmap 2 bytes. */
const SHAPE_C: Shape = { depositSlots: 0, l2Slots: 9, fillSlots: 0 };
const chunksBytes = (s: Shape): number => 15 * s.l2Slots + 51 * s.fillSlots;

/** The custom error a Rollup deployment with these constructor arguments reverts with (eth_call, nothing sent). */
async function constructorRevert(args: readonly unknown[]): Promise<{ errorName: string; args: readonly unknown[] }> {
  const data = encodeDeployData({ abi: rollupAbi as Abi, bytecode: artifact(compiled, "Rollup").bytecode, args: args as unknown[] });
  try {
    await operator.publicClient.call({ account: operator.account, data });
  } catch (e) {
    const withData = e instanceof BaseError ? e.walk((x) => typeof (x as { data?: unknown }).data === "string") : null;
    const raw = (withData as { data?: Hex } | null)?.data;
    if (!raw) throw e;
    const decoded = decodeErrorResult({ abi: rollupAbi, data: raw });
    return { errorName: decoded.errorName, args: decoded.args ?? [] };
  }
  throw new Error("the constructor did not revert");
}

describe("batch shapes (three shapes, an AcceptingVerifier each)", () => {
  let d: ModexDeployment;
  let read: ReturnType<typeof reader>;

  const verifierOf = (s: Shape): Address => {
    const v = d.verifiers.find((x) => shapeKey(x.shape) === shapeKey(s));
    if (!v) throw new Error(`no verifier for ${shapeKey(s)}`);
    return v.address;
  };
  const setExpected = async (s: Shape, input: readonly bigint[]): Promise<void> => {
    await mined(operator, await operator.walletClient.writeContract({ address: verifierOf(s), abi: artifact(compiled, "AcceptingVerifier").abi, functionName: "setExpectedInputs", args: [input as Inputs] }));
  };
  const latestTimestamp = async (): Promise<number> => Number((await operator.publicClient.getBlock()).timestamp);
  /** The public inputs per the TS reference (§5.2: the same layout for every shape, its own lengths). */
  const referenceInput = async (b: Batch): Promise<bigint[]> => {
    const consumed = await read<bigint>("consumed");
    return publicInputsOf(
      buildPubdata(
        {
          oldRoot: await read<bigint>("stateRoot"),
          newRoot: b.newRoot,
          queueHashBefore: await read<bigint>("queueHash", [consumed]),
          queueHashAfter: await read<bigint>("queueHash", [consumed + BigInt(b.depositCount)]),
          chainId: anvil.chainId,
          timestamp: b.timestamp,
          rollup: d.rollup,
        },
        b.feeTokens,
        b.bitmap,
        b.chunks,
        b.forcedExits,
      ),
    );
  };
  /** A batch of shape `s`: the given L2 chunks padded with noops to N, M empty fill chunks, D zero exit amounts. */
  const makeBatch = async (s: Shape, l2: Uint8Array[], depositCount: number, over: Partial<Batch> = {}): Promise<Batch> => {
    const slots = [...l2, ...Array.from({ length: s.l2Slots - l2.length }, () => NOOP)];
    return {
      newRoot: BigInt(hex(randomBytes(31))),
      timestamp: await latestTimestamp(),
      depositCount,
      feeTokens: Uint8Array.of(0),
      bitmap: bitmapOf(slots),
      chunks: concat(...slots, new Uint8Array(51 * s.fillSlots)),
      forcedExits: new Uint8Array(16 * s.depositSlots),
      ...over,
    };
  };
  const submit = (b: Batch) => operator.walletClient.writeContract({ address: d.rollup, abi: rollupAbi, functionName: "submitBatch", args: batchArgs(b) });
  /** Sets shape s's verifier to accept exactly the reference input, submits, checks the new root. */
  const finalize = async (s: Shape, b: Batch): Promise<TransactionReceipt> => {
    const input = await referenceInput(b);
    expect(await read("computePublicInputs", viewArgs(b))).toEqual(input);
    await setExpected(s, input);
    const receipt = await mined(operator, await submit(b));
    expect(await read("stateRoot")).toBe(b.newRoot);
    return receipt;
  };

  beforeAll(async () => {
    d = await deployModex({
      rpcUrl: anvil.rpcUrl,
      privateKey: ANVIL_DEV_PRIVATE_KEYS[0],
      shapes: [SHAPE_A, SHAPE_B, SHAPE_C].map((shape) => ({ shape, verifierSource: ACCEPTING_VERIFIER, verifierContract: "AcceptingVerifier" })),
      extraSources: EXTRA_FIXTURES,
      params: { ...TEST_PARAMS, shapes: [SHAPE_A, SHAPE_B, SHAPE_C] },
      genesisRoot: GENESIS_ROOT,
      operatorKey,
    });
    read = reader(d);
    // queue: [0] account 0 (constructor), [1] account 1 (user1, 1 ETH), [2] account 2 (user2, 2 ETH)
    await registerAccount(user1, d.rollup, key1, 0, ETHER);
    await registerAccount(user2, d.rollup, key2, 0, 2n * ETHER);
  });

  test("shapes() lists the shapes with their own verifiers; shapeOf finds each by its lengths; params() holds what they share", async () => {
    expect(d.verifiers.map((v) => v.shape)).toEqual([SHAPE_A, SHAPE_B, SHAPE_C]);
    expect(new Set(d.verifiers.map((v) => v.address)).size).toBe(3);
    expect(d.verifier).toBe(d.verifiers[0].address);
    expect(d.params.shapes).toEqual([SHAPE_A, SHAPE_B, SHAPE_C]);
    expect(await read("shapes")).toEqual(d.verifiers.map((v) => ({ verifier: v.address, ...v.shape })));
    expect(await read("params")).toEqual({ accountLevels: 2, balanceLevels: 1, feeBuckets: 1 });
    for (const v of d.verifiers) {
      expect(await read("shapeOf", [BigInt(chunksBytes(v.shape)), BigInt(16 * v.shape.depositSlots)])).toEqual({ verifier: v.address, ...v.shape });
    }
    expect(await expectRevert(read("shapeOf", [81n, 32n]), "UnknownShape")).toEqual([81n, 32n]); // A's chunks, B's forcedExits
    expect(await expectRevert(read("shapeOf", [51n, 16n]), "UnknownShape")).toEqual([51n, 16n]);
    await expectRevert(read("shapeOf", [(1n << 128n) + 81n, 16n]), "UnknownShape"); // no alias past 2^128
  });

  test("the sequencer's check (sequencer/l1.ts) reads params() and shapes() and names both sets when they differ", async () => {
    const l1 = await connectRollup({ rpcUrl: anvil.rpcUrl, rollup: d.rollup, privateKey: ANVIL_DEV_PRIVATE_KEYS[0] });
    expect(await rollupParams(l1)).toEqual({ accountLevels: 2, balanceLevels: 1, ...SHAPE_A, feeBuckets: 1, shapes: [SHAPE_A, SHAPE_B, SHAPE_C] });
    const configured = { ...TEST_PARAMS, orderLevels: 1, shapes: [SHAPE_A, SHAPE_B, SHAPE_C] };
    await checkRollupParams(l1, configured);
    const onChain = "accountLevels 2, balanceLevels 1, feeBuckets 1, shapes d1-n2-m1, d2-n0-m1, d0-n9-m0";
    await expect(checkRollupParams(l1, { ...configured, shapes: [SHAPE_A, SHAPE_C, SHAPE_B] })).rejects.toThrow(
      `Rollup ${d.rollup} was built for ${onChain}; the configured parameters are accountLevels 2, balanceLevels 1, feeBuckets 1, shapes d1-n2-m1, d0-n9-m0, d2-n0-m1`,
    );
    await expect(checkRollupParams(l1, { ...configured, shapes: undefined })).rejects.toThrow("the configured parameters are accountLevels 2, balanceLevels 1, feeBuckets 1, shapes d1-n2-m1");
    await expect(checkRollupParams(l1, { ...configured, feeBuckets: 2 })).rejects.toThrow(`built for ${onChain}; the configured parameters are accountLevels 2, balanceLevels 1, feeBuckets 2,`);
  });

  test("a batch of each shape finalizes with that shape's lengths, verified by that shape's verifier only", async () => {
    // B: two L1 slots (the constructor's record and account 1), no bitmap, no L2 chunks
    const b = await makeBatch(SHAPE_B, [], 2);
    expect([b.bitmap.length, b.chunks.length, b.forcedExits.length]).toEqual([0, 51, 32]);
    const input = await referenceInput(b);
    await setExpected(SHAPE_A, input); // another shape's verifier accepting this input does not help
    await setExpected(SHAPE_C, input);
    await expectRevert(submit(b), "InvalidProof");
    await finalize(SHAPE_B, b);
    expect(await read("consumed")).toBe(2n);
    // A: one L1 slot (account 2) and a transfer
    await finalize(SHAPE_A, await makeBatch(SHAPE_A, [transferChunk(1, 2, 0, ETHER / 10n)], 1));
    // C: no L1 slot, nine L2 slots
    const c = await makeBatch(SHAPE_C, [transferChunk(2, 1, 0, 5n), NOOP, transferChunk(1, 2, 0, 7n)], 0);
    expect([c.bitmap.length, c.chunks.length, c.forcedExits.length]).toEqual([2, 135, 0]);
    const receipt = await finalize(SHAPE_C, c);
    const [ev] = parseEventLogs({ abi: rollupAbi, logs: receipt.logs, eventName: "BatchFinalized" });
    expect(ev.args).toMatchObject({ batchNumber: 3n, newRoot: c.newRoot, depositCount: 0 });
    expect(await read("consumed")).toBe(3n);
  });

  test("lengths of no shape revert UnknownShape; the bitmap length and the deposit count are checked against the batch's shape", async () => {
    const a = await makeBatch(SHAPE_A, [], 0);
    const b = await makeBatch(SHAPE_B, [], 0);
    const c = await makeBatch(SHAPE_C, [], 0);
    expect(await expectRevert(submit({ ...a, forcedExits: b.forcedExits }), "UnknownShape")).toEqual([81n, 32n]);
    expect(await expectRevert(submit({ ...b, forcedExits: a.forcedExits }), "UnknownShape")).toEqual([51n, 16n]);
    expect(await expectRevert(submit({ ...c, forcedExits: a.forcedExits }), "UnknownShape")).toEqual([135n, 16n]);
    expect(await expectRevert(submit({ ...a, chunks: concat(a.chunks, NOOP) }), "UnknownShape")).toEqual([96n, 16n]);
    await expectRevert(read("computePublicInputs", viewArgs({ ...a, forcedExits: new Uint8Array(0) })), "UnknownShape");
    await expectRevert(read("computePubdata", viewArgs({ ...c, forcedExits: new Uint8Array(48) })), "UnknownShape");

    expect(await expectRevert(submit({ ...c, bitmap: new Uint8Array(1) }), "BadWithdrawBitmapLength")).toEqual([1n, 2n]);
    expect(await expectRevert(submit({ ...b, bitmap: new Uint8Array(1) }), "BadWithdrawBitmapLength")).toEqual([1n, 0n]);
    expect(await expectRevert(submit({ ...a, bitmap: new Uint8Array(2) }), "BadWithdrawBitmapLength")).toEqual([2n, 1n]);
    // C has no L1 slot; B has two
    expect(await expectRevert(submit({ ...c, depositCount: 1 }), "TooManyDeposits")).toEqual([1n, 0n]);
    expect(await expectRevert(read("computePublicInputs", viewArgs({ ...b, depositCount: 3 })), "TooManyDeposits")).toEqual([3n, 2n]);
  });

  test("withdrawals are credited by the shape's N: slot 8 of the nine-slot shape; bits past each shape's N are out of range", async () => {
    const owner = user1.account.address;
    const before = await read<bigint>("pendingWithdrawal", [owner, 0]);
    const slots = [...Array.from({ length: 8 }, () => NOOP), withdrawChunk(1, 0, ETHER / 10n)];
    const b = await makeBatch(SHAPE_C, slots, 0);
    expect(b.bitmap).toEqual(Uint8Array.of(0x00, 0x80));
    const receipt = await finalize(SHAPE_C, b);
    const credits = parseEventLogs({ abi: rollupAbi, logs: receipt.logs, eventName: "WithdrawalCredited" });
    expect(credits.map((c) => c.args)).toEqual([{ batchNumber: 4n, accountId: 1, owner, token: 0, amount: ETHER / 10n }]);
    expect(await read("pendingWithdrawal", [owner, 0])).toBe(before + ETHER / 10n);

    // bit 9 of C's 2-byte bitmap, and bit 2 of A's 1-byte bitmap, name no slot (the checks follow the proof)
    const withBits = async (s: Shape, l2: Uint8Array[], bitmap: Uint8Array) => {
      const x = await makeBatch(s, l2, 0, { bitmap });
      await setExpected(s, await referenceInput(x));
      return submit(x);
    };
    expect(await expectRevert(withBits(SHAPE_C, slots, Uint8Array.of(0x00, 0xc0)), "BitmapBitOutOfRange")).toEqual([9n]);
    expect(await expectRevert(withBits(SHAPE_A, [NOOP, withdrawChunk(1, 0, 1n)], Uint8Array.of(0x60)), "BitmapBitOutOfRange")).toEqual([2n]);
  });

  test("forced exits are processed by the shape's D: one batch of the two-L1-slot shape credits two forced withdrawals; deadlines count the largest D", async () => {
    const request = async (c: L1Clients, accountId: number) => {
      const receipt = await mined(c, await c.walletClient.writeContract({ address: d.rollup, abi: rollupAbi, functionName: "requestForcedWithdrawal", args: [accountId, 0] }));
      const [ev] = parseEventLogs({ abi: rollupAbi, logs: receipt.logs, eventName: "ForcedWithdrawalRequested" });
      return { receipt, ev: ev.args };
    };
    expect(await read("queueLength")).toBe(await read("consumed"));
    const r1 = await request(user1, 1); // queue index 3, nothing ahead
    const r2 = await request(user2, 2); // queue index 4, one record ahead: ⌊1 / 2⌋ = 0 batches more (D = 2, B's)
    expect([r1.ev.queueIndex, r2.ev.queueIndex]).toEqual([3n, 4n]);
    expect(r1.ev.deadline).toBe(r1.receipt.blockNumber + 100n);
    expect(r2.ev.deadline).toBe(r2.receipt.blockNumber + 100n);

    const [owner1, owner2] = [user1.account.address, user2.account.address];
    const [before1, before2] = [await read<bigint>("pendingWithdrawal", [owner1, 0]), await read<bigint>("pendingWithdrawal", [owner2, 0])];
    const [x1, x2] = [ETHER / 2n, ETHER + 3n];
    const b = await makeBatch(SHAPE_B, [], 2, { forcedExits: concat(be(x1, 16), be(x2, 16)) });
    const receipt = await finalize(SHAPE_B, b);
    const processed = parseEventLogs({ abi: rollupAbi, logs: receipt.logs, eventName: "ForcedWithdrawalProcessed" });
    expect(processed.map((e) => e.args)).toEqual([
      { forcedId: 0n, batchNumber: 5n, amount: x1 },
      { forcedId: 1n, batchNumber: 5n, amount: x2 },
    ]);
    expect(await read("pendingWithdrawal", [owner1, 0])).toBe(before1 + x1);
    expect(await read("pendingWithdrawal", [owner2, 0])).toBe(before2 + x2);
    expect(await read("nextForced")).toBe(2n);
    expect(await read("openForcedRequest", [1, 0])).toEqual([false, 0n]);
  });

  test("the constructor refuses no shapes, more than 16, a shape without slots, a count above 65536, no shape with an L1 slot, a verifier without code, and two shapes with the same lengths", async () => {
    const v = d.verifier;
    const sh = (D: number, N: number, M: number, verifier: Address = v) => ({ verifier, depositSlots: D, l2Slots: N, fillSlots: M });
    const args = (shapes: ReturnType<typeof sh>[]) =>
      [d.poseidon4, d.poseidon5, d.poseidon8, { accountLevels: 2, balanceLevels: 1, feeBuckets: 1 }, GENESIS_ROOT, operatorKey.ax, operatorKey.ay, 100, 3600, shapes] as const;
    const refused = (shapes: ReturnType<typeof sh>[]) => constructorRevert(args(shapes));
    expect(await refused([])).toEqual({ errorName: "InvalidParams", args: [] });
    expect((await refused(Array.from({ length: 17 }, (_, i) => sh(1, i + 1, 0)))).errorName).toBe("InvalidParams");
    expect((await refused([sh(1, 2, 1), sh(0, 0, 0)])).errorName).toBe("InvalidParams");
    expect((await refused([sh(1, 65537, 0)])).errorName).toBe("InvalidParams");
    expect((await refused([sh(0, 2, 1), sh(0, 9, 0)])).errorName).toBe("InvalidParams");
    expect(await refused([sh(1, 2, 1), sh(1, 0, 1, user1.account.address)])).toEqual({ errorName: "NotAContract", args: [user1.account.address] });
    expect(await refused([sh(1, 2, 1), sh(1, 2, 1)])).toEqual({ errorName: "DuplicateShape", args: [1n] });
    // 17 L2 chunks and 5 fill chunks are both 255 bytes: with the same D the contract could not tell them apart
    expect(await refused([sh(1, 2, 1), sh(1, 17, 0), sh(1, 0, 5)])).toEqual({ errorName: "DuplicateShape", args: [2n] });
    // ... with different D it can (forcedExits 16 vs 32 bytes); 16 shapes, zero slots of a type, are fine
    const ok = [sh(1, 17, 0), sh(2, 0, 5), ...Array.from({ length: 14 }, (_, i) => sh(0, 20 + i, 0))];
    const receipt = await mined(operator, await operator.walletClient.deployContract({ abi: rollupAbi, bytecode: artifact(compiled, "Rollup").bytecode, args: args(ok) }));
    const rollup = getAddress(receipt.contractAddress as Address);
    const shapes = await operator.publicClient.readContract({ address: rollup, abi: rollupAbi, functionName: "shapes" });
    expect(shapes).toEqual(ok);
    expect(await operator.publicClient.readContract({ address: rollup, abi: rollupAbi, functionName: "shapeOf", args: [255n, 32n] })).toEqual(ok[1]);
  });
});

// ------------------------------------------------------------------ real Groth16 verifier, gas

interface BatchPublicInputsCircuit {
  /** The generated Groth16 verifier, written out as snarkjs/setup would (deployModex reads the path). */
  readonly verifierPath: string;
  prove(inputs: readonly bigint[]): Promise<{ proof: SnarkjsGroth16Proof; publicSignals: string[] }>;
  readonly vk: unknown;
}

/**
 * Builds the TEST-ONLY circuit with the batch's five public inputs, a throwaway trusted setup and its Solidity verifier.
 * Another `entropy` gives another key, hence another verifier (the stand-in for another shape's circuit).
 */
async function buildBatchPublicInputsCircuit(dir: string, entropy = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"): Promise<BatchPublicInputsCircuit> {
  const circom = require.resolve("circom2/cli.js");
  execFileSync(process.execPath, [circom, join(FIXTURES, "batch_public_inputs.circom"), "--r1cs", "--wasm", "-o", dir], {
    stdio: "pipe",
  });
  const curve = await snarkjs.curves.getCurveFromName("bn128");
  const [p0, p1, p2, z0, z1] = [{ type: "mem" }, { type: "mem" }, { type: "mem" }, { type: "mem" }, { type: "mem" }];
  await snarkjs.powersOfTau.newAccumulator(curve, 4, p0); // 2^4 ≥ 5 constraints + 5 public inputs + 1
  await snarkjs.powersOfTau.beacon(p0, p1, "test", entropy, 10);
  await snarkjs.powersOfTau.preparePhase2(p1, p2);
  await snarkjs.zKey.newZKey(join(dir, "batch_public_inputs.r1cs"), p2, z0);
  await snarkjs.zKey.beacon(z0, z1, "test", entropy, 10);
  const templates = { groth16: readFileSync(join(dirname(require.resolve("snarkjs")), "..", "templates", "verifier_groth16.sol.ejs"), "utf8") };
  const verifierSource = (await snarkjs.zKey.exportSolidityVerifier(z1, templates)) as string;
  const verifierPath = join(dir, "Verifier.sol");
  writeFileSync(verifierPath, verifierSource);
  const vk: unknown = await snarkjs.zKey.exportVerificationKey(z1);
  const wasm = join(dir, "batch_public_inputs_js", "batch_public_inputs.wasm");
  return {
    verifierPath,
    vk,
    prove: async (inputs) =>
      (await snarkjs.groth16.fullProve({ x: inputs.map(String) }, wasm, z1)) as {
        proof: SnarkjsGroth16Proof;
        publicSignals: string[];
      },
  };
}

describe("real Groth16 verifier (a test circuit with the batch's five public inputs) and gas", () => {
  let circuit: BatchPublicInputsCircuit;
  let tmp: string;
  const gas: Record<string, number> = {};

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), "modex-contracts-test-"));
    circuit = await buildBatchPublicInputsCircuit(tmp);
  });
  afterAll(async () => {
    rmSync(tmp, { recursive: true, force: true });
    const g = globalThis as { curve_bn128?: { terminate(): Promise<void> } };
    await g.curve_bn128?.terminate();
    if (Object.keys(gas).length > 0) console.log(`submitBatch gas:\n${JSON.stringify(gas, null, 2)}`);
  });

  async function deployReal(params: RollupParams) {
    const d = await deployModex({
      rpcUrl: anvil.rpcUrl,
      privateKey: ANVIL_DEV_PRIVATE_KEYS[0],
      verifierSource: circuit.verifierPath,
      params,
      genesisRoot: GENESIS_ROOT,
      operatorKey,
    });
    const read = reader(d);
    /** Proves, submits, returns the receipt (gas via eth_estimateGas through the Rollup). */
    const prove = async (b: Batch): Promise<SolidityProof> => {
      const consumed = await read<bigint>("consumed");
      const input = publicInputsOf(
        buildPubdata(
          {
            oldRoot: await read<bigint>("stateRoot"),
            newRoot: b.newRoot,
            queueHashBefore: await read<bigint>("queueHash", [consumed]),
            queueHashAfter: await read<bigint>("queueHash", [consumed + BigInt(b.depositCount)]),
            chainId: anvil.chainId,
            timestamp: b.timestamp,
            rollup: d.rollup,
          },
          b.feeTokens,
          b.bitmap,
          b.chunks,
          b.forcedExits,
        ),
      );
      expect(await read("computePublicInputs", viewArgs(b))).toEqual(input);
      const { proof, publicSignals } = await circuit.prove(input);
      expect(publicSignals).toEqual(input.map(String));
      return proofToSolidity(proof);
    };
    const submit = async (b: Batch, proof: SolidityProof) =>
      operator.walletClient.writeContract({ address: d.rollup, abi: rollupAbi, functionName: "submitBatch", args: batchArgs(b, proof) });
    const batch = async (chunks: Uint8Array[], depositCount: number): Promise<Batch> => ({
      newRoot: BigInt(hex(randomBytes(31))),
      timestamp: Number((await operator.publicClient.getBlock()).timestamp),
      depositCount,
      feeTokens: Uint8Array.from({ length: params.feeBuckets }, (_, i) => i),
      bitmap: bitmapOf(chunks),
      chunks: concat(...chunks, new Uint8Array(51 * params.fillSlots)),
      forcedExits: new Uint8Array(16 * params.depositSlots),
    });
    const finalize = async (b: Batch): Promise<TransactionReceipt> => mined(operator, await submit(b, await prove(b)));
    return { d, read, prove, submit, batch, finalize };
  }

  test("proofToSolidity matches snarkjs' exportSolidityCallData", async () => {
    const { proof, publicSignals } = await circuit.prove([12345n, 1n, 2n, 3n, 4n]);
    expect(await snarkjs.groth16.verify(circuit.vk, publicSignals, proof)).toBe(true);
    const calldata = JSON.parse(`[${await snarkjs.groth16.exportSolidityCallData(proof, publicSignals)}]`) as [
      string[],
      string[][],
      string[],
      string[],
    ];
    const [a, b, c] = calldata;
    expect(proofToSolidity(proof)).toEqual([...a, ...b[0], ...b[1], ...c].map((x) => BigInt(x)));
  });

  test("batches with real proofs finalize; tampered proofs are rejected", async () => {
    const { d, read, prove, submit, batch, finalize } = await deployReal(TEST_PARAMS);
    await registerAccount(user1, d.rollup, key1, 0, ETHER);
    const b = await batch([transferChunk(0, 1, 0, 5n), withdrawChunk(1, 0, ETHER / 2n)], 1);
    const proof = await prove(b);
    const tampered = [...proof] as unknown as [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];
    tampered[6] = (tampered[6] + 1n) % (R - 1n); // c.x: no longer the same point (may be off-curve)
    await expectRevert(submit(b, tampered), "InvalidProof");
    const swapped = [...proof] as unknown as [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];
    [swapped[2], swapped[3]] = [swapped[3], swapped[2]]; // B coordinates in snarkjs' storage order
    await expectRevert(submit(b, swapped), "InvalidProof");
    await expectRevert(submit({ ...b, newRoot: b.newRoot + 1n }, proof), "InvalidProof");
    await mined(operator, await submit(b, proof));
    expect(await read("stateRoot")).toBe(b.newRoot);
    expect(await read("pendingWithdrawal", [user1.account.address, 0])).toBe(ETHER / 2n);
    await finalize(await batch([NOOP, NOOP], 0));
  });

  test("two shapes, two real verifiers: a real proof verifies only under its own shape's verifier", async () => {
    // A batch's shape is not something the submitter names: the contract looks its verifier up from the
    // batch's own (chunks, forcedExits) lengths, and those lengths are part of the pubdata the public
    // input hashes. A proof made for a batch of shape A can only be submitted with A's lengths, so it is
    // checked by A's verifier; given B's lengths the batch is another pubdata (another public input)
    // checked by B's verifier, whose key no proof of A's circuit satisfies. Real batch circuits (one per
    // shape, each ≈ 1 min to compile plus its setup here) would show the same with two proofs nobody can
    // forge; two throwaway setups of the five-public-input circuit show it with real Groth16 keys.
    const otherDir = mkdtempSync(join(tmpdir(), "modex-contracts-test-b-"));
    try {
      const other = await buildBatchPublicInputsCircuit(otherDir, "2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40");
      const shapeB: Shape = { depositSlots: 1, l2Slots: 0, fillSlots: 1 };
      const d = await deployModex({
        rpcUrl: anvil.rpcUrl,
        privateKey: ANVIL_DEV_PRIVATE_KEYS[0],
        // both sources declare `contract Groth16Verifier`: deployModex compiles them as two source units
        shapes: [
          { shape: SHAPE_A, verifierSource: circuit.verifierPath },
          { shape: shapeB, verifierSource: other.verifierPath },
        ],
        params: TEST_PARAMS,
        genesisRoot: GENESIS_ROOT,
        operatorKey,
      });
      expect(d.verifiers.map((v) => v.shape)).toEqual([SHAPE_A, shapeB]);
      expect(d.verifiers[0].address).not.toBe(d.verifiers[1].address);
      const read = reader(d);
      await registerAccount(user1, d.rollup, key1, 0, ETHER);
      const proveWith = async (c: BatchPublicInputsCircuit, b: Batch): Promise<SolidityProof> => {
        const input = await read<readonly bigint[]>("computePublicInputs", viewArgs(b));
        const { proof, publicSignals } = await c.prove(input);
        expect(publicSignals).toEqual(input.map(String));
        return proofToSolidity(proof);
      };
      const submit = async (b: Batch, proof: SolidityProof) =>
        operator.walletClient.writeContract({ address: d.rollup, abi: rollupAbi, functionName: "submitBatch", args: batchArgs(b, proof) });
      const batchOf = async (s: Shape, l2: Uint8Array[], depositCount: number): Promise<Batch> => ({
        newRoot: BigInt(hex(randomBytes(31))),
        timestamp: Number((await operator.publicClient.getBlock()).timestamp),
        depositCount,
        feeTokens: Uint8Array.of(0),
        bitmap: bitmapOf(l2),
        chunks: concat(...l2, new Uint8Array(51 * s.fillSlots)),
        forcedExits: new Uint8Array(16 * s.depositSlots),
      });

      const b = await batchOf(shapeB, [], 1);
      await expectRevert(submit(b, await proveWith(circuit, b)), "InvalidProof"); // A's key, B's batch
      await mined(operator, await submit(b, await proveWith(other, b)));
      expect(await read("stateRoot")).toBe(b.newRoot);
      const a = await batchOf(SHAPE_A, [NOOP, withdrawChunk(1, 0, ETHER / 4n)], 1);
      await expectRevert(submit(a, await proveWith(other, a)), "InvalidProof"); // B's key, A's batch
      await mined(operator, await submit(a, await proveWith(circuit, a)));
      expect(await read("stateRoot")).toBe(a.newRoot);
      expect(await read("pendingWithdrawal", [user1.account.address, 0])).toBe(ETHER / 4n);
    } finally {
      rmSync(otherDir, { recursive: true, force: true });
    }
  });

  test("gas of the L1 queue and claims", async () => {
    const { d, finalize, batch } = await deployReal(TEST_PARAMS);
    const usdc = d.tokens[0].address;
    const w = user1.walletClient;
    const used = async (p: Promise<Hex>): Promise<number> => Number((await mined(user1, await p)).gasUsed);
    gas["register (ETH)"] = await used(w.writeContract({ address: d.rollup, abi: rollupAbi, functionName: "register", args: [key1.ax, key1.ay, 0, ETHER], value: ETHER }));
    gas["deposit ETH"] = await used(w.writeContract({ address: d.rollup, abi: rollupAbi, functionName: "deposit", args: [1, 0, ETHER], value: ETHER }));
    await fundToken(user1, usdc, d.rollup, 10n ** 12n);
    gas["deposit ERC-20"] = await used(w.writeContract({ address: d.rollup, abi: rollupAbi, functionName: "deposit", args: [1, 1, 10n ** 6n] }));
    await finalize(await batch([withdrawChunk(1, 0, ETHER / 2n), NOOP], 1));
    gas["claim ETH"] = await used(w.writeContract({ address: d.rollup, abi: rollupAbi, functionName: "claim", args: [user1.account.address, 0] }));
  });

  test("gas per submitBatch (production parameters, real verifier)", async () => {
    const measure = async (label: string, params: RollupParams) => {
      const r = await deployReal(params);
      const N = params.l2Slots;
      // D registrations so batches can consume deposits, then a warm-up batch (first-write costs)
      for (let i = 0; i < params.depositSlots; i++) {
        const k = testKey(1000n + BigInt(i));
        await registerAccount(user2, r.d.rollup, k, 0, ETHER);
      }
      await r.finalize(await r.batch(Array.from({ length: N }, () => NOOP), 1));
      const transfers = () => Array.from({ length: N }, randomTransferChunk);
      const withOneWithdrawal = transfers();
      withOneWithdrawal[N - 1] = withdrawChunk(1, 0, ETHER / 1000n);
      const run = async (name: string, chunks: Uint8Array[], depositCount: number) => {
        const receipt = await r.finalize(await r.batch(chunks, depositCount));
        const tx = await operator.publicClient.getTransaction({ hash: receipt.transactionHash });
        const bytes = Buffer.from(tx.input.slice(2), "hex");
        const calldataGas = bytes.reduce((g, b) => g + (b === 0 ? 4 : 16), 0);
        gas[`${label} ${name}`] = Number(receipt.gasUsed);
        return { total: Number(receipt.gasUsed), execution: Number(receipt.gasUsed) - calldataGas };
      };
      return {
        empty: await run("empty (N noops, 0 deposits)", Array.from({ length: N }, () => NOOP), 0),
        transfers: await run(`${N} transfers`, transfers(), 0),
        withdrawal: await run(`${N - 1} transfers + 1 withdrawal (new pending slot)`, withOneWithdrawal, 0),
        deposits: await run(`${N} transfers + ${params.depositSlots - 1} deposits`, transfers(), params.depositSlots - 1),
      };
    };
    const N = PRODUCTION_PARAMS.l2Slots;
    const prod = await measure(`N=${N}`, PRODUCTION_PARAMS);
    const half = await measure(`N=${N / 2}`, { ...PRODUCTION_PARAMS, l2Slots: N / 2 });
    // Random proofs and roots make calldata gas vary by a few zero bytes per batch; take the execution
    // slope between N and N/2 transfer batches and add the calldata of a chunk without zero bytes (15 × 16).
    const perTransferChunk = 15 * 16 + (prod.transfers.execution - half.transfers.execution) / (N / 2);
    const fixed = prod.transfers.total - perTransferChunk * N;
    gas["gas per transfer chunk (15 non-zero calldata bytes + marginal execution)"] = perTransferChunk;
    gas[`fixed gas per batch (N=${N} transfer batch minus N × per-chunk)`] = Math.round(fixed);
    gas["extra for 1 withdrawal (new pending slot)"] = prod.withdrawal.total - prod.transfers.total;
    gas[`extra for ${PRODUCTION_PARAMS.depositSlots - 1} deposits`] = prod.deposits.total - prod.transfers.total;
    expect(fixed).toBeLessThanOrEqual(300_000);
    expect(perTransferChunk).toBeLessThanOrEqual(250);
  });
});
