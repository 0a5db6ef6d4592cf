/**
 * API and engine fuzzing (issue 11): a seeded stream of valid and invalid requests against an
 * in-process sequencer over real HTTP (real anvil, real Rollup, real SQLite, real signature workers;
 * no proofs). Every request is checked against four invariants:
 *
 *   1. no 5xx, no hang: every request is answered within REQUEST_TIMEOUT_MS;
 *   2. nothing invalid is accepted: a request built to be invalid never gets a 2xx, and after any
 *      4xx the account views (balances, nonces, pending balances, orders) and the book are unchanged;
 *   3. nothing valid is lost: every 201/202 is later visible via GET /v1/txs/:hash or
 *      GET /v1/orders/:hash (also after batches are cut and after a restart), the pending nonce
 *      advances exactly once per accepted transfer/withdrawal, accepted transactions end up batched
 *      (never rejected), and of N concurrent requests with the same nonce exactly one is accepted;
 *   4. every error body is {error:{code,message}} with a JSON content type.
 *
 * The seed is printed; MODEX_API_FUZZ_SEED overrides the fixed default, MODEX_API_FUZZ_STEPS the
 * number of steps. Focused regression tests for what the fuzzer found are at the end.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAnvil, type AnvilInstance } from "../chain/anvil";
import type { ModexDeployment } from "../contracts/deploy";
import {
  cancelMessage, CONFIGS, FIELD_MODULUS, generatePrivateKey, initCrypto, MAX_ORDER_AMOUNT, orderMessage, publicKeyOf, signMessage,
  txHash, txMessage, type L2Tx, type Order, type Signature,
} from "../core";
import { SUBGROUP_ORDER } from "../core/eddsa-fast";
import type { RunningApi } from "../sequencer/api";
import type { Sequencer } from "../sequencer/sequencer";
import { orderToWire, txToWire } from "../sequencer/wire";
import { registerTrader, type Trader } from "./helpers/trading";
import { Rng } from "./helpers/rng";
import { deployAccepting, openUnprovenSequencer } from "./helpers/devchain";

const P = CONFIGS.test;
const MARKET = { id: "ETH-USDC", base: 0, quote: 1, makerFeeBips: 10, takerFeeBips: 20 };
const ETHER = 10n ** 18n;
const USDC = 10n ** 6n;
const MAX_U32 = 2 ** 32 - 1;
const ACCOUNTS = 8 ** P.accountLevels;
const TOKENS = Math.min(4 ** P.balanceLevels, 256);
const SEED = (process.env.MODEX_API_FUZZ_SEED ? Number(process.env.MODEX_API_FUZZ_SEED) : 0x5eed11) >>> 0;
const STEPS = Number(process.env.MODEX_API_FUZZ_STEPS ?? 300);
const REQUEST_TIMEOUT_MS = 5_000;
const ZERO_SIG: Signature = { r8x: 0n, r8y: 0n, s: 0n };

// ------------------------------------------------------------------ the world

let anvil: AnvilInstance;
let tmp: string;
let dep: ModexDeployment;
let chainId: number;
let seq: Sequencer;
let api: RunningApi;
const opPriv = generatePrivateKey();

type Signable =
  | { readonly kind: "tx"; readonly tx: L2Tx }
  | { readonly kind: "order"; readonly order: Order }
  | { readonly kind: "cancel"; readonly account: number; readonly orderId: bigint };

/** The one place that binds a message to the deployment (core's signing domain); `chain` forges another chain's. */
function messageOf(s: Signable, chain = chainId): bigint {
  const domain = { chainId: chain, rollup: dep.rollup };
  return s.kind === "tx" ? txMessage(s.tx, domain) : s.kind === "order" ? orderMessage(s.order, domain) : cancelMessage(s.account, s.orderId, domain);
}

const sign = (priv: string, s: Signable, chain?: number): Signature => signMessage(priv, messageOf(s, chain));

async function openSequencer(): Promise<void> {
  ({ seq, api } = await openUnprovenSequencer({ rpcUrl: anvil.rpcUrl, dep, params: P, db: join(tmp, "fuzz.sqlite"), markets: [MARKET] }));
}

async function closeSequencer(): Promise<void> {
  await api.close();
  await seq.stop();
}

async function cutAll(): Promise<number> {
  await seq.pollL1();
  let n = 0;
  while ((await seq.cutBatch()) !== null) n++;
  return n;
}

beforeAll(async () => {
  await initCrypto();
  anvil = await startAnvil({ port: 0 });
  tmp = mkdtempSync(join(tmpdir(), "modex-api-fuzz-"));
  dep = await deployAccepting(anvil.rpcUrl, P, publicKeyOf(opPriv));
  chainId = dep.chainId;
  await openSequencer();
});

afterAll(async () => {
  await closeSequencer().catch(() => undefined);
  await anvil?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// ------------------------------------------------------------------ HTTP

interface Res {
  readonly status: number;
  readonly ms: number;
  readonly contentType: string | null;
  readonly text: string;
  readonly json: unknown;
}

interface Req {
  readonly method: string;
  readonly path: string;
  /** A value is sent as JSON; a string or bytes as they are. */
  readonly body?: unknown;
  /** Default application/json when there is a body; null: no content type. */
  readonly contentType?: string | null;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function send(r: Req): Promise<Res> {
  const t0 = Date.now();
  const headers: Record<string, string> = {};
  let body: string | Uint8Array | undefined;
  if (r.body !== undefined) {
    body = typeof r.body === "string" || r.body instanceof Uint8Array ? r.body : JSON.stringify(r.body);
    if (r.contentType !== null) headers["content-type"] = r.contentType ?? "application/json";
    // fetch gives a string body text/plain by default; bytes go without a content type.
    else if (typeof body === "string") body = new TextEncoder().encode(body);
  }
  const res = await fetch(api.url + r.path, { method: r.method, headers, body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const text = await res.text();
  return { status: res.status, ms: Date.now() - t0, contentType: res.headers.get("content-type"), text, json: parseJson(text) };
}

/** Bytes straight onto a socket, for what fetch cannot send (malformed HTTP). */
function sendRaw(bytes: string, halfClose = false): Promise<Res> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const sock = connect(api.port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`raw request not answered within ${REQUEST_TIMEOUT_MS} ms`));
    }, REQUEST_TIMEOUT_MS);
    sock.on("data", (c) => chunks.push(c));
    sock.on("error", () => undefined);
    sock.on("close", () => {
      clearTimeout(timer);
      const raw = Buffer.concat(chunks).toString("latin1");
      const [head, ...rest] = raw.split("\r\n\r\n");
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      const ct = /\r\ncontent-type: *([^\r]*)/i.exec(head);
      const text = Buffer.from(rest.join("\r\n\r\n"), "latin1").toString("utf8");
      resolve({ status: m ? Number(m[1]) : 0, ms: Date.now() - t0, contentType: ct ? ct[1] : null, text, json: parseJson(text) });
    });
    sock.write(bytes, "latin1", () => {
      if (halfClose) sock.end();
    });
  });
}

/** Invariants 1 and 4 for one answer: "" when it holds. */
function shapeProblem(r: Res): string {
  if (r.status === 0) return "no HTTP status";
  if (r.status >= 500) return `server error ${r.status}`;
  if (r.ms > REQUEST_TIMEOUT_MS) return `answered after ${r.ms} ms`;
  if (r.status >= 400) {
    const e = (r.json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    const keys = r.json && typeof r.json === "object" ? Object.keys(r.json) : [];
    if (!e || typeof e.code !== "string" || !e.code || typeof e.message !== "string" || keys.length !== 1 || Object.keys(e).length !== 2) {
      return `error body is not {error:{code,message}}`;
    }
    if (!r.contentType?.startsWith("application/json")) return `error content type ${r.contentType}`;
  }
  return "";
}

// ------------------------------------------------------------------ the fuzzer

type Json = Record<string, unknown>;

/** What a generated request must do: "valid" must be 2xx; "invalid" must be 4xx (`status` when given); "any" may be either. */
interface Case {
  readonly name: string;
  readonly expect: "valid" | "invalid" | "any";
  readonly status?: number | readonly number[];
  readonly req?: Req;
  readonly raw?: string;
  /** Called with the 2xx answer. */
  readonly accepted?: (json: Json) => void;
}

interface OpenOrder {
  readonly hash: string;
  readonly owner: Trader;
  readonly order: Order;
}

interface Failure {
  readonly step: number;
  readonly name: string;
  readonly problem: string;
  readonly status?: number;
  readonly body?: string;
}

/** Mutations of a JSON value of one kind that no parser may accept. */
const BAD_INTS: readonly unknown[] = [null, true, "7", "0", [], {}, -1, 1.5, 2 ** 53, 1e300, -(2 ** 31), 2 ** 32, 2 ** 64, "1e3", 0.1];
const BAD_DECIMALS: readonly unknown[] = [
  null, false, 1000, 0, [], {}, "-1", "+1", "01", "00", "1e3", "0x10", " 1", "1 ", "", "1.0", "1_000", "\u0661\u0662", "9".repeat(79), "9".repeat(300), "1\u0000", "Infinity", "NaN",
];

class Fuzzer {
  readonly rng: Rng;
  readonly failures: Failure[] = [];
  /** Expected pending nonce of each user (invariant 3). */
  readonly nonces = new Map<number, number>();
  readonly acceptedTxs: string[] = [];
  readonly acceptedOrders: string[] = [];
  readonly fills: string[] = [];
  /** Bodies that were accepted once: sending them again must be refused. */
  readonly replays: Req[] = [];
  readonly open: OpenOrder[] = [];
  private readonly nextOrderId = new Map<number, bigint>();
  private snap = "";
  step = 0;
  requests = 0;
  maxMs = 0;
  readonly counts = new Map<string, number>();

  constructor(seed: number, readonly users: Trader[], readonly stranger: { priv: string; id: number }) {
    this.rng = new Rng(seed);
  }

  fail(name: string, problem: string, r?: Res): void {
    this.failures.push({ step: this.step, name, problem, status: r?.status, body: r?.text.slice(0, 300) });
  }

  // ---------------------------------------------------------------- state views (invariant 2)

  /** Pending nonces as of the last snapshot. */
  private seenNonces = new Map<number, number>();

  async snapshot(): Promise<string> {
    const ids = [0, ...this.users.map((u) => u.id), this.stranger.id, ACCOUNTS - 1];
    const gets = [
      "/v1/status",
      ...ids.map((id) => `/v1/accounts/${id}`),
      ...this.users.map((u) => `/v1/accounts/${u.id}/orders?limit=1000`),
      `/v1/markets/${MARKET.id}/book?depth=1000`,
      `/v1/markets/${MARKET.id}/trades?limit=1000`,
    ];
    const rs = await Promise.all(gets.map((path) => send({ method: "GET", path })));
    rs.forEach((r, i) => {
      if (r.status !== 200) this.fail(`snapshot ${gets[i]}`, `status ${r.status}`, r);
    });
    for (const r of rs.slice(1, 1 + ids.length)) {
      const a = r.json as { id: number; pendingNonce: number };
      this.seenNonces.set(a.id, a.pendingNonce);
    }
    const status = rs[0].json as Json;
    return JSON.stringify({ views: rs.slice(1).map((r) => r.json), pendingTxs: status.pendingTxs, stateRoot: status.stateRoot });
  }

  /** Invariant 3: each user's pending nonce (as of the last snapshot) is the one the accepted transactions give. */
  checkNonces(name: string): void {
    for (const u of this.users) {
      const seen = this.seenNonces.get(u.id);
      if (seen !== this.nonces.get(u.id)) this.fail(name, `account ${u.id}: pendingNonce ${seen}, expected ${this.nonces.get(u.id)}`);
    }
  }

  async init(): Promise<void> {
    this.snap = await this.snapshot();
    for (const u of this.users) this.nonces.set(u.id, this.seenNonces.get(u.id)!);
  }

  /** Runs one case alone: invariants 1, 2, 4 and the case's expectation. */
  async run(c: Case): Promise<void> {
    this.counts.set(c.name, (this.counts.get(c.name) ?? 0) + 1);
    let r: Res;
    try {
      r = c.raw !== undefined ? await sendRaw(c.raw) : await send(c.req!);
    } catch (e) {
      this.fail(c.name, `no answer: ${(e as Error).message}`);
      this.snap = await this.snapshot();
      return;
    }
    this.requests++;
    this.maxMs = Math.max(this.maxMs, r.ms);
    const after = await this.snapshot();
    this.judge(c, r);
    if (r.status >= 400 && after !== this.snap) this.fail(c.name, `a ${r.status} changed the state: ${diff(this.snap, after)}`, r);
    this.snap = after;
    this.checkNonces(c.name);
  }

  /** Runs cases concurrently; returns the answers (invariants 1, 4 and expectations per answer). */
  async runConcurrently(name: string, cases: readonly Case[]): Promise<Res[]> {
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
    const rs = await Promise.all(
      cases.map((c) =>
        send(c.req!).catch((e: Error): Res => {
          this.fail(c.name, `no answer: ${e.message}`);
          return { status: 0, ms: 0, contentType: null, text: "", json: undefined };
        }),
      ),
    );
    this.requests += rs.length;
    rs.forEach((r, i) => {
      if (r.status === 0) return;
      this.maxMs = Math.max(this.maxMs, r.ms);
      this.judge(cases[i], r);
    });
    this.snap = await this.snapshot();
    this.checkNonces(name);
    return rs;
  }

  private judge(c: Case, r: Res): void {
    const p = shapeProblem(r);
    if (p) this.fail(c.name, p, r);
    const ok = r.status >= 200 && r.status < 300;
    if (ok) {
      if (c.expect === "invalid") this.fail(c.name, `invalid request accepted (${r.status})`, r);
      else c.accepted?.(r.json as Json);
    } else {
      if (c.expect === "valid") this.fail(c.name, `valid request refused`, r);
      const want = c.status === undefined ? [] : typeof c.status === "number" ? [c.status] : c.status;
      if (want.length > 0 && !want.includes(r.status)) this.fail(c.name, `status ${r.status}, expected ${want.join(" or ")}`, r);
    }
  }

  // ---------------------------------------------------------------- transactions

  user(): Trader {
    return this.rng.pick(this.users);
  }

  /** A well-formed, correctly signed transfer or withdrawal that the sequencer must accept. */
  validTx(signer = this.user(), nonce = this.nonces.get(signer.id)!, kind = this.rng.chance(0.75) ? "transfer" : "withdraw", fixedAmount?: bigint): { tx: L2Tx; body: Json } {
    const token = signer === this.users[1] ? 1 : 0;
    const amount = fixedAmount ?? (token === 0 ? this.rng.pick([0n, 1n, 1000n, 10n ** 12n, 10n ** 15n, 3n * 10n ** 14n]) : this.rng.pick([1n, 100n, 10_000n, 1_234_567n]));
    const fee = this.rng.pick([0n, 0n, 1n, 10n, 2000n]);
    const validUntil = this.rng.chance(0.5) ? MAX_U32 : Math.floor(Date.now() / 1000) + 3600 + this.rng.int(10_000);
    const common = { token, amount, fee, nonce: BigInt(nonce), validUntil, signature: ZERO_SIG };
    const unsigned: L2Tx =
      kind === "transfer"
        ? { type: "transfer", from: signer.id, to: this.rng.pick([0, ...this.users.map((u) => u.id)]), ...common }
        : { type: "withdraw", account: signer.id, ...common };
    const tx = { ...unsigned, signature: sign(signer.priv, { kind: "tx", tx: unsigned }) };
    return { tx, body: txToWire(tx) as unknown as Json };
  }

  /**
   * Signatures cost ~30 ms (circomlibjs): invalid requests mostly start from a valid, signed, never
   * sent transaction of the signer's current nonce, made once and mutated many times.
   */
  private readonly unsentTx = new Map<number, { nonce: number; tx: L2Tx; body: Json }>();
  baseTx(signer: Trader): { tx: L2Tx; body: Json } {
    const c = this.unsentTx.get(signer.id);
    if (c && c.nonce === this.nonces.get(signer.id) && this.rng.chance(0.8)) return c;
    const fresh = this.validTx(signer);
    this.unsentTx.set(signer.id, { nonce: this.nonces.get(signer.id)!, ...fresh });
    return fresh;
  }

  private readonly unsentOrder = new Map<number, Order>();
  baseOrder(u: Trader): Order {
    const c = this.unsentOrder.get(u.id);
    if (c && this.rng.chance(0.8)) return c;
    const fresh = this.makeOrder(u);
    this.unsentOrder.set(u.id, fresh);
    return fresh;
  }

  txCase(name: string, tx: L2Tx, body: Json, expect: Case["expect"] = "valid"): Case {
    const signer = tx.type === "transfer" ? tx.from : tx.account;
    const want = txHash(messageOf({ kind: "tx", tx }));
    const req: Req = { method: "POST", path: "/v1/txs", body };
    return {
      name,
      expect,
      req,
      accepted: (j) => {
        if (j.hash !== want || j.status !== "accepted") this.fail(name, `202 body ${JSON.stringify(j)}, expected hash ${want}`);
        this.acceptedTxs.push(String(j.hash));
        this.nonces.set(signer, this.nonces.get(signer)! + 1);
        this.replays.push(req);
      },
    };
  }

  async validTxStep(): Promise<void> {
    const { tx, body } = this.validTx();
    await this.run(this.txCase(`valid ${tx.type}`, tx, body));
  }

  /** A valid transaction, then one thing broken. */
  async invalidTxStep(): Promise<void> {
    const signer = this.user();
    const { tx, body } = this.baseTx(signer);
    const b: Json = JSON.parse(JSON.stringify(body));
    const sig = b.signature as Json;
    const rng = this.rng;
    const nonce = this.nonces.get(signer.id)!;
    const resign = (changes: Partial<L2Tx>, priv = signer.priv, chain?: number): Json => {
      const t = { ...tx, ...changes, signature: ZERO_SIG } as L2Tx;
      return txToWire({ ...t, signature: sign(priv, { kind: "tx", tx: t }, chain) }) as unknown as Json;
    };
    const other = this.users.find((u) => u !== signer)!;
    const now = Math.floor(Date.now() / 1000);
    const mutations: Array<[string, () => Json | string, (number | number[])?]> = [
      ["wrong type for an integer field", () => ({ ...b, [rng.pick(tx.type === "transfer" ? ["from", "to", "token", "nonce", "validUntil"] : ["account", "token", "nonce", "validUntil"])]: rng.pick(BAD_INTS) }), 400],
      ["non-decimal amount or fee", () => ({ ...b, [rng.pick(["amount", "fee"])]: rng.pick(BAD_DECIMALS) }), 400],
      ["non-decimal signature component", () => ({ ...b, signature: { ...sig, [rng.pick(["r8x", "r8y", "s"])]: rng.pick(BAD_DECIMALS) } }), 400],
      ["signature component ≥ field modulus", () => ({ ...b, signature: { ...sig, [rng.pick(["r8x", "r8y", "s"])]: (FIELD_MODULUS + BigInt(rng.int(3))).toString() } }), 400],
      ["r8x + p (same point mod p)", () => ({ ...b, signature: { ...sig, r8x: (BigInt(sig.r8x as string) + FIELD_MODULUS).toString() } }), 400],
      ["s + l (s ≥ subgroup order)", () => ({ ...b, signature: { ...sig, s: (BigInt(sig.s as string) + SUBGROUP_ORDER).toString() } }), 422],
      ["s = l", () => ({ ...b, signature: { ...sig, s: SUBGROUP_ORDER.toString() } }), 422],
      ["s = p - 1", () => ({ ...b, signature: { ...sig, s: (FIELD_MODULUS - 1n).toString() } }), 422],
      ["R8 off curve", () => ({ ...b, signature: { ...sig, r8y: ((BigInt(sig.r8y as string) + 1n) % FIELD_MODULUS).toString() } }), 422],
      ["zero signature", () => ({ ...b, signature: { r8x: "0", r8y: "1", s: "0" } }), 422],
      ["missing field", () => {
        const c = { ...b };
        delete c[rng.pick(Object.keys(c))];
        return c;
      }, 400],
      ["missing signature component", () => {
        const s = { ...sig };
        delete s[rng.pick(["r8x", "r8y", "s"])];
        return { ...b, signature: s };
      }, 400],
      ["extra field", () => ({ ...b, [rng.pick(["extra", "timeInForce", "chainId", "hash", "constructor", "toString"])]: rng.pick([1, "x", null, {}]) }), 400],
      ["extra signature field", () => ({ ...b, signature: { ...sig, r8z: "1" } }), 400],
      ["__proto__ field", () => `{"__proto__":{"type":"transfer"},${JSON.stringify(b).slice(1)}`, 400],
      ["bad type", () => ({ ...b, type: rng.pick(["Transfer", "withdrawal", "fill", "", 1, null, ["transfer"]]) }), 400],
      ["transfer shaped as withdraw", () => ({ ...b, type: tx.type === "transfer" ? "withdraw" : "transfer" }), 400],
      ["body not an object", () => rng.pick<unknown>([[b], "transfer", 1, true]) as Json, 400],
      ["amount not float40", () => ({ ...b, amount: ((1n << 35n) + 1n).toString() }), 400],
      ["fee not float16", () => ({ ...b, fee: "2049" }), 400],
      ["amount ≥ 2^128", () => ({ ...b, amount: (1n << 128n).toString() }), 400],
      ["token outside the tree", () => ({ ...b, token: TOKENS + rng.int(250 - TOKENS) }), 400],
      ["account outside the tree", () => ({ ...b, [tx.type === "transfer" ? rng.pick(["from", "to"]) : "account"]: ACCOUNTS + rng.int(1000) }), 400],
      ["tampered amount", () => ({ ...b, amount: (tx.amount === 0n ? 1n : tx.amount * 2n).toString() }), 422],
      ["tampered validUntil", () => ({ ...b, validUntil: tx.validUntil - 1 }), 422],
      ["signed by another key", () => resign({}, other.priv), 422],
      ["signed for another chain", () => resign({}, signer.priv, chainId + 1), 422],
      // 409 when it recreates an accepted transaction exactly.
      ["nonce from the past", () => resign({ nonce: BigInt(Math.max(0, nonce - 1 - rng.int(3))) }), [409, 422]],
      ["nonce from the future", () => resign({ nonce: BigInt(nonce + 1 + rng.int(5)) }), 422],
      ["nonce = 2^32 - 1", () => resign({ nonce: BigInt(MAX_U32) }), 422],
      ["expired", () => resign({ validUntil: rng.pick([0, now - 10, now + 30]) }), 422],
      ["more than the balance", () => resign({ amount: 10n ** BigInt(rng.pick([24, 28, 31])) }), 422],
      ["fee beyond the balance", () => resign({ amount: 0n, fee: 2047n * 10n ** 31n }), 422],
      ["token without balance", () => resign({ token: 2 + rng.int(TOKENS - 2), amount: 1n }), 422],
    ];
    if (tx.type === "transfer") {
      mutations.push(["to an unregistered account", () => resign({ to: this.stranger.id } as Partial<L2Tx>), 422]);
    }
    const [name, make, status] = rng.pick(mutations);
    await this.run({ name: `tx: ${name}`, expect: "invalid", status, req: { method: "POST", path: "/v1/txs", body: make() } });
  }

  async strangerTxStep(): Promise<void> {
    const unsigned: L2Tx = { type: "withdraw", account: this.stranger.id, token: 0, amount: 1n, fee: 0n, nonce: 0n, validUntil: MAX_U32, signature: ZERO_SIG };
    const tx = { ...unsigned, signature: sign(this.stranger.priv, { kind: "tx", tx: unsigned }) };
    await this.run({ name: "tx: unregistered signer", expect: "invalid", status: 422, req: { method: "POST", path: "/v1/txs", body: txToWire(tx) } });
  }

  async replayStep(): Promise<void> {
    if (this.replays.length === 0) return this.validTxStep();
    const req = this.rng.pick(this.replays);
    await this.run({ name: `replay of an accepted ${req.path === "/v1/txs" ? "tx" : "order"}`, expect: "invalid", status: 409, req });
  }

  // ---------------------------------------------------------------- orders

  orderIdFor(u: Trader): bigint {
    const id = this.nextOrderId.get(u.id) ?? BigInt(1 + this.rng.int(5));
    this.nextOrderId.set(u.id, id + 1n);
    return id;
  }

  /** A correctly signed order in the market; whether it can rest, take or is refused depends on the book. */
  makeOrder(u = this.user(), o: Partial<Order> = {}): Order {
    const rng = this.rng;
    const side = u === this.users[1] ? (rng.chance(0.9) ? "buy" : "sell") : rng.chance(0.85) ? "sell" : "buy";
    const amount = rng.pick([10n ** 16n, 2n * 10n ** 16n, 5n * 10n ** 15n, 1n, 7n, 10n ** 17n]);
    // Around 2000 USDC per ETH, sometimes far off; amounts of 1 and 7 wei make odd prices.
    const perEth = rng.pick([1900n, 1990n, 2000n, 2010n, 2100n, 1n]) * USDC;
    const quoteAmount = amount >= 10n ** 12n ? (amount * perEth) / ETHER : BigInt(1 + rng.int(3));
    const body = {
      account: u.id, orderId: this.orderIdFor(u), base: MARKET.base, quote: MARKET.quote, side, amount, quoteAmount,
      maxFeeBips: rng.pick([0, 5, 10, 20, 30, 100, 10_000]), validUntil: rng.chance(0.7) ? MAX_U32 : Math.floor(Date.now() / 1000) + 600 + rng.int(3600),
      ...o, signature: ZERO_SIG,
    } as Order;
    return { ...body, signature: sign(this.users.find((x) => x.id === body.account)?.priv ?? u.priv, { kind: "order", order: body }) };
  }

  orderCase(name: string, order: Order, owner: Trader, timeInForce?: string): Case {
    const body = { ...orderToWire(order), ...(timeInForce === undefined ? {} : { timeInForce }) };
    const req: Req = { method: "POST", path: "/v1/orders", body };
    return {
      name,
      expect: "any",
      req,
      accepted: (j) => {
        const hash = String(j.hash);
        this.acceptedOrders.push(hash);
        for (const f of (j.fills as string[]) ?? []) this.fills.push(f);
        if (j.status === "open" || j.status === "partially_filled") this.open.push({ hash, owner, order });
        this.replays.push(req);
      },
    };
  }

  async orderStep(): Promise<void> {
    const u = this.user();
    const tif = this.rng.pick([undefined, undefined, "gtc", "ioc", "post_only"]);
    await this.run(this.orderCase(`order ${tif ?? "(default)"}`, this.makeOrder(u), u, tif));
  }

  async invalidOrderStep(): Promise<void> {
    const rng = this.rng;
    const u = this.user();
    const order = this.baseOrder(u);
    const b: Json = JSON.parse(JSON.stringify(orderToWire(order)));
    const sig = b.signature as Json;
    const other = this.users.find((x) => x !== u)!;
    const now = Math.floor(Date.now() / 1000);
    const resign = (o: Partial<Order>, priv = u.priv): Json => {
      const x = { ...order, ...o, signature: ZERO_SIG };
      return orderToWire({ ...x, signature: sign(priv, { kind: "order", order: x }) }) as unknown as Json;
    };
    const mutations: Array<[string, () => Json | string, (number | number[])?]> = [
      ["wrong type for an integer field", () => ({ ...b, [rng.pick(["account", "orderId", "base", "quote", "maxFeeBips", "validUntil"])]: rng.pick(BAD_INTS) }), 400],
      ["bad order id", () => ({ ...b, orderId: rng.pick<unknown>([-1, 2 ** 32, 2 ** 53, "1", 1.5, null, "0x1"]) }), 400],
      ["non-decimal amount", () => ({ ...b, [rng.pick(["amount", "quoteAmount"])]: rng.pick(BAD_DECIMALS) }), 400],
      ["zero amount", () => ({ ...b, [rng.pick(["amount", "quoteAmount"])]: "0" }), 400],
      ["amount not float40", () => ({ ...b, amount: ((1n << 35n) + 1n).toString() }), 400],
      ["amount beyond the order maximum", () => ({ ...b, quoteAmount: (MAX_ORDER_AMOUNT + 1n).toString() }), 400],
      ["maxFeeBips > 10000", () => ({ ...b, maxFeeBips: 10_001 + rng.int(100) }), 400],
      ["bad side", () => ({ ...b, side: rng.pick<unknown>(["BUY", "sel", "", 0, null]) }), 400],
      ["bad timeInForce", () => ({ ...b, timeInForce: rng.pick<unknown>(["fok", "GTC", "", 1, null, ["gtc"]]) }), 400],
      ["no such market", () => resign(rng.pick<Partial<Order>>([{ base: 1, quote: 0 }, { base: 0, quote: 0 }, { base: 2, quote: 3 }])), 400],
      ["token outside the tree", () => ({ ...b, base: TOKENS + rng.int(200) }), 400],
      ["account outside the tree", () => ({ ...b, account: ACCOUNTS + rng.int(1000) }), 400],
      ["missing field", () => {
        const c = { ...b };
        delete c[rng.pick(Object.keys(c))];
        return c;
      }, 400],
      ["extra field", () => ({ ...b, [rng.pick(["type", "price", "hash", "nonce"])]: 1 }), 400],
      ["__proto__ field", () => `{"__proto__":{"timeInForce":"ioc"},${JSON.stringify(b).slice(1)}`, 400],
      ["signature component ≥ field modulus", () => ({ ...b, signature: { ...sig, [rng.pick(["r8x", "r8y", "s"])]: FIELD_MODULUS.toString() } }), 400],
      ["s + l", () => ({ ...b, signature: { ...sig, s: (BigInt(sig.s as string) + SUBGROUP_ORDER).toString() } }), 422],
      ["R8 off curve", () => ({ ...b, signature: { ...sig, r8x: ((BigInt(sig.r8x as string) + 1n) % FIELD_MODULUS).toString() } }), 422],
      ["tampered amount", () => ({ ...b, amount: (order.amount * 2n).toString() }), 422],
      ["tampered side", () => ({ ...b, side: order.side === "buy" ? "sell" : "buy" }), 422],
      ["signed by another key", () => resign({}, other.priv), 422],
      ["expired", () => resign({ validUntil: rng.pick([0, now - 5, now + 60]) }), 422],
      // 409 when the order's slot holds an open order (checked first).
      ["more than the balance", () => resign(order.side === "sell" ? { amount: 10n ** 21n, quoteAmount: 10n ** 9n } : { amount: 10n ** 16n, quoteAmount: 10n ** 15n }), [409, 422]],
    ];
    const [name, make, status] = rng.pick(mutations);
    await this.run({ name: `order: ${name}`, expect: "invalid", status, req: { method: "POST", path: "/v1/orders", body: make() } });
  }

  async strangerOrderStep(): Promise<void> {
    const x: Order = { account: this.stranger.id, orderId: 1n, base: 0, quote: 1, side: "sell", amount: 10n ** 16n, quoteAmount: 20n * USDC, maxFeeBips: 30, validUntil: MAX_U32, signature: ZERO_SIG };
    const o = { ...x, signature: sign(this.stranger.priv, { kind: "order", order: x }) };
    await this.run({ name: "order: unregistered signer", expect: "invalid", status: 422, req: { method: "POST", path: "/v1/orders", body: orderToWire(o) } });
  }

  async cancelStep(): Promise<void> {
    const rng = this.rng;
    if (this.open.length === 0) return this.orderStep();
    const target = rng.pick(this.open);
    const path = `/v1/orders/${target.hash}`;
    const owner = target.owner;
    const other = this.users.find((u) => u !== owner)!;
    const good = sign(owner.priv, { kind: "cancel", account: owner.id, orderId: target.order.orderId });
    const wire = (s: Signature) => ({ signature: { r8x: s.r8x.toString(), r8y: s.r8y.toString(), s: s.s.toString() } });
    const choice = rng.int(10);
    if (choice < 3) {
      await this.run({
        name: "cancel by the owner",
        expect: "any",
        req: { method: "DELETE", path, body: wire(good) },
        accepted: (j) => {
          if (j.status !== "cancelled") this.fail("cancel by the owner", `200 with status ${String(j.status)}`);
          this.open.splice(this.open.indexOf(target), 1);
        },
      });
      return;
    }
    const cases: Array<[string, Req, number?]> = [
      ["cancel of another's order", { method: "DELETE", path, body: wire(sign(other.priv, { kind: "cancel", account: owner.id, orderId: target.order.orderId })) }, 422],
      ["cancel signed with the other's own account", { method: "DELETE", path, body: wire(sign(other.priv, { kind: "cancel", account: other.id, orderId: target.order.orderId })) }, 422],
      ["cancel of another order id", { method: "DELETE", path, body: wire(sign(owner.priv, { kind: "cancel", account: owner.id, orderId: target.order.orderId + 1n })) }, 422],
      ["cancel for another chain", { method: "DELETE", path, body: wire(sign(owner.priv, { kind: "cancel", account: owner.id, orderId: target.order.orderId }, chainId + 7)) }, 422],
      ["cancel with s + l", { method: "DELETE", path, body: wire({ ...good, s: good.s + SUBGROUP_ORDER }) }, 422],
      ["cancel with R8 off curve", { method: "DELETE", path, body: wire({ ...good, r8y: (good.r8y + 1n) % FIELD_MODULUS }) }, 422],
      ["cancel with a coordinate ≥ p", { method: "DELETE", path, body: wire({ ...good, r8x: good.r8x + FIELD_MODULUS }) }, 400],
      ["cancel with extra fields", { method: "DELETE", path, body: { ...wire(good), account: owner.id } }, 400],
      ["cancel without a body", { method: "DELETE", path, body: "", contentType: null }, 415],
      ["cancel with an empty object", { method: "DELETE", path, body: {} }, 400],
      ["cancel with a bad hash", { method: "DELETE", path: `/v1/orders/${target.hash.slice(0, 40)}`, body: wire(good) }, 400],
      ["cancel of an unknown order", { method: "DELETE", path: `/v1/orders/${rng.hex(32)}`, body: wire(good) }, 404],
    ];
    const [name, req, status] = rng.pick(cases);
    await this.run({ name, expect: "invalid", status, req });
  }

  // ---------------------------------------------------------------- HTTP-level garbage

  async garbageStep(): Promise<void> {
    const rng = this.rng;
    const { body } = this.baseTx(this.user());
    const valid = JSON.stringify(body);
    const post = rng.pick(["/v1/txs", "/v1/orders"]);
    const randomBytes = () => {
      const n = 1 + rng.int(200);
      const a = new Uint8Array(n);
      for (let i = 0; i < n; i++) a[i] = rng.int(256);
      return a;
    };
    const cases: Array<[string, Req, number?]> = [
      ["truncated JSON", { method: "POST", path: post, body: valid.slice(0, 1 + rng.int(valid.length - 2)) }, 400],
      ["garbage JSON", { method: "POST", path: post, body: rng.pick(["{", "}", "nul", "{'a':1}", "{\"a\":}", "[1,]", "\u0000", "{\"type\":\"transfer\"", "NaN", "undefined"]) }, 400],
      ["JSON that is not an object", { method: "POST", path: post, body: rng.pick(["[]", "\"x\"", "1", "null", "true", "[{}]"]) }, 400],
      ["random bytes", { method: "POST", path: post, body: randomBytes() }],
      ["deeply nested JSON", { method: "POST", path: post, body: "[".repeat(4000) + "]".repeat(4000) }, 400],
      ["body over the limit", { method: "POST", path: post, body: JSON.stringify({ ...body, pad: "x".repeat(17_000 + rng.int(50_000)) }) }, 413],
      ["text/plain", { method: "POST", path: post, body: valid, contentType: "text/plain" }, 415],
      ["form content type", { method: "POST", path: post, body: valid, contentType: "application/x-www-form-urlencoded" }, 415],
      ["multipart content type", { method: "POST", path: post, body: valid, contentType: "multipart/form-data; boundary=x" }, 415],
      ["no content type", { method: "POST", path: post, body: valid, contentType: null }, 415],
      ["utf-16 charset", { method: "POST", path: post, body: valid, contentType: "application/json; charset=utf-16" }],
      ["latin1 charset", { method: "POST", path: post, body: valid, contentType: "application/json; charset=latin1" }, 415],
      ["application/jsonx", { method: "POST", path: post, body: valid, contentType: "application/jsonx" }, 415],
      ["empty JSON body", { method: "POST", path: post, body: "" }, 400],
      ["bad account path", { method: "GET", path: `/v1/accounts/${rng.pick(["-1", "1e3", "0x1", "01", "1.0", "abc", "%20", "9".repeat(17), "99999999999999999999", String(ACCOUNTS)])}` }],
      ["bad batch path", { method: "GET", path: `/v1/batches/${rng.pick(["-1", "x", "9007199254740993", "1e9", "999999"])}` }],
      ["bad tx hash", { method: "GET", path: `/v1/txs/${rng.pick(["0x", "0x1", "zz", rng.hex(31), rng.hex(33), rng.hex(32).slice(2), `${rng.hex(32).slice(0, 65)}g`])}` }, 400],
      ["unknown tx hash", { method: "GET", path: `/v1/txs/${rng.hex(32)}` }, 404],
      ["unknown order hash", { method: "GET", path: `/v1/orders/${rng.hex(32).toUpperCase().replace("0X", "0x")}` }, 404],
      ["bad percent-encoding", { method: "GET", path: rng.pick(["/v1/txs/%E0%A4%A", "/v1/accounts/%", "/v1/markets/%zz/book", "/v1/orders/%ff%fe"]) }, 400],
      ["bad query", { method: "GET", path: rng.pick([
        `/v1/markets/${MARKET.id}/book?depth=0`, `/v1/markets/${MARKET.id}/book?depth=1001`, `/v1/markets/${MARKET.id}/book?depth=1&depth=2`,
        `/v1/markets/${MARKET.id}/book?depth[a]=1`, `/v1/markets/${MARKET.id}/trades?limit=-1`, `/v1/accounts/1/orders?limit=abc`,
        `/v1/accounts/1/orders?limit=${"9".repeat(30)}`, `/v1/markets/${MARKET.id}/book?depth=`,
      ]) }, 400],
      ["unknown market", { method: "GET", path: `/v1/markets/${rng.pick(["NOPE", "__proto__", "constructor", "toString", "ETH-USDC ", "eth-usdc", "x".repeat(300)])}/${rng.pick(["book", "trades"])}` }, 404],
      ["unknown route", { method: rng.pick(["GET", "PUT", "PATCH", "DELETE", "POST"]), path: rng.pick(["/", "/v1", "/v2/txs", "/v1/txs/", "/v1/status/x", "/../../etc/passwd", "/v1/accounts", "/v1/orders"]), body: "{}" }],
      ["long URL", { method: "GET", path: rng.pick(["/v1/txs/", "/v1/accounts/", "/v1/markets/", "/v1/nope/"]) + "a".repeat(rng.pick([2_000, 9_000, 20_000, 70_000])) }],
      ["long query", { method: "GET", path: `/v1/markets/${MARKET.id}/book?` + "depth=1&".repeat(rng.pick([200, 3_000])) }],
    ];
    const [name, req, status] = rng.pick(cases);
    // GET and HEAD carry no body in fetch.
    const r = req.method === "GET" ? { method: "GET", path: req.path } : req;
    await this.run({ name: `http: ${name}`, expect: "invalid", status, req: r });
  }

  async rawStep(): Promise<void> {
    const rng = this.rng;
    const { body } = this.baseTx(this.user());
    const json = JSON.stringify(body);
    const cases: Array<[string, string]> = [
      ["malformed request line", "GARBAGE\r\n\r\n"],
      ["unsupported HTTP version", "GET /v1/status HTTP/9.9\r\nHost: x\r\nConnection: close\r\n\r\n"],
      ["header section too large", `GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Pad: ${"a".repeat(20_000)}\r\n\r\n`],
      ["request line too long", `GET /v1/txs/${"a".repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`],
      ["bad chunked encoding", `POST /v1/txs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n${json}\r\n0\r\n\r\n`],
      ["non-numeric content length", `POST /v1/txs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\nConnection: close\r\n\r\n${json}`],
      ["two content lengths", `POST /v1/txs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\nConnection: close\r\n\r\n{}`],
      ["header without a colon", "GET /v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\nNoColonHere\r\n\r\n"],
      ["gzip that is not", `POST /v1/txs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: ${json.length}\r\nConnection: close\r\n\r\n${json}`],
      ["unknown content encoding", `POST /v1/txs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Encoding: zstd2\r\nContent-Length: ${json.length}\r\nConnection: close\r\n\r\n${json}`],
    ];
    const [name, raw] = rng.pick(cases);
    await this.run({ name: `raw: ${name}`, expect: "invalid", raw });
  }

  // ---------------------------------------------------------------- races

  /** N differently signed transactions with one nonce at once: exactly one accepted. */
  async raceNonceStep(): Promise<void> {
    const u = this.user();
    const nonce = this.nonces.get(u.id)!;
    const n = 3 + this.rng.int(4);
    // Distinct amounts, so distinct hashes.
    const cases = Array.from({ length: n }, (_, i) => {
      const { tx, body } = this.validTx(u, nonce, "transfer", BigInt(1000 * (i + 1)));
      return this.txCase("race: same nonce", tx, body, "any");
    });
    const rs = await this.runConcurrently("race: same nonce", cases);
    const ok = rs.filter((r) => r.status === 202).length;
    if (ok !== 1) this.fail("race: same nonce", `${ok} of ${n} transactions with nonce ${nonce} accepted (${rs.map((r) => r.status).join(",")})`);
  }

  /** The same transaction N times at once: exactly one accepted, the rest 409. */
  async raceDuplicateStep(): Promise<void> {
    const { tx, body } = this.validTx();
    const n = 2 + this.rng.int(5);
    const c = this.txCase("race: same transaction", tx, body, "any");
    const rs = await this.runConcurrently("race: same transaction", Array.from({ length: n }, () => c));
    const ok = rs.filter((r) => r.status === 202).length;
    if (ok !== 1 || rs.some((r) => r.status !== 202 && r.status !== 409)) this.fail("race: same transaction", `statuses ${rs.map((r) => r.status).join(",")}`);
  }

  /** The same order N times at once: at most one accepted, the rest refused. */
  async raceOrderStep(): Promise<void> {
    const u = this.user();
    const c = this.orderCase("race: same order", this.makeOrder(u), u, this.rng.pick([undefined, "ioc", "post_only"]));
    const n = 2 + this.rng.int(4);
    const rs = await this.runConcurrently("race: same order", Array.from({ length: n }, () => c));
    const ok = rs.filter((r) => r.status === 201).length;
    if (ok > 1 || (ok === 1 && rs.some((r) => r.status !== 201 && r.status !== 409))) this.fail("race: same order", `statuses ${rs.map((r) => r.status).join(",")}`);
  }

  /** One valid transaction among garbage, all at once. */
  async raceMixedStep(): Promise<void> {
    const { tx, body } = this.validTx();
    const garbage: Case[] = Array.from({ length: 2 + this.rng.int(4) }, () => {
      const b = { ...body, signature: { ...(body.signature as Json), s: (SUBGROUP_ORDER + BigInt(this.rng.int(1000))).toString() } };
      return { name: "race: garbage beside a valid tx", expect: "invalid", req: { method: "POST", path: "/v1/txs", body: this.rng.chance(0.5) ? b : "{oops" } };
    });
    await this.runConcurrently("race: mixed", [this.txCase("race: valid beside garbage", tx, body), ...garbage]);
  }

  /** Valid transactions of several signers and an order while a batch is being cut: none lost, none rejected later. */
  async raceCutStep(): Promise<void> {
    const signers = this.users.filter(() => this.rng.chance(0.7));
    const cases = signers.map((u) => {
      const { tx, body } = this.validTx(u);
      return this.txCase("race with a cut: valid tx", tx, body);
    });
    const u = this.user();
    cases.push(this.orderCase("race with a cut: order", this.makeOrder(u), u));
    this.counts.set("race: with a cut", (this.counts.get("race: with a cut") ?? 0) + 1);
    const [rs] = await Promise.all([
      Promise.all(cases.map((c) => send(c.req!))),
      (async () => {
        await new Promise((r) => setImmediate(r));
        await cutAll();
      })(),
    ]);
    this.requests += rs.length;
    rs.forEach((r, i) => this.judge(cases[i], r));
    this.snap = await this.snapshot();
    this.checkNonces("race: with a cut");
  }

  // ---------------------------------------------------------------- the run and the end checks

  async cut(): Promise<void> {
    await cutAll();
    this.snap = await this.snapshot();
  }

  async stepOnce(): Promise<void> {
    const r = this.rng.next();
    const steps: Array<[number, () => Promise<void>]> = [
      [0.15, () => this.validTxStep()],
      [0.22, () => this.invalidTxStep()],
      [0.02, () => this.strangerTxStep()],
      [0.1, () => this.orderStep()],
      [0.12, () => this.invalidOrderStep()],
      [0.01, () => this.strangerOrderStep()],
      [0.08, () => this.cancelStep()],
      [0.11, () => this.garbageStep()],
      [0.04, () => this.rawStep()],
      [0.04, () => this.replayStep()],
      [0.04, () => this.raceNonceStep()],
      [0.02, () => this.raceDuplicateStep()],
      [0.02, () => this.raceOrderStep()],
      [0.01, () => this.raceMixedStep()],
      [0.02, () => this.raceCutStep()],
    ];
    let acc = 0;
    for (const [p, f] of steps) {
      acc += p;
      if (r < acc) return f();
    }
    return this.validTxStep();
  }

  /** Invariant 3 at the end: every acknowledged operation is visible, and no transaction was rejected later. */
  async checkAccepted(label: string, settled: boolean): Promise<void> {
    for (const h of [...this.acceptedTxs, ...this.fills]) {
      const r = await send({ method: "GET", path: `/v1/txs/${h}` });
      if (r.status !== 200) this.fail(label, `accepted ${h} is not visible (${r.status})`, r);
      else if ((r.json as Json).status === "rejected") this.fail(label, `accepted ${h} was rejected later: ${JSON.stringify((r.json as Json).reason)}`, r);
      else if (settled && (r.json as Json).status !== "batched") this.fail(label, `${h} is ${String((r.json as Json).status)} after every batch was cut`, r);
    }
    for (const h of this.acceptedOrders) {
      const r = await send({ method: "GET", path: `/v1/orders/${h}` });
      if (r.status !== 200) this.fail(label, `accepted order ${h} is not visible (${r.status})`, r);
    }
    await this.snapshot();
    this.checkNonces(label);
  }
}

function diff(a: string, b: string): string {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return `…${a.slice(Math.max(0, i - 120), i + 80)}… became …${b.slice(Math.max(0, i - 120), i + 80)}…`;
}

// ------------------------------------------------------------------ the fuzz run

describe("API fuzzing", () => {
  const users: Trader[] = [];
  const stranger = { priv: generatePrivateKey(), id: 10 };

  beforeAll(async () => {
    for (const [i, token, amount] of [[1, 0, 10n * ETHER], [2, 1, 100_000n * USDC], [3, 0, 10n * ETHER]] as const) {
      users.push((await registerTrader(anvil.rpcUrl, anvil.chainId, dep, i, token, amount)).trader);
    }
    await cutAll();
  });

  test(`seeded run (MODEX_API_FUZZ_SEED=${SEED}, ${STEPS} steps)`, async () => {
    // eslint-disable-next-line no-console
    console.log(`api fuzz: seed ${SEED} (MODEX_API_FUZZ_SEED=${SEED} reproduces), ${STEPS} steps`);
    const t0 = Date.now();
    const fz = new Fuzzer(SEED, users, stranger);
    await fz.init();
    for (fz.step = 1; fz.step <= STEPS; fz.step++) {
      await fz.stepOnce();
      if (fz.step % 60 === 0) await fz.cut();
      if (fz.failures.length > 40) break;
    }
    await fz.checkAccepted("before the last cut", false);
    await fz.cut();
    await fz.checkAccepted("after every batch was cut", true);
    // Nothing acknowledged is lost across a restart either.
    await closeSequencer();
    await openSequencer();
    await fz.checkAccepted("after a restart", true);
    const summary = {
      seed: SEED, steps: STEPS, requests: fz.requests, maxMs: fz.maxMs, seconds: (Date.now() - t0) / 1000,
      acceptedTxs: fz.acceptedTxs.length, acceptedOrders: fz.acceptedOrders.length, fills: fz.fills.length,
    };
    // eslint-disable-next-line no-console
    console.log(`api fuzz: ${JSON.stringify(summary)}\n${[...fz.counts].sort((a, b) => b[1] - a[1]).map(([k, v]) => `  ${v}\t${k}`).join("\n")}`);
    expect(fz.failures).toEqual([]);
    expect(fz.acceptedTxs.length).toBeGreaterThan(20);
    expect(fz.acceptedOrders.length).toBeGreaterThan(5);
  });
});

// ------------------------------------------------------------------ regressions: what the fuzzer found

describe("regressions", () => {
  const expectJsonError = (r: Res, status: number, code: string): void => {
    expect(r.status).toBe(status);
    expect(r.json).toEqual({ error: { code, message: expect.any(String) } });
    expect(r.contentType).toMatch(/^application\/json/);
  };

  test("a URL over Node's 16 KiB header limit gets 431 with the JSON error shape (was a bare 431 without a body)", async () => {
    expectJsonError(await send({ method: "GET", path: `/v1/txs/${"a".repeat(20_000)}` }), 431, "header_too_large");
    // The connection pool and the server are fine afterwards.
    expect((await send({ method: "GET", path: "/v1/status" })).status).toBe(200);
  });

  test("headers over the limit, a malformed request line, bad framing: JSON errors (were bare 400/431)", async () => {
    expectJsonError(await sendRaw(`GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Pad: ${"a".repeat(20_000)}\r\n\r\n`), 431, "header_too_large");
    expectJsonError(await sendRaw("GARBAGE\r\n\r\n"), 400, "malformed_http");
    // Broken chunk framing inside a request already routed: answered at once, not after the (never complete) body.
    expectJsonError(await sendRaw("POST /v1/txs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"), 400, "malformed_http");
    expectJsonError(await sendRaw("GET /v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\nNoColonHere\r\n\r\n"), 400, "malformed_http");
    expectJsonError(await sendRaw("POST /v1/txs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\nConnection: close\r\n\r\n{}"), 400, "malformed_http");
  });

  test("a client that half-closes after its request still gets the answer of an asynchronous handler (was: connection ended, no answer)", async () => {
    const body = JSON.stringify({ type: "withdraw", account: 0, token: 0, amount: "1", fee: "0", nonce: 0, validUntil: MAX_U32, signature: { r8x: "0", r8y: "1", s: "5" } });
    const r = await sendRaw(`POST /v1/txs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`, true);
    expectJsonError(r, 422, "bad_signature");
  });

  test("a malformed request after an answered one on a kept-alive connection gets its own JSON error", async () => {
    const r = await sendRaw("GET /v1/markets HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\n");
    expect(r.status).toBe(200);
    const second = r.text.slice(r.text.indexOf("HTTP/1.1 "));
    expect(second).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(second.split("\r\n\r\n")[1])).toEqual({ error: { code: "malformed_http", message: expect.any(String) } });
  });
});
