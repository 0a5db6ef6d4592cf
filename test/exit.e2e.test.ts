/**
 * A user's whole story against a real sequencer (prover pool, real proofs, anvil), then without it:
 * trades, a transfer and a withdrawal are finalized; a forced withdrawal is processed by the sequencer
 * in time and claimed; `modex audit` of that history (every operation type, the forced exit included)
 * passes; the operator stops; a forced request is ignored past its deadline; `modex exit` rebuilds the
 * state from the chain alone, freezes the rollup, exits every balance, refunds the queued deposit and
 * pays the owner exactly what the sequencer last showed; a second exit is refused.
 */
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { erc20Abi, type Hex } from "viem";
import { CONFIGS, State, generatePrivateKey, initCrypto, publicKeyOf, signMessage, txMessage, type L2Tx } from "../core";
import { MAX_U32 } from "../core/field";
import { startAnvil, ANVIL_DEV_PRIVATE_KEYS, type AnvilInstance } from "../chain/anvil";
import { deployModex, type ModexDeployment } from "../contracts/deploy";
import { connectL1, type L1Clients } from "../contracts/clients";
import { rollupAbi } from "../contracts/abi";
import { releaseSnarkjsCurve } from "../prover/keys";
import { createProverPool, type ProverPool } from "../prover/pool";
import { serve, type RunningApi } from "../sequencer/api";
import { silentLogger } from "../sequencer/log";
import { createSequencer, type Sequencer } from "../sequencer/sequencer";
import { orderToWire, txToWire } from "../sequencer/wire";
import { createApiClient } from "../cli/api-client";
import { modex } from "./helpers/cli";
import { testCircuitKeys } from "./helpers/keys";
import { mineBlocks } from "./helpers/escape";
import { stalledProver } from "./helpers/provers";
import { OrderSigner, registerTrader } from "./helpers/trading";
import { allFinalized, until } from "./helpers/devchain";
import { checkInvariants } from "./helpers/invariants";

jest.setTimeout(900_000);

const P = CONFIGS.test;
const DEADLINE_BLOCKS = 20;
const ETHER = 10n ** 18n;
const zero = { r8x: 0n, r8y: 0n, s: 0n };

let anvil: AnvilInstance;
let dep: ModexDeployment;
let reader: L1Clients;
let tmp: string;
let pool: ProverPool | undefined;
let seq: Sequencer | undefined;
let api: RunningApi | undefined;

beforeAll(async () => {
  await initCrypto();
  tmp = mkdtempSync(path.join(os.tmpdir(), "modex-exit-"));
  anvil = await startAnvil({ port: 0 });
  const { keys } = await testCircuitKeys();
  dep = await deployModex({
    rpcUrl: anvil.rpcUrl, verifierSource: keys.verifierPath, params: P, genesisRoot: new State(P).root,
    operatorKey: publicKeyOf(generatePrivateKey()), forcedDeadlineBlocks: DEADLINE_BLOCKS,
  });
  reader = await connectL1({ rpcUrl: anvil.rpcUrl, privateKey: ANVIL_DEV_PRIVATE_KEYS[0], chainId: anvil.chainId });
});

afterAll(async () => {
  await api?.close();
  await seq?.stop();
  await pool?.close();
  await anvil?.stop();
  await releaseSnarkjsCurve();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const read = <T>(functionName: string, args: readonly unknown[] = []): Promise<T> =>
  reader.publicClient.readContract({ address: dep.rollup, abi: rollupAbi, functionName: functionName as never, args: args as never }) as Promise<T>;
const ethOf = (a: Hex): Promise<bigint> => reader.publicClient.getBalance({ address: a });
const usdcOf = (a: Hex): Promise<bigint> => reader.publicClient.readContract({ address: dep.tokens[0].address, abi: erc20Abi, functionName: "balanceOf", args: [a] });
const chainArgs = (): string[] => ["--rpc", anvil.rpcUrl, "--rollup", dep.rollup, "--from-block", String(dep.deployBlock)];

test("trade, force a withdrawal through the sequencer, audit, then exit without it", async () => {
  // ---- with the sequencer
  const { artifacts } = await testCircuitKeys();
  const market = { id: "ETH-USDC", base: 0, quote: 1, makerFeeBips: 10, takerFeeBips: 20 };
  pool = createProverPool({ artifacts, size: 1, log: silentLogger });
  seq = await createSequencer({
    params: P,
    db: path.join(tmp, "sequencer.sqlite"),
    l1: { rpcUrl: anvil.rpcUrl, rollup: dep.rollup, privateKey: ANVIL_DEV_PRIVATE_KEYS[0], fromBlock: dep.deployBlock, pollIntervalMs: 200 },
    prover: pool,
    markets: [market],
    batchTimeoutMs: 300,
    log: silentLogger,
  });
  api = await serve(seq, 0, { log: silentLogger });
  const client = createApiClient({ baseUrl: api.url });
  await seq.start();
  const chainId = anvil.chainId;
  const domain = { chainId, rollup: dep.rollup };
  const { trader: alice } = await registerTrader(anvil.rpcUrl, chainId, dep, 1, 0, 2n * ETHER);
  const { trader: bob } = await registerTrader(anvil.rpcUrl, chainId, dep, 2, 1, 5_000n * 10n ** 6n);
  const aliceOwner = alice.l1.account.address;
  const bobOwner = bob.l1.account.address;
  const aliceKey = ANVIL_DEV_PRIVATE_KEYS[1];
  const bobKey = ANVIL_DEV_PRIVATE_KEYS[2];
  await until("registrations consumed", async () => (await client.status()).queue.consumed === 3, 480_000);

  const signer = new OrderSigner(domain);
  expect((await client.submitOrder(orderToWire(signer.order(alice, market, "sell", 10n ** 17n, 200n * 10n ** 6n)))).status).toBe("open");
  const take = await client.submitOrder(orderToWire(signer.order(bob, market, "buy", 10n ** 17n, 200n * 10n ** 6n)));
  expect(take.status).toBe("filled");
  const signed = (tx: L2Tx, k: string): L2Tx => ({ ...tx, signature: signMessage(k, txMessage(tx, domain)) });
  const t = await client.submitTx(txToWire(signed({ type: "transfer", from: alice.id, to: bob.id, token: 0, amount: 10n ** 16n, fee: 0n, nonce: 0n, validUntil: Number(MAX_U32), signature: zero }, alice.priv)));
  const w = await client.submitTx(txToWire(signed({ type: "withdraw", account: alice.id, token: 0, amount: 10n ** 16n, fee: 0n, nonce: 1n, validUntil: Number(MAX_U32), signature: zero }, alice.priv)));
  await allFinalized(client, [take.fills[0], t.hash, w.hash], 480_000);

  // A forced withdrawal while the sequencer runs: it processes it in time, crediting bob's whole USDC balance.
  const bobUsdc = BigInt((await client.account(bob.id)).balances["1"] ?? "0");
  expect(bobUsdc).toBeGreaterThan(0n);
  const fw = await modex("l1", "force-withdraw", "--account", String(bob.id), "--token", "1", "--l1-key", bobKey, ...chainArgs().slice(0, 4));
  expect(fw.stderr).toBe("");
  expect(fw.code).toBe(0);
  expect(fw.stdout).toMatch(/deadline block/);
  await until("forced withdrawal processed", async () => (await read<bigint>("nextForced")) === 1n, 480_000);
  expect(await read<bigint>("pendingWithdrawal", [bobOwner, 1])).toBe(bobUsdc);
  await until("the sequencer shows it", async () => BigInt((await client.account(bob.id)).balances["1"] ?? "0") === 0n, 480_000);
  const usdcBefore = await usdcOf(bobOwner);
  const claimed = await modex("claim", "--token", "1", "--l1-key", bobKey, ...chainArgs().slice(0, 4));
  expect(claimed.code).toBe(0);
  expect((await usdcOf(bobOwner)) - usdcBefore).toBe(bobUsdc);

  // What the sequencer last showed for alice: the exit must pay exactly this.
  const aliceView = await client.account(alice.id);
  const aliceEth = BigInt(aliceView.balances["0"] ?? "0");
  const aliceUsdc = BigInt(aliceView.balances["1"] ?? "0");
  expect(aliceEth).toBeGreaterThan(0n);
  expect(aliceUsdc).toBeGreaterThan(0n);

  // ---- the operator stops
  await api.close();
  await seq.stop();
  await pool.close();
  api = undefined;
  seq = undefined;
  pool = undefined;

  const audited = await modex("audit", ...chainArgs(), "--json");
  expect(audited.code).toBe(0);
  const rep = JSON.parse(audited.stdout);
  expect(rep.mismatches).toEqual([]);
  expect(rep.operations).toEqual({ registrations: 3, deposits: 0, forcedExits: 1, transfers: 1, withdrawals: 1, fills: 1 });
  expect(rep.proofsVerified).toBe(rep.batches.count);
  expect(BigInt(rep.finalRoot)).toBe(await read<bigint>("stateRoot"));
  // The same history as a proof bundle, forced exit included, checks with no chain.
  const bundle = path.join(tmp, "bundle");
  expect((await modex("audit", "export", ...chainArgs(), "--out", bundle)).code).toBe(0);
  const offline = await modex("audit", "bundle", bundle, "--json");
  expect(offline.code).toBe(0);
  expect(JSON.parse(offline.stdout).operations).toEqual(rep.operations);

  // Alice's deposit and forced request now sit in the queue with nobody to process them.
  const refund = ETHER / 20n;
  await alice.l1.publicClient.waitForTransactionReceipt({
    hash: await alice.l1.walletClient.writeContract({ address: dep.rollup, abi: rollupAbi, functionName: "deposit", args: [alice.id, 0, refund], value: refund }),
  });
  expect((await modex("l1", "force-withdraw", "--account", String(alice.id), "--token", "0", "--l1-key", aliceKey, ...chainArgs().slice(0, 4))).code).toBe(0);
  const early = await modex("exit", "--account", String(alice.id), "--l1-key", ANVIL_DEV_PRIVATE_KEYS[3], "--freeze", ...chainArgs());
  expect(early.code).toBe(1);
  expect(early.stderr).toMatch(/not frozen.*deadline block/);
  const early2 = await modex("l1", "freeze", "--l1-key", ANVIL_DEV_PRIVATE_KEYS[3], ...chainArgs().slice(0, 4));
  expect(early2.code).toBe(1);
  expect(early2.stderr).toMatch(/nothing to freeze/);

  // Its deadline: DEADLINE_BLOCKS per D records ahead of it, the deposit included (PROTOCOL.md §6.1).
  const pendingRequest = await read<{ deadline: bigint }>("forcedRequest", [await read<bigint>("nextForced")]);
  const tip = (await reader.publicClient.getBlock({ blockTag: "latest" })).number;
  expect(pendingRequest.deadline).toBeGreaterThanOrEqual(tip + BigInt(DEADLINE_BLOCKS));
  await mineBlocks(anvil.rpcUrl, Number(pendingRequest.deadline - tip) + 1);
  // Someone else sends the exit and pays the gas; the owner receives exactly the balances and the refund.
  // Alice's L2 withdrawal, finalized but never claimed, is paid by the same run.
  const [eth0, usdc0, unclaimed] = await Promise.all([ethOf(aliceOwner), usdcOf(aliceOwner), read<bigint>("pendingWithdrawal", [aliceOwner, 0])]);
  expect(unclaimed).toBe(10n ** 16n);
  const out = await modex("exit", "--account", String(alice.id), "--l1-key", ANVIL_DEV_PRIVATE_KEYS[3], "--freeze", ...chainArgs());
  expect(out.stderr).toMatch(/rebuilding the state from chain data/);
  expect(out.code).toBe(0);
  expect(out.stdout).toMatch(/froze the rollup first/);
  expect(await read<boolean>("frozen")).toBe(true);
  expect((await ethOf(aliceOwner)) - eth0).toBe(aliceEth + refund + unclaimed);
  expect((await usdcOf(aliceOwner)) - usdc0).toBe(aliceUsdc);

  // Each balance exits once.
  const again = await modex("exit", "--account", String(alice.id), "--l1-key", ANVIL_DEV_PRIVATE_KEYS[3], ...chainArgs());
  expect(again.code).toBe(1);
  expect(again.stderr).toMatch(/nothing to exit for account \d+: token 0 already exited; token 1 already exited; token 0 already refunded/);
  expect((await ethOf(aliceOwner)) - eth0).toBe(aliceEth + refund + unclaimed);

  // After every batch of this history (trades, a forced exit, a withdrawal): the contract held exactly
  // what it owed, and every credit went to its account's owner.
  expect(await checkInvariants({ rpcUrl: anvil.rpcUrl, rollup: dep.rollup })).toMatchObject({ violations: [] });

  // The operator comes back: its sequencer sees the freeze and stops with the reason.
  seq = await createSequencer({
    params: P,
    db: path.join(tmp, "sequencer.sqlite"),
    l1: { rpcUrl: anvil.rpcUrl, rollup: dep.rollup, privateKey: ANVIL_DEV_PRIVATE_KEYS[0], fromBlock: dep.deployBlock, pollIntervalMs: 200 },
    prover: stalledProver(),
    proving: false,
    markets: [market],
    log: silentLogger,
  });
  await seq.start();
  expect(seq.status().halted?.reason).toMatch(/the rollup is frozen at batch \d+ .*modex exit/);
});
