/**
 * Sequencer without proofs: real anvil, real Rollup (deployModex), real SQLite files, real HTTP.
 *
 * Nothing here needs Groth16 keys: the sequencers run with `proving: false` (batches are built and
 * stored, never proven), or with a prover that takes jobs and never answers. No batch is ever
 * submitted, so the verifier contract is never called; deployModex still needs one, and the
 * test fixture AcceptingVerifier stands in for the keys' Verifier.sol. The end-to-end path
 * (proofs, submission, finalization) is test/sequencer.e2e.test.ts.
 *
 * Every batch the sequencer builds is checked against a model: the test keeps its own core State
 * and replays each batch from what it sent (queue records, signed txs), so roots and public
 * inputs are verified independently of the sequencer's database.
 */
import Database from "better-sqlite3";
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestClient, http, type Hex } from "viem";
import { ANVIL_DEV_PRIVATE_KEYS, startAnvil, type AnvilInstance } from "../chain/anvil";
import { rollupAbi, testTokenAbi } from "../contracts/abi";
import { connectL1, type L1Clients } from "../contracts/clients";
import { deployModex, type ModexDeployment } from "../contracts/deploy";
import {
  buildBatch,
  CONFIGS,
  type Params,
  type Order,
  type TransferTx,
  fieldToHex,
  generatePrivateKey,
  initCrypto,
  publicKeyOf,
  queueHashNext,
  State,
  txHash,
  txMessage,
  type L2Tx,
  type PublicKey,
  type QueueRecord,
} from "../core";
import { failingProver, stalledProver } from "./helpers/provers";
import { serve, type RunningApi } from "../sequencer/api";
import { sequencerClient, signTx, type SequencerClient, type UnsignedTx } from "../sequencer/client";
import { silentLogger } from "../sequencer/log";
import { createSequencer, type Sequencer, type SequencerOptions } from "../sequencer/sequencer";
import type { BatchInfo } from "../sequencer/views";
import { shouldCut, takeBatchTxs, type PendingTx } from "../sequencer/plan";
import { parseTx, txToWire, type WireTx } from "../sequencer/wire";
import type { Domain } from "../core/domain";
import { deployAccepting } from "./helpers/devchain";

/** The test config with one fee bucket, so the fee-bucket cut rule shows with the two tokens deployed here (no proofs are made). */
const P = { ...CONFIGS.test, feeBuckets: 1 };
const ETHER = 10n ** 18n;
const MAX_U32 = 2 ** 32 - 1;
const quiet = silentLogger;

// ------------------------------------------------------------------ L1 and API helpers

interface User {
  readonly priv: Hex;
  readonly key: PublicKey;
  readonly l1: L1Clients;
  id: number;
}

let anvil: AnvilInstance;
let tmp: string;
let operatorL1: L1Clients;

async function mined(c: L1Clients, hash: Hex): Promise<void> {
  const r = await c.publicClient.waitForTransactionReceipt({ hash });
  if (r.status !== "success") throw new Error(`L1 tx ${hash} reverted`);
}

function deploy(operatorKey: PublicKey, params: Params = P): Promise<ModexDeployment> {
  return deployAccepting(anvil.rpcUrl, params, operatorKey);
}

/** A tiny model of the L1 queue and the L2 state, built with core only. */
class Model {
  readonly state: State;
  constructor(params: Params = P) {
    this.state = new State(params);
  }
  readonly queue: QueueRecord[] = [];
  readonly sent = new Map<string, L2Tx>();
  private consumed = 0;
  private queueHash = 0n;

  enqueue(r: QueueRecord): void {
    this.queue.push(r);
  }

  /** Replays the sequencer's batch `b` with core and checks root and public input. */
  check(b: BatchInfo, domain: Domain): void {
    expect(b.queueStart).toBe(this.consumed);
    const deposits = this.queue.slice(this.consumed, this.consumed + b.depositCount);
    expect(deposits).toHaveLength(b.depositCount);
    const txs = b.txs.map((h) => {
      const tx = this.sent.get(h);
      if (!tx) throw new Error(`batch ${b.number} contains ${h}, which the test never sent`);
      return tx;
    });
    expect(fieldToHex(this.state.root)).toBe(b.oldRoot);
    const r = buildBatch(this.state, { ...domain, timestamp: b.timestamp, queueHashBefore: this.queueHash, deposits, txs, feeTokens: b.feeTokens });
    expect(fieldToHex(r.newRoot)).toBe(b.newRoot);
    expect(fieldToHex(r.publicInput)).toBe(b.publicInput);
    expect(fieldToHex(r.queueHashAfter)).toBe(b.queueHashAfter);
    this.consumed += b.depositCount;
    this.queueHash = deposits.reduce((h, d) => queueHashNext(h, d), this.queueHash);
  }
}

async function newUser(i: number): Promise<User> {
  const priv = generatePrivateKey();
  return { priv, key: publicKeyOf(priv), l1: await connectL1({ rpcUrl: anvil.rpcUrl, privateKey: ANVIL_DEV_PRIVATE_KEYS[i], chainId: anvil.chainId }), id: -1 };
}

async function register(dep: ModexDeployment, model: Model, u: User, token: number, amount: bigint): Promise<void> {
  if (token !== 0) await fund(dep, u, token, amount);
  u.id = Number(await u.l1.publicClient.readContract({ address: dep.rollup, abi: rollupAbi, functionName: "nextAccountId" }));
  const hash = await u.l1.walletClient.writeContract({
    address: dep.rollup,
    abi: rollupAbi,
    functionName: "register",
    args: [u.key.ax, u.key.ay, token, amount],
    value: token === 0 ? amount : 0n,
  });
  await mined(u.l1, hash);
  model.enqueue({ kind: 2, accountId: u.id, token, amount, ax: u.key.ax, ay: u.key.ay });
}

async function deposit(dep: ModexDeployment, model: Model, u: User, token: number, amount: bigint): Promise<void> {
  if (token !== 0) await fund(dep, u, token, amount);
  const hash = await u.l1.walletClient.writeContract({
    address: dep.rollup,
    abi: rollupAbi,
    functionName: "deposit",
    args: [u.id, token, amount],
    value: token === 0 ? amount : 0n,
  });
  await mined(u.l1, hash);
  model.enqueue({ kind: 1, accountId: u.id, token, amount, ax: 0n, ay: 0n });
}

async function fund(dep: ModexDeployment, u: User, token: number, amount: bigint): Promise<void> {
  const address = dep.tokens[token - 1].address;
  const w = u.l1.walletClient;
  await mined(u.l1, await w.writeContract({ address, abi: testTokenAbi, functionName: "mint", args: [u.l1.account.address, amount] }));
  await mined(u.l1, await w.writeContract({ address, abi: testTokenAbi, functionName: "approve", args: [dep.rollup, amount] }));
}

interface HttpResult {
  readonly status: number;
  readonly json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  readonly contentType: string | null;
}

async function request(url: string, init: RequestInit = {}): Promise<HttpResult> {
  const res = await fetch(url, init);
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = { unparsed: text };
  }
  return { status: res.status, json, contentType: res.headers.get("content-type") };
}

const postJson = (api: RunningApi, body: unknown): Promise<HttpResult> =>
  request(`${api.url}/v1/txs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}


/** Nodes not yet closed: afterAll closes them even when a test failed half way. */
const openNodes = new Set<Node>();

interface Node {
  readonly seq: Sequencer;
  readonly api: RunningApi;
  readonly client: SequencerClient;
  close(): Promise<void>;
}

async function openNode(dep: ModexDeployment, db: string, extra: Partial<SequencerOptions> = {}): Promise<Node> {
  const seq = await createSequencer({
    params: P,
    db,
    l1: { rpcUrl: anvil.rpcUrl, rollup: dep.rollup, privateKey: ANVIL_DEV_PRIVATE_KEYS[0], fromBlock: dep.deployBlock, pollIntervalMs: 100 },
    prover: stalledProver(),
    proving: false,
    log: quiet,
    ...extra,
  });
  const api = await serve(seq, 0, { log: quiet });
  let closing: Promise<void> | null = null;
  const node: Node = {
    seq,
    api,
    client: sequencerClient(api.url),
    close: () =>
      (closing ??= (async () => {
        openNodes.delete(node);
        await api.close();
        await seq.stop();
      })()),
  };
  openNodes.add(node);
  return node;
}

function countRows(db: string, sql: string): number {
  const d = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return (d.prepare(sql).get() as { n: number }).n;
  } finally {
    d.close();
  }
}

beforeAll(async () => {
  await initCrypto();
  anvil = await startAnvil({ port: 0 });
  operatorL1 = await connectL1({ rpcUrl: anvil.rpcUrl, privateKey: ANVIL_DEV_PRIVATE_KEYS[0], chainId: anvil.chainId });
  tmp = mkdtempSync(join(tmpdir(), "modex-seq-test-"));
});

afterAll(async () => {
  await Promise.all([...openNodes].map((n) => n.close()));
  await anvil?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// ------------------------------------------------------------------ one deployment, driven step by step

describe("sequencer driven step by step (pollL1 / cutBatch, no proofs)", () => {
  const opPriv = generatePrivateKey();
  let dep: ModexDeployment;
  let model: Model;
  let node: Node;
  let db: string;
  let alice: User;
  let bob: User;
  let carol: User;
  let domain: Domain;
  const nonces = new Map<number, number>();
  /** Hashes of accepted txs, in acceptance order. */
  const accepted: Hex[] = [];

  /** Signs and records a tx; the model learns it under its hash. */
  function sign(u: User, tx: Partial<UnsignedTx> & { type: "transfer" | "withdraw" }): WireTx {
    const base = { token: 0, amount: 0n, fee: 0n, nonce: BigInt(nonces.get(u.id) ?? 0), validUntil: MAX_U32 };
    const full = (tx.type === "transfer" ? { ...base, from: u.id, to: 0, ...tx } : { ...base, account: u.id, ...tx }) as UnsignedTx;
    const wire = signTx(u.priv, full, domain);
    model.sent.set(txHash(txMessage(parseTx(wire, P), domain)), parseTx(wire, P));
    return wire;
  }

  async function submitOk(u: User, tx: Partial<UnsignedTx> & { type: "transfer" | "withdraw" }): Promise<Hex> {
    const wire = sign(u, tx);
    const r = await postJson(node.api, wire);
    expect(r.status).toBe(202);
    nonces.set(u.id, wire.nonce + 1);
    accepted.push(r.json.hash as Hex);
    return r.json.hash as Hex;
  }

  async function cutAndCheck(): Promise<BatchInfo> {
    const n = await node.seq.cutBatch();
    if (n === null) throw new Error("expected a batch");
    const b = await node.client.batch(n);
    model.check(b, domain);
    return b;
  }

  beforeAll(async () => {
    model = new Model();
    dep = await deploy(publicKeyOf(opPriv));
    domain = { chainId: dep.chainId, rollup: dep.rollup };
    model.enqueue({ kind: 2, accountId: 0, token: 0, amount: 0n, ...publicKeyOf(opPriv) });
    [alice, bob, carol] = await Promise.all([newUser(1), newUser(2), newUser(3)]);
    await register(dep, model, alice, 0, 10n * ETHER);
    await register(dep, model, bob, 0, 0n);
    await register(dep, model, carol, 1, 1_000_000n);
    db = join(tmp, "stepwise.sqlite");
    node = await openNode(dep, db);
  });


  test("mirrors the L1 queue and turns registrations into batches", async () => {
    await node.seq.pollL1();
    const s0 = await node.client.status();
    expect(s0.queue).toEqual({ length: 4, consumed: 0 });
    expect(s0.latestBatch).toBe(0);
    expect(s0.chainId).toBe(domain.chainId);
    expect(s0.rollupAddress.toLowerCase()).toBe(dep.rollup.toLowerCase());
    expect(s0.stateRoot).toBe(fieldToHex(new State(P).root));
    expect(s0.finalizedRoot).toBe(s0.stateRoot);
    expect(s0.params).toEqual(P);

    for (let i = 1; i <= 4; i++) {
      const b = await cutAndCheck(); // depositSlots = 1: one record per batch
      expect(b).toMatchObject({ number: i, status: "built", depositCount: 1, txs: [] });
      expect(b.newRoot).toMatch(/^0x[0-9a-f]{64}$/);
    }
    expect(await node.seq.cutBatch()).toBeNull(); // nothing waiting

    const s = await node.client.status();
    expect(s).toMatchObject({ latestBatch: 4, finalizedBatch: 0, pendingTxs: 0, queue: { length: 4, consumed: 4 } });
    expect(s.stateRoot).toBe(fieldToHex(model.state.root));
    const a = await node.client.account(alice.id);
    expect(a).toEqual({
      id: alice.id,
      registered: true,
      ax: alice.key.ax.toString(),
      ay: alice.key.ay.toString(),
      nonce: 0,
      pendingNonce: 0,
      balances: { "0": (10n * ETHER).toString() },
      pendingBalances: { "0": (10n * ETHER).toString() },
    });
    expect((await node.client.account(carol.id)).balances).toEqual({ "1": "1000000" });
    expect((await node.client.account(10)).registered).toBe(false);
  });

  test("accepts a valid transfer: 202, stored before the reply, reflected in the pending view", async () => {
    const wire = sign(alice, { type: "transfer", to: bob.id, amount: ETHER / 10n });
    const r = await postJson(node.api, wire);
    expect(r.status).toBe(202);
    const expectedHash = txHash(txMessage(parseTx(wire, P), domain));
    expect(r.json).toEqual({ hash: expectedHash, status: "accepted" });
    nonces.set(alice.id, 1);
    accepted.push(expectedHash);
    // Committed to SQLite by the time the client has the 202 (a second connection sees it).
    expect(countRows(db, `SELECT COUNT(*) AS n FROM txs WHERE hash = '${expectedHash}' AND status = 'accepted'`)).toBe(1);

    const t = await node.client.tx(expectedHash);
    expect(t).toMatchObject({ ...wire, hash: expectedHash, status: "accepted" });
    expect(t.timestamps.acceptedAt).toBeGreaterThan(0);
    expect(t.batch).toBeUndefined();

    const a = await node.client.account(alice.id);
    expect(a).toMatchObject({ nonce: 0, pendingNonce: 1, balances: { "0": (10n * ETHER).toString() }, pendingBalances: { "0": (10n * ETHER - ETHER / 10n).toString() } });
    const b = await node.client.account(bob.id);
    expect(b).toMatchObject({ balances: {}, pendingBalances: { "0": (ETHER / 10n).toString() } });
    expect((await node.client.status()).pendingTxs).toBe(1);

    // Same message again (even re-signed): same hash → 409.
    const again = await postJson(node.api, wire);
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe("duplicate");
  });

  test("every malformed or invalid request gets a 4xx JSON error and changes nothing", async () => {
    const snapshot = async () => ({
      status: await node.client.status(),
      accounts: await Promise.all([0, alice.id, bob.id, carol.id].map((id) => node.client.account(id))),
      rows: countRows(db, "SELECT COUNT(*) AS n FROM txs"),
    });
    const before = await snapshot();
    const good = (): WireTx => sign(alice, { type: "transfer", to: bob.id, amount: 1000n });
    const g = good() as unknown as Record<string, unknown>;
    const other = generatePrivateKey();
    const cases: [string, () => Promise<HttpResult>, number, string][] = [
      ["malformed JSON", () => request(`${node.api.url}/v1/txs`, { method: "POST", headers: { "content-type": "application/json" }, body: "{\"type\": " }), 400, "malformed_json"],
      ["JSON scalar", () => request(`${node.api.url}/v1/txs`, { method: "POST", headers: { "content-type": "application/json" }, body: "42" }), 400, "malformed_json"],
      ["not JSON", () => request(`${node.api.url}/v1/txs`, { method: "POST", headers: { "content-type": "text/plain" }, body: JSON.stringify(g) }), 415, "unsupported_media_type"],
      ["no body", () => request(`${node.api.url}/v1/txs`, { method: "POST" }), 415, "unsupported_media_type"],
      ["too large", () => postJson(node.api, { ...g, pad: "x".repeat(20_000) }), 413, "payload_too_large"],
      ["array", () => postJson(node.api, [g]), 400, "bad_request"],
      ["empty object", () => postJson(node.api, {}), 400, "bad_request"],
      ["unknown type", () => postJson(node.api, { ...g, type: "deposit" }), 400, "bad_request"],
      ["unknown field", () => postJson(node.api, { ...g, memo: "hi" }), 400, "bad_request"],
      ["__proto__ field", () => request(`${node.api.url}/v1/txs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(g).replace("{", '{"__proto__":{"x":1},') }), 400, "bad_request"],
      ["missing field", () => postJson(node.api, { ...g, fee: undefined }), 400, "bad_request"],
      ["withdraw with transfer fields", () => postJson(node.api, { ...g, type: "withdraw" }), 400, "bad_request"],
      ["amount as number", () => postJson(node.api, { ...g, amount: 1000 }), 400, "bad_request"],
      ["amount with leading zero", () => postJson(node.api, { ...g, amount: "01000" }), 400, "bad_request"],
      ["negative amount", () => postJson(node.api, { ...g, amount: "-1" }), 400, "bad_request"],
      ["amount with exponent", () => postJson(node.api, { ...g, amount: "1e3" }), 400, "bad_request"],
      ["amount hex", () => postJson(node.api, { ...g, amount: "0x10" }), 400, "bad_request"],
      ["amount ≥ 2^128", () => postJson(node.api, { ...g, amount: (1n << 128n).toString() }), 400, "amount_out_of_range"],
      ["amount not float40", () => postJson(node.api, { ...g, amount: "34359738369" }), 400, "amount_not_representable"],
      ["fee not float16", () => postJson(node.api, { ...g, fee: "2049" }), 400, "amount_not_representable"],
      ["token outside tree", () => postJson(node.api, { ...g, token: 4 }), 400, "bad_token"],
      ["token as string", () => postJson(node.api, { ...g, token: "0" }), 400, "bad_request"],
      ["from outside tree", () => postJson(node.api, { ...g, from: 64 }), 400, "unknown_account"],
      ["to negative", () => postJson(node.api, { ...g, to: -1 }), 400, "bad_request"],
      ["to fractional", () => postJson(node.api, { ...g, to: 1.5 }), 400, "bad_request"],
      ["nonce ≥ 2^32", () => postJson(node.api, { ...g, nonce: 2 ** 32 }), 400, "bad_request"],
      ["validUntil ≥ 2^32", () => postJson(node.api, { ...g, validUntil: 2 ** 32 }), 400, "bad_request"],
      ["signature not an object", () => postJson(node.api, { ...g, signature: "0x00" }), 400, "bad_request"],
      ["signature extra field", () => postJson(node.api, { ...g, signature: { ...(g.signature as object), v: "1" } }), 400, "bad_request"],
      ["signature.s ≥ field", () => postJson(node.api, { ...g, signature: { ...(g.signature as object), s: (1n << 254n).toString() } }), 400, "bad_request"],
      ["wrong key", () => postJson(node.api, signTx(other, parseTxUnsigned(g), domain)), 422, "bad_signature"],
      ["tampered amount", () => postJson(node.api, { ...g, amount: "2000" }), 422, "bad_signature"],
      ["other chain id", () => postJson(node.api, signTx(alice.priv, parseTxUnsigned(g), { ...domain, chainId: domain.chainId + 1 })), 422, "bad_signature"],
      ["other rollup on this chain", () => postJson(node.api, signTx(alice.priv, parseTxUnsigned(g), { ...domain, rollup: `0x${"cd".repeat(20)}` })), 422, "bad_signature"],
      ["stale nonce", () => postJson(node.api, sign(alice, { type: "transfer", to: bob.id, amount: 7n, nonce: 0n })), 422, "bad_nonce"],
      ["future nonce", () => postJson(node.api, sign(alice, { type: "transfer", to: bob.id, amount: 7n, nonce: 5n })), 422, "bad_nonce"],
      // Alice has 10 ETH batched and 9.9 ETH pending.
      ["more than the pending balance", () => postJson(node.api, sign(alice, { type: "transfer", to: bob.id, amount: 10n * ETHER })), 422, "insufficient_balance"],
      ["amount + fee > pending balance", () => postJson(node.api, sign(alice, { type: "withdraw", amount: 99n * 10n ** 17n, fee: 1n })), 422, "insufficient_balance"],
      ["unregistered receiver", () => postJson(node.api, sign(alice, { type: "transfer", to: 10, amount: 1n })), 422, "unregistered_account"],
      ["unregistered sender", () => postJson(node.api, { ...good(), from: 10 }), 422, "unregistered_account"],
      ["expired", () => postJson(node.api, sign(alice, { type: "transfer", to: bob.id, amount: 1n, validUntil: 1000 })), 422, "expired"],
      ["wrong method", () => request(`${node.api.url}/v1/txs`, { method: "PUT" }), 404, "not_found"],
      ["unknown route", () => request(`${node.api.url}/v2/nothing`), 404, "not_found"],
      ["tx hash malformed", () => request(`${node.api.url}/v1/txs/0x1234`), 400, "bad_request"],
      ["tx unknown", () => request(`${node.api.url}/v1/txs/0x${"ab".repeat(32)}`), 404, "not_found"],
      ["batch not a number", () => request(`${node.api.url}/v1/batches/one`), 400, "bad_request"],
      ["batch negative", () => request(`${node.api.url}/v1/batches/-1`), 400, "bad_request"],
      ["batch unknown", () => request(`${node.api.url}/v1/batches/999`), 404, "not_found"],
      ["batch 0 (genesis is no batch)", () => request(`${node.api.url}/v1/batches/0`), 404, "not_found"],
      ["account not a number", () => request(`${node.api.url}/v1/accounts/0x01`), 400, "bad_request"],
      ["account outside tree", () => request(`${node.api.url}/v1/accounts/64`), 404, "not_found"],
    ];
    for (const [name, send, status, code] of cases) {
      const r = await send();
      try {
        expect(r.status).toBe(status);
        expect(r.contentType).toMatch(/^application\/json/);
        expect(r.json).toEqual({ error: { code, message: expect.any(String) } });
        expect(r.json.error.message.length).toBeGreaterThan(0);
      } catch (e) {
        throw new Error(`case "${name}": got ${r.status} ${JSON.stringify(r.json)}\n${(e as Error).message}`);
      }
    }
    expect(await snapshot()).toEqual(before);
  });

  test("expiry is judged by the wall clock, not the chain's latest block: a transfer already past its validUntil is rejected at POST on an idle chain", async () => {
    await node.seq.pollL1();
    const chainTime = Number((await operatorL1.publicClient.getBlock({ blockTag: "latest" })).timestamp);
    // Nothing is mined meanwhile: anvil automines, so the latest block keeps its old timestamp.
    while (Math.floor(Date.now() / 1000) < chainTime + 3) await new Promise((r) => setTimeout(r, 200));
    const now = Math.floor(Date.now() / 1000);
    const pastByTheClock = now - 1;
    expect(pastByTheClock).toBeGreaterThan(chainTime); // still valid by the chain's latest block
    expect(Number((await operatorL1.publicClient.getBlock({ blockTag: "latest" })).timestamp)).toBe(chainTime);
    await node.seq.pollL1();
    expect((await node.client.status()).l1.timestamp).toBe(chainTime);

    const margin = node.seq.expiryMarginS;
    expect(margin).toBe(120);
    const cases: [string, WireTx][] = [
      ["transfer past by the clock", sign(alice, { type: "transfer", to: bob.id, amount: 1n, validUntil: pastByTheClock })],
      ["withdrawal within the acceptance margin", sign(alice, { type: "withdraw", amount: 1n, validUntil: now + margin - 5 })],
    ];
    for (const [name, wire] of cases) {
      const r = await postJson(node.api, wire);
      expect({ name, status: r.status, code: r.json.error?.code }).toEqual({ name, status: 422, code: "expired" });
      expect(r.json.error.message).toMatch(/acceptance margin \(120 s\) after the sequencer's clock/);
    }
    expect((await node.client.account(alice.id)).pendingNonce).toBe(nonces.get(alice.id) ?? 0);
  });

  test("the pending view: spends unbatched credits, refuses double spends, ignores unbatched deposits", async () => {
    // Bob has nothing batched, but alice's accepted transfer credits him 0.1 ETH.
    await submitOk(bob, { type: "transfer", to: carol.id, amount: ETHER / 10n });
    const spent = await postJson(node.api, sign(bob, { type: "transfer", to: carol.id, amount: 1n }));
    expect(spent.status).toBe(422);
    expect(spent.json.error.code).toBe("insufficient_balance");

    // A deposit on L1 is in the queue, not yet in a batch: not spendable.
    await deposit(dep, model, bob, 0, ETHER / 2n);
    await node.seq.pollL1();
    expect((await node.client.status()).queue).toEqual({ length: 5, consumed: 4 });
    const early = await postJson(node.api, sign(bob, { type: "transfer", to: carol.id, amount: 1n }));
    expect(early.status).toBe(422);
    expect(early.json.error.code).toBe("insufficient_balance");
    expect(await node.client.account(bob.id)).toMatchObject({ nonce: 0, pendingNonce: 1, balances: {}, pendingBalances: {} });
  });

  test("cuts batches as prefixes in acceptance order, within l2Slots and feeBuckets", async () => {
    // Pending: alice→bob (no fee), bob→carol (no fee). Add a USDC-fee tx and an ETH-fee tx:
    // feeBuckets = 1, so they cannot share a batch.
    const usdcFee = await submitOk(carol, { type: "transfer", to: alice.id, token: 1, amount: 1000n, fee: 10n });
    const ethFee = await submitOk(alice, { type: "withdraw", amount: ETHER, fee: 1000n });
    const [first, second] = accepted.slice(0, 2);
    expect((await node.client.status()).pendingTxs).toBe(4);

    const b5 = await cutAndCheck();
    expect(b5).toMatchObject({ number: 5, depositCount: 1, txs: [first, second], feeTokens: [0] });
    for (const [slot, h] of [first, second].entries()) {
      expect(await node.client.tx(h as Hex)).toMatchObject({ status: "batched", batch: 5, slot });
    }
    const b6 = await cutAndCheck();
    expect(b6).toMatchObject({ number: 6, depositCount: 0, txs: [usdcFee], feeTokens: [1] });
    const b7 = await cutAndCheck();
    expect(b7).toMatchObject({ number: 7, depositCount: 0, txs: [ethFee], feeTokens: [0] });
    expect(await node.seq.cutBatch()).toBeNull();

    // Balances follow core: alice 10 − 0.1 − 1 (withdrawn) − fee, + 1000 USDC; fees to account 0.
    expect((await node.client.account(alice.id)).balances).toEqual({ "0": (10n * ETHER - ETHER / 10n - ETHER - 1000n).toString(), "1": "1000" });
    expect((await node.client.account(bob.id)).balances).toEqual({ "0": (ETHER / 2n).toString() });
    expect((await node.client.account(0)).balances).toEqual({ "0": "1000", "1": "10" });
    expect((await node.client.status()).stateRoot).toBe(fieldToHex(model.state.root));
    const t = await node.client.tx(ethFee);
    expect(t).toMatchObject({ type: "withdraw", account: alice.id, amount: ETHER.toString(), fee: "1000", status: "batched", batch: 7 });
    expect(t.timestamps.batchedAt).toBeGreaterThanOrEqual(t.timestamps.acceptedAt);
  });

  test("drops txs that expired before their batch, and the txs that depended on them", async () => {
    const test = createTestClient({ mode: "anvil", transport: http(anvil.rpcUrl) });
    const now = Number((await operatorL1.publicClient.getBlock()).timestamp);
    const expiring = await submitOk(bob, { type: "transfer", to: alice.id, amount: 5n, validUntil: Math.max(now, Math.floor(Date.now() / 1000)) + node.seq.expiryMarginS + 60 });
    const dependent = await submitOk(bob, { type: "transfer", to: alice.id, amount: 6n }); // nonce + 1
    const independent = await submitOk(carol, { type: "transfer", to: bob.id, token: 1, amount: 7n });
    expect(await node.client.account(bob.id)).toMatchObject({ pendingNonce: 3 });

    await test.increaseTime({ seconds: 3600 });
    await test.mine({ blocks: 1 });
    const b = await node.seq.cutBatch();
    expect(b).toBe(8);
    const batch = await node.client.batch(8);
    model.sent.delete(expiring);
    model.sent.delete(dependent);
    model.check(batch, domain);
    expect(batch.txs).toEqual([independent]);
    expect(batch.timestamp).toBeGreaterThanOrEqual(now + 3600);
    expect(await node.client.tx(expiring)).toMatchObject({ status: "rejected", reason: { code: "expired" } });
    expect(await node.client.tx(dependent)).toMatchObject({ status: "rejected", reason: { code: "bad_nonce" } });
    expect((await node.client.tx(dependent)).timestamps.rejectedAt).toBeGreaterThan(0);
    expect(await node.client.account(bob.id)).toMatchObject({ nonce: 1, pendingNonce: 1 });
    nonces.set(bob.id, 1);
    expect((await node.client.status()).pendingTxs).toBe(0);
  });

  test("survives a restart: accepted txs, replayed batches, the queue; a tampered database is refused", async () => {
    const h1 = await submitOk(alice, { type: "transfer", to: carol.id, amount: 11n });
    const h2 = await submitOk(carol, { type: "transfer", to: alice.id, amount: 12n, token: 1 });
    await deposit(dep, model, carol, 0, ETHER);
    await node.seq.pollL1();
    const before = await node.client.status();
    const aliceBefore = await node.client.account(alice.id);
    await node.close();

    // A copy whose batch 3 root was altered must not start: replay recomputes every root.
    const bad = join(tmp, "tampered.sqlite");
    copyFileSync(db, bad);
    const d = new Database(bad);
    d.prepare("UPDATE batches SET new_root = ? WHERE number = 3").run(fieldToHex(12345n));
    d.close();
    await expect(openNode(dep, bad)).rejects.toThrow(/replay of batch 3/);

    node = await openNode(dep, db);
    const after = await node.client.status();
    expect(after).toEqual({ ...before, l1: after.l1 });
    expect(after).toMatchObject({ latestBatch: 8, pendingTxs: 2, queue: { length: 6, consumed: 5 } });
    expect(await node.client.account(alice.id)).toEqual(aliceBefore);
    expect(await node.client.tx(h1)).toMatchObject({ status: "accepted" });

    const b = await cutAndCheck(); // the deposit and both reloaded txs
    expect(b).toMatchObject({ number: 9, depositCount: 1, txs: [h1, h2] });
    expect((await node.client.status()).stateRoot).toBe(fieldToHex(model.state.root));
  });

  test("a stored tx that core refuses at build time is rejected with core's reason; the rest is batched", async () => {
    // Simulates a bug or a corrupted row: an "accepted" tx whose signature does not verify,
    // written behind the sequencer's back. The cut must drop it, not stall or halt.
    await node.close();
    const forged = { ...sign(alice, { type: "transfer", to: bob.id, amount: 3n }), signature: { r8x: "1", r8y: "2", s: "3" } };
    const forgedHash = txHash(txMessage(parseTx(forged, P), domain));
    const d = new Database(db);
    d.prepare("INSERT INTO txs (hash, type, body, status, accepted_at) VALUES (?, 'transfer', ?, 'accepted', ?)").run(forgedHash, JSON.stringify(forged), Date.now());
    d.close();
    node = await openNode(dep, db);
    expect(await node.client.account(alice.id)).toMatchObject({ pendingNonce: (nonces.get(alice.id) ?? 0) + 1 });
    const ok = await submitOk(carol, { type: "transfer", to: bob.id, token: 1, amount: 1n });

    const b = await cutAndCheck();
    expect(b.txs).toEqual([ok]);
    expect(await node.client.tx(forgedHash)).toMatchObject({ status: "rejected", reason: { code: "bad_signature", message: expect.stringMatching(/^operation 0: /) } });
    expect(await node.client.account(alice.id)).toMatchObject({ pendingNonce: nonces.get(alice.id) ?? 0 });
    expect((await node.client.status()).halted).toBeNull();
  });

  test("a forced exit queued on L1 runs before the pending tx that spends the balance: the exit is batched, the tx rejected with core's reason", async () => {
    const spend = await submitOk(carol, { type: "transfer", to: bob.id, token: 1, amount: 7n });
    const before = BigInt((await node.client.account(carol.id)).balances["1"]);
    expect(before).toBeGreaterThan(7n);
    const h = await carol.l1.walletClient.writeContract({ address: dep.rollup, abi: rollupAbi, functionName: "requestForcedWithdrawal", args: [carol.id, 1] });
    expect((await carol.l1.publicClient.waitForTransactionReceipt({ hash: h })).status).toBe("success");
    model.enqueue({ kind: 3, accountId: carol.id, token: 1, amount: 0n, ax: 0n, ay: 0n });
    await node.seq.pollL1();
    const waiting = (await node.client.status()).forced;
    expect(waiting).toMatchObject({ pending: 1, oldestQueueIndex: model.queue.length - 1 });
    expect(waiting.blocksLeft).toBeGreaterThan(0);

    const b = await cutAndCheck();
    expect(b).toMatchObject({ depositCount: 1, txs: [] });
    expect(await node.client.tx(spend)).toMatchObject({ status: "rejected", reason: { code: "insufficient_balance" } });
    expect((await node.client.account(carol.id)).balances["1"]).toBeUndefined();
    expect(model.state.balance(carol.id, 1)).toBe(0n);
    nonces.set(carol.id, (nonces.get(carol.id) ?? 1) - 1);
    expect((await node.client.status()).halted).toBeNull();
  });

  test("back-pressure: 429 once maxPendingTxs txs wait", async () => {
    await node.close();
    node = await openNode(dep, db, { maxPendingTxs: 1 });
    await submitOk(alice, { type: "transfer", to: bob.id, amount: 1n });
    const r = await postJson(node.api, sign(alice, { type: "transfer", to: bob.id, amount: 2n }));
    expect(r.status).toBe(429);
    expect(r.json.error.code).toBe("too_many_pending");
    await cutAndCheck();
  });

  test("requests racing through the async signature check: one duplicate is 409, back-pressure still holds", async () => {
    // Called in one tick, both pass the first look (duplicates, back-pressure) before either reaches
    // the synchronous step, which looks again.
    const wire = sign(alice, { type: "transfer", to: bob.id, amount: 3n });
    const [first, second] = await Promise.allSettled([node.seq.submitTx(wire), node.seq.submitTx(wire)]);
    expect(first).toMatchObject({ status: "fulfilled", value: { status: "accepted" } });
    expect(second).toMatchObject({ status: "rejected", reason: { status: 409, code: "duplicate" } });
    nonces.set(alice.id, wire.nonce + 1);
    accepted.push((first as PromiseFulfilledResult<{ hash: Hex }>).value.hash);
    expect((await node.client.status()).pendingTxs).toBe(1);
    await cutAndCheck();
    // maxPendingTxs is 1: of two different txs at once, the first is accepted, the second is refused.
    const wa = sign(alice, { type: "transfer", to: bob.id, amount: 4n });
    const wc = sign(carol, { type: "transfer", to: bob.id, token: 1, amount: 4n });
    const [ra, rc] = await Promise.allSettled([node.seq.submitTx(wa), node.seq.submitTx(wc)]);
    expect(ra).toMatchObject({ status: "fulfilled", value: { status: "accepted" } });
    expect(rc).toMatchObject({ status: "rejected", reason: { status: 429, code: "too_many_pending" } });
    nonces.set(alice.id, wa.nonce + 1);
    accepted.push((ra as PromiseFulfilledResult<{ hash: Hex }>).value.hash);
    expect((await node.client.status()).pendingTxs).toBe(1);
    await cutAndCheck();
  });

  test("acceptance latency (200 sequential POST /v1/txs)", async () => {
    const N = 200;
    await node.close();
    node = await openNode(dep, db, { maxPendingTxs: 10_000 });
    const bodies: WireTx[] = [];
    for (let i = 0; i < N; i++) {
      bodies.push(sign(alice, { type: "transfer", to: bob.id, amount: 1n, nonce: BigInt((nonces.get(alice.id) ?? 0) + i) }));
    }
    nonces.set(alice.id, (nonces.get(alice.id) ?? 0) + N);
    const ms: number[] = [];
    const t0 = performance.now();
    for (const body of bodies) {
      const t = performance.now();
      const r = await postJson(node.api, body);
      ms.push(performance.now() - t);
      expect(r.status).toBe(202);
    }
    const total = performance.now() - t0;
    ms.sort((a, b) => a - b);
    const q = (p: number): number => Math.round(ms[Math.min(ms.length - 1, Math.floor(p * ms.length))] * 10) / 10;
    // Reported, not asserted beyond sanity: the number depends on the machine.
    console.log(JSON.stringify({ metric: "sequencer.accept_latency_ms", n: N, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: q(1), throughputPerS: Math.round((N / total) * 1000) }));
    expect((await node.client.status()).pendingTxs).toBe(N);
    expect(countRows(db, "SELECT COUNT(*) AS n FROM txs WHERE status = 'accepted'")).toBe(N);
    expect(q(0.5)).toBeLessThan(1000);
  });
});

/** The unsigned fields of a wire tx, to re-sign it with another key or chain. */
function parseTxUnsigned(w: Record<string, unknown>): UnsignedTx {
  const { signature: _s, ...rest } = parseTx(w, P);
  return rest;
}

// ------------------------------------------------------------------ the running sequencer (timers), no proofs

describe("running sequencer (start/stop), no proofs", () => {
  const opPriv = generatePrivateKey();
  let dep: ModexDeployment;
  let alice: User;
  let bob: User;
  const model = new Model();
  let domain: Domain;

  beforeAll(async () => {
    dep = await deploy(publicKeyOf(opPriv));
    domain = { chainId: dep.chainId, rollup: dep.rollup };
    model.enqueue({ kind: 2, accountId: 0, token: 0, amount: 0n, ...publicKeyOf(opPriv) });
    [alice, bob] = await Promise.all([newUser(1), newUser(2)]);
    await register(dep, model, alice, 0, ETHER);
    await register(dep, model, bob, 0, 0n);
  });

  test("a proof attempt that fails for good is recorded once, with its worker, and the batch fails with its error", async () => {
    const node = await openNode(dep, join(tmp, "failing-prover.sqlite"), { proving: true, prover: failingProver("w-1", "witness calculation failed"), maxProveAttempts: 1 });
    await node.seq.start();
    try {
      const st = await until("halted", async () => ((await node.client.status()).halted ? node.client.status() : null));
      expect(st.halted).toMatchObject({ batch: 1, reason: expect.stringMatching(/batch 1 could not be proven: batch 1: witness calculation failed/) });
      const job = (await node.seq.proverView()).recent.find((j) => j.batch === 1);
      expect(job).toMatchObject({ state: "failed", attempts: 1, worker: "w-1" });
      expect(job?.errors).toEqual([{ at: expect.any(Number), attempt: 1, worker: "w-1", error: "batch 1: witness calculation failed" }]);
    } finally {
      await node.close();
    }
  });

  test("cuts on timeout while a prover is free and when full, hands batches to the prover, bounded, and again after a restart", async () => {
    const db = join(tmp, "running.sqlite");
    let prover = stalledProver();
    let node = await openNode(dep, db, { proving: true, prover, batchTimeoutMs: 300, maxUnprovenBatches: 3 });
    await node.seq.start();
    // The three registrations arrive through the watcher; each batch takes one (depositSlots = 1).
    // Three unproven batches is the limit, so the watcher's records fill it exactly.
    const s = await until("3 batches", async () => {
      const st = await node.client.status();
      return st.latestBatch === 3 && st.queue.consumed === 3 ? st : null;
    });
    expect(s.prover.pending).toBe(3);
    expect(s.prover.proving).toEqual([1, 2, 3]);
    for (const n of [1, 2, 3]) {
      const b = await node.client.batch(n);
      model.check(b, domain);
      expect(b.status).toBe("proving");
      expect(b.timings.provingAt).toBeGreaterThanOrEqual(b.timings.builtAt);
      const job = prover.jobs[n - 1];
      expect(job.batchNumber).toBe(n);
      expect(fieldToHex(BigInt(job.publicSignals[0]))).toBe(b.publicInput);
      expect(job.circuitInput.publicInput).toBe(job.publicSignals[0]);
    }

    // At the limit: txs are accepted but no batch is cut.
    const sign = (nonce: number, amount: bigint): WireTx =>
      signTx(alice.priv, { type: "transfer", from: alice.id, to: bob.id, token: 0, amount, fee: 0n, nonce: BigInt(nonce), validUntil: MAX_U32 }, domain);
    const bodies = [sign(0, 1n), sign(1, 2n), sign(2, 3n)];
    const hashes: Hex[] = [];
    for (const b of bodies) {
      hashes.push((await node.client.submit(b)).hash);
      model.sent.set(hashes[hashes.length - 1], parseTx(b, P));
    }
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await node.client.status()).pendingTxs).toBe(3);
    expect((await node.client.status()).latestBatch).toBe(3);
    await node.close();

    // Restart with a larger limit: the three unproven batches go to the (new) prover again, in
    // order; the three waiting txs are cut at once (they waited longer than the timeout).
    prover = stalledProver({ workers: 10 });
    node = await openNode(dep, db, { proving: true, prover, batchTimeoutMs: 1_500, maxUnprovenBatches: 10 });
    await node.seq.start();
    expect(prover.jobs.map((j) => j.batchNumber)).toEqual([1, 2, 3]);
    await until("5 batches", async () => (await node.client.status()).latestBatch === 5);
    const b4 = await node.client.batch(4);
    const b5 = await node.client.batch(5);
    model.check(b4, domain);
    model.check(b5, domain);
    expect(b4.txs).toEqual(hashes.slice(0, 2));
    expect(b5.txs).toEqual(hashes.slice(2));

    // One tx alone waits for the timeout (1.5 s)...
    const lone = await node.client.submit(sign(3, 4n));
    model.sent.set(lone.hash, parseTx(sign(3, 4n), P));
    await until("batch 6", async () => (await node.client.status()).latestBatch === 6);
    const b6 = await node.client.batch(6);
    const loneTx = await node.client.tx(lone.hash);
    expect(b6.txs).toEqual([lone.hash]);
    expect(b6.timings.builtAt - loneTx.timestamps.acceptedAt).toBeGreaterThanOrEqual(1_500);
    model.check(b6, domain);

    // ...two fill a batch (l2Slots = 2) and are cut right away.
    const pair = [sign(4, 5n), sign(5, 6n)];
    const pairHashes: Hex[] = [];
    for (const b of pair) {
      const h = (await node.client.submit(b)).hash;
      pairHashes.push(h);
      model.sent.set(h, parseTx(b, P));
    }
    await until("batch 7", async () => (await node.client.status()).latestBatch === 7);
    const b7 = await node.client.batch(7);
    expect(b7.txs).toEqual(pairHashes);
    expect(b7.timings.builtAt - (await node.client.tx(pairHashes[0])).timestamps.acceptedAt).toBeLessThan(1_500);
    model.check(b7, domain);

    const st = await node.client.status();
    expect(st).toMatchObject({ latestBatch: 7, finalizedBatch: 0, pendingTxs: 0, halted: null, prover: { pending: 7, proving: [1, 2, 3, 4, 5, 6, 7] } });
    expect(prover.jobs.map((j) => j.batchNumber)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    await node.close();

    // One prover, busy with a batch: a lone tx waits past the timeout (a batch cut now would only
    // wait for that prover), while two txs fill a batch and are cut at once.
    prover = stalledProver();
    node = await openNode(dep, db, { proving: true, prover, batchTimeoutMs: 300, maxUnprovenBatches: 10 });
    await node.seq.start();
    const waiting = await node.client.submit(sign(6, 7n));
    model.sent.set(waiting.hash, parseTx(sign(6, 7n), P));
    await new Promise((r) => setTimeout(r, 1_200));
    expect(await node.client.status()).toMatchObject({ latestBatch: 7, pendingTxs: 1 });
    const next = await node.client.submit(sign(7, 8n));
    model.sent.set(next.hash, parseTx(sign(7, 8n), P));
    await until("batch 8", async () => (await node.client.status()).latestBatch === 8);
    const b8 = await node.client.batch(8);
    expect(b8.txs).toEqual([waiting.hash, next.hash]);
    model.check(b8, domain);
    await node.close();
  });
});

// ------------------------------------------------------------------ crash: a real process, SIGKILL

describe("crash", () => {
  /** Resolves with the API URL once the child logs api.listening; keeps draining its stderr. */
  function listeningUrl(child: ChildProcess): Promise<string> {
    return new Promise((resolve, reject) => {
      let buf = "";
      const tail: string[] = [];
      child.stderr?.setEncoding("utf8");
      child.stderr?.on("data", (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          tail.push(line);
          if (tail.length > 20) tail.shift();
          try {
            const o = JSON.parse(line) as { msg?: string; url?: string };
            if (o.msg === "api.listening" && o.url) resolve(o.url);
          } catch {
            // not a log line
          }
        }
      });
      child.once("exit", (code) => reject(new Error(`sequencer process exited (${code}) before listening:\n${tail.join("\n")}`)));
    });
  }

  test("SIGKILL during a burst of POSTs: every acknowledged tx survives, the database replays", async () => {
    const opPriv = generatePrivateKey();
    // The child runs `--config test`, so this deployment has exactly that config.
    const dep = await deploy(publicKeyOf(opPriv), CONFIGS.test);
    const model = new Model(CONFIGS.test);
    model.enqueue({ kind: 2, accountId: 0, token: 0, amount: 0n, ...publicKeyOf(opPriv) });
    const users = [await newUser(1), await newUser(2), await newUser(3)];
    for (const u of users) await register(dep, model, u, 0, ETHER);
    const db = join(tmp, "crash.sqlite");

    const child = spawn(
      process.execPath,
      [
        "--require",
        require.resolve("tsx/cjs"),
        join(__dirname, "..", "sequencer", "main.ts"),
        ...["--config", "test", "--db", db, "--rpc", anvil.rpcUrl, "--rollup", dep.rollup, "--port", "0"],
        ...["--from-block", String(dep.deployBlock), "--batch-timeout-ms", "300", "--no-prove"],
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    try {
      const client = sequencerClient(await listeningUrl(child));
      await until("registrations batched", async () => (await client.status()).queue.consumed === 4);

      // One sender per account (nonces must arrive in order), 20 transfers each, signed up front.
      const PER_USER = 20;
      const bodies = users.map((u) =>
        Array.from({ length: PER_USER }, (_, i) =>
          signTx(u.priv, { type: "transfer", from: u.id, to: 0, token: 0, amount: BigInt(i + 1), fee: 0n, nonce: BigInt(i), validUntil: MAX_U32 }, { chainId: dep.chainId, rollup: dep.rollup }),
        ),
      );
      for (const w of bodies.flat()) model.sent.set(txHash(txMessage(parseTx(w, P), { chainId: dep.chainId, rollup: dep.rollup })), parseTx(w, P));
      const acked: Hex[] = [];
      const sender = async (list: WireTx[]): Promise<void> => {
        for (const body of list) {
          try {
            acked.push((await client.submit(body)).hash);
          } catch {
            return; // the process is gone
          }
        }
      };
      const kill = until("25 acknowledgements", async () => acked.length >= 25, 60_000).then(() => child.kill("SIGKILL"));
      await Promise.all([...bodies.map(sender), kill]);
      await exited;
      expect(child.signalCode).toBe("SIGKILL");
      expect(acked.length).toBeGreaterThanOrEqual(25);
      expect(acked.length).toBeLessThan(3 * PER_USER); // killed mid-burst

      // Reopen in this process: replay asserts every stored batch's root.
      const node = await openNode(dep, db, { params: CONFIGS.test });
      const stored = countRows(db, "SELECT COUNT(*) AS n FROM txs");
      console.log(JSON.stringify({ metric: "sequencer.crash", acknowledged: acked.length, stored, batchesBeforeKill: (await node.client.status()).latestBatch }));
      expect(stored).toBeGreaterThanOrEqual(acked.length);
      for (const h of acked) expect(["accepted", "batched"]).toContain((await node.client.tx(h)).status);
      // What was stored is a per-account prefix of what was sent (nothing skipped, nothing reordered).
      for (const u of users) {
        const a = await node.client.account(u.id);
        for (let i = 0; i < a.pendingNonce; i++) {
          const h = txHash(txMessage(parseTx(bodies[users.indexOf(u)][i], P), { chainId: dep.chainId, rollup: dep.rollup }));
          expect(["accepted", "batched"]).toContain((await node.client.tx(h)).status);
        }
      }
      while ((await node.seq.cutBatch()) !== null);
      const s = await node.client.status();
      expect(s.pendingTxs).toBe(0);
      for (let n = 1; n <= s.latestBatch; n++) model.check(await node.client.batch(n), { chainId: dep.chainId, rollup: dep.rollup });
      expect(s.stateRoot).toBe(fieldToHex(model.state.root));
      await node.close();
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    }
  });
});

// ------------------------------------------------------------------ pure planning rules

describe("batch planning rules (pure)", () => {
  const sig = { r8x: 1n, r8y: 2n, s: 3n };
  const item = (seq: number, token: number, fee: bigint, from = 1): PendingTx & { tx: TransferTx } => ({
    seq,
    hash: `0x${seq.toString(16).padStart(64, "0")}`,
    tx: { type: "transfer", from, to: 2, token, amount: 1n, fee, nonce: BigInt(seq), validUntil: MAX_U32, signature: sig },
    acceptedAt: 1_000 + seq,
  });
  const order = (account: number, side: "buy" | "sell"): Order => ({
    account, orderId: 1n, base: 0, quote: 1, side, amount: 10n, quoteAmount: 10n, maxFeeBips: 0, validUntil: MAX_U32, signature: sig,
  });
  const fillItem = (seq: number, seller: number, buyer: number): PendingTx => ({
    seq,
    hash: `0x${seq.toString(16).padStart(64, "0")}`,
    tx: { type: "fill", sell: order(seller, "sell"), buy: order(buyer, "buy"), baseAmount: 1n, quoteAmount: 1n, sellFee: 0n, buyFee: 0n },
    acceptedAt: 1_000 + seq,
  });

  test("takeBatchTxs with fills: at most fillSlots; a tx after a fill ends the batch only if its signer traded in it", () => {
    // fillSlots = 1: the second fill waits, and so does everything after it.
    expect(takeBatchTxs(P, [fillItem(1, 3, 4), fillItem(2, 3, 4), item(3, 0, 0n)]).map((t) => t.seq)).toEqual([1]);
    // The batch runs the tx (seq 2) before the fill (seq 1): fine, its signer 1 did not trade.
    expect(takeBatchTxs(P, [fillItem(1, 3, 4), item(2, 0, 0n, 1)]).map((t) => t.seq)).toEqual([1, 2]);
    // Signer 3 sold in the fill: moving its transfer ahead of the fill could break either.
    expect(takeBatchTxs(P, [fillItem(1, 3, 4), item(2, 0, 0n, 3)]).map((t) => t.seq)).toEqual([1]);
    // Before the fill, the same tx is fine (same relative order as accepted).
    expect(takeBatchTxs(P, [item(1, 0, 0n, 3), fillItem(2, 3, 4)]).map((t) => t.seq)).toEqual([1, 2]);
  });

  test("takeBatchTxs: a prefix, at most l2Slots, stopping at the first tx that needs one fee token too many", () => {
    expect(takeBatchTxs(P, [item(1, 0, 0n), item(2, 0, 0n), item(3, 0, 0n)]).map((t) => t.seq)).toEqual([1, 2]);
    // feeBuckets = 1: the USDC-fee tx cannot join the ETH-fee one; the fee-less tx after it waits too.
    expect(takeBatchTxs(P, [item(1, 0, 5n), item(2, 1, 5n), item(3, 0, 0n)]).map((t) => t.seq)).toEqual([1]);
    // A fee-less tx of any token never needs a bucket.
    expect(takeBatchTxs(P, [item(1, 1, 5n), item(2, 0, 0n)]).map((t) => t.seq)).toEqual([1, 2]);
    const wide = { ...CONFIGS.default }; // l2Slots 4, feeBuckets 2
    expect(takeBatchTxs(wide, [item(1, 0, 5n), item(2, 1, 5n), item(3, 2, 5n), item(4, 0, 5n)]).map((t) => t.seq)).toEqual([1, 2]);
    expect(takeBatchTxs(P, [])).toEqual([]);
  });

  test("shouldCut: full batch, full queue slots, a queued forced withdrawal, or the oldest waiting item past the timeout while a prover is free", () => {
    const base = { params: P, now: 10_000, batchTimeoutMs: 2_000, pendingTxs: 0, oldestPendingAt: null, unconsumedQueue: 0, oldestQueueAt: null };
    expect(shouldCut(base)).toBe(false);
    expect(shouldCut({ ...base, pendingTxs: 1, oldestPendingAt: 9_000 })).toBe(false);
    expect(shouldCut({ ...base, pendingTxs: 1, oldestPendingAt: 8_000 })).toBe(true);
    expect(shouldCut({ ...base, pendingTxs: 2, oldestPendingAt: 9_999 })).toBe(true);
    expect(shouldCut({ ...base, unconsumedQueue: 1, oldestQueueAt: 9_999 })).toBe(true); // depositSlots = 1
    expect(shouldCut({ ...base, params: CONFIGS.default, unconsumedQueue: 1, oldestQueueAt: 9_000 })).toBe(false);
    expect(shouldCut({ ...base, params: CONFIGS.default, unconsumedQueue: 1, oldestQueueAt: 7_000, pendingTxs: 1, oldestPendingAt: 9_900 })).toBe(true);
    // A forced withdrawal has an L1 deadline: cut at once, whatever the timeout.
    expect(shouldCut({ ...base, params: CONFIGS.default, unconsumedQueue: 1, oldestQueueAt: 9_999, forcedQueued: 1 })).toBe(true);
    // Every prover busy: the timeout waits for a free one (what arrives meanwhile joins the same batch);
    // a full batch and a forced withdrawal are cut all the same.
    expect(shouldCut({ ...base, pendingTxs: 1, oldestPendingAt: 1_000, proversBusy: true })).toBe(false);
    expect(shouldCut({ ...base, pendingTxs: 1, oldestPendingAt: 1_000, proversBusy: false })).toBe(true);
    expect(shouldCut({ ...base, pendingTxs: 2, oldestPendingAt: 9_999, proversBusy: true })).toBe(true);
    expect(shouldCut({ ...base, params: CONFIGS.default, unconsumedQueue: 1, oldestQueueAt: 9_999, forcedQueued: 1, proversBusy: true })).toBe(true);
  });

  test("wire format round-trips and is canonical", () => {
    const tx = item(7, 1, 20n).tx;
    const w = txToWire(tx);
    expect(w).toEqual({ type: "transfer", from: 1, to: 2, token: 1, amount: "1", fee: "20", nonce: 7, validUntil: MAX_U32, signature: { r8x: "1", r8y: "2", s: "3" } });
    expect(parseTx(JSON.parse(JSON.stringify(w)), P)).toEqual(tx);
  });
});
