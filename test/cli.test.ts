/**
 * The modex CLI: key files, the pure build + sign step (checked with core and with the
 * sequencer's own request parser), the transfer/withdraw and trading commands (order, cancel,
 * markets, book, trades, orders) against a stand-in API, the L1 commands against anvil, and the
 * real binary for --help and bad arguments.
 */
import { spawnSync } from "node:child_process";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { promises as fsp, readFileSync, statSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ANVIL_DEV_PRIVATE_KEYS, startAnvil, type AnvilInstance } from "../chain/anvil";
import { testTokenAbi } from "../contracts/abi";
import { connectL1 } from "../contracts/clients";
import { deployModex, type ModexDeployment } from "../contracts/deploy";
import { initCrypto, isOnCurve, publicKeyOf, verifySignature } from "../core/eddsa";
import { txHash } from "../core/message";
import { txMessage } from "../core/ops/signed";
import { CONFIGS } from "../core/params";
import { FLOAT40, floorToFloat } from "../core/float";
import { cancelMessage, MAX_ORDER_AMOUNT as CORE_MAX_ORDER_AMOUNT, orderHash, orderMessage } from "../core/ops/order";
import { parseCancelRequest, parseOrderRequest, parseTx, type WireOrder } from "../sequencer/wire";
import type { BookInfo, MarketInfo, OrderFillInfo, OrderInfo, TradeInfo } from "../sequencer/views";
import type { AccountInfo, StatusView, TxInfo, WireTx } from "../sequencer";
import type { AccountResponse, OrderBody, StatusResponse, SubmitOrderResponse, TxBody, TxResponse } from "../cli/api-client";
import { parseAmount, parseCommandArgs, UsageError } from "../cli/args";
import { buildSignedOrder, signCancel } from "../cli/order";
import { ceilToFloat40, formatRatio, MAX_ORDER_AMOUNT, parsePrice, quoteAmountAt } from "../cli/price";
import { order as orderCommand } from "../cli/cmd-trade";
import type { CliContext } from "../cli/context";
import { readKeyFile } from "../cli/keyfile";
import { main } from "../cli/main";
import { AmountNotRepresentableError, buildSignedTransfer, buildSignedWithdraw, checkL2Amounts, validUntilFrom } from "../cli/tx";
import { transfer } from "../cli/cmd-l2";

const REPO = path.resolve(__dirname, "..");
const BIN = path.join(REPO, (JSON.parse(readFileSync(path.join(REPO, "package.json"), "utf8")) as { bin: { modex: string } }).bin.modex);
const PRIV = "0x0001020304050607080910111213141516171819202122232425262728293031";
const CHAIN_ID = 31337;
/** The rollup the fake API reports (GET /v1/status rollupAddress): what the CLI signs for. */
const ROLLUP_ADDR = `0x${"ab".repeat(20)}` as const;
const DOMAIN = { chainId: CHAIN_ID, rollup: ROLLUP_ADDR } as const;


interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(argv: string[], opts: { env?: Record<string, string>; nowMs?: number } = {}): Promise<Captured> {
  let stdout = "";
  let stderr = "";
  const ctx: CliContext = {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    env: opts.env ?? {},
    nowMs: () => opts.nowMs ?? Date.now(),
    sleep: () => new Promise((r) => setTimeout(r, 5)),
  };
  const code = await main(argv, ctx);
  return { code, stdout, stderr };
}

function runBinary(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: REPO, encoding: "utf8", timeout: 60_000, env: { ...process.env, MODEX_API: "", MODEX_L1_KEY: "" } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let tmp: string;

beforeAll(async () => {
  await initCrypto();
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), "modex-cli-test-"));
});

afterAll(async () => {
  if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
});

describe("keygen and key files", () => {
  test("keygen --out writes a valid key, mode 0600, and refuses to overwrite", async () => {
    const file = path.join(tmp, "alice.json");
    const r = await run(["keygen", "--out", file, "--json"]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { file: string; ax: string; ay: string };
    expect(out.file).toBe(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const key = JSON.parse(readFileSync(file, "utf8")) as { privateKey: string; ax: string; ay: string };
    expect(Object.keys(key).sort()).toEqual(["ax", "ay", "privateKey"]);
    expect(key.privateKey).toMatch(/^0x[0-9a-f]{64}$/);
    const pub = publicKeyOf(key.privateKey);
    expect([pub.ax.toString(), pub.ay.toString()]).toEqual([key.ax, key.ay]);
    expect(isOnCurve(pub)).toBe(true);
    expect(out.ax).toBe(key.ax);

    const again = await run(["keygen", "--out", file]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists; pass --force/);
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual(key);
    expect((await run(["keygen", "--out", file, "--force"])).code).toBe(0);
    expect(JSON.parse(readFileSync(file, "utf8")).privateKey).not.toBe(key.privateKey);
  });

  test("keygen without --out prints the key as JSON", async () => {
    const r = await run(["keygen"]);
    expect(r.code).toBe(0);
    const key = JSON.parse(r.stdout) as { privateKey: string; ax: string; ay: string };
    expect(publicKeyOf(key.privateKey).ax.toString()).toBe(key.ax);
    expect(r.stderr).toMatch(/secret/);
  });

  test("key files are checked: public key must match, loose permissions warn", async () => {
    const file = path.join(tmp, "mixed.json");
    const pub = publicKeyOf(PRIV);
    await fsp.writeFile(file, JSON.stringify({ privateKey: PRIV, ax: pub.ax.toString(), ay: "1" }), { mode: 0o644 });
    await expect(readKeyFile(file)).rejects.toThrow(/ax\/ay do not belong to privateKey/);
    await fsp.writeFile(file, JSON.stringify({ privateKey: PRIV, ax: pub.ax.toString(), ay: pub.ay.toString() }));
    await fsp.chmod(file, 0o644);
    const k = await readKeyFile(file);
    expect(k.ax).toBe(pub.ax.toString());
    expect(k.warning).toMatch(/readable by other users \(mode 644\)/);
    await expect(readKeyFile(path.join(tmp, "none.json"))).rejects.toThrow(/cannot read key file .*ENOENT/);
    await fsp.writeFile(file, "not json");
    await expect(readKeyFile(file)).rejects.toThrow(/is not JSON/);
  });
});

describe("build + sign (pure)", () => {
  const pub = (): { ax: bigint; ay: bigint } => publicKeyOf(PRIV);

  test("a transfer body is signed over the protocol message and parses as the sequencer parses it", () => {
    const s = buildSignedTransfer(PRIV, { from: 3, to: 7, token: 0, amount: 1_230_000_000_000_000_000n, fee: 20n, nonce: 4, validUntil: 1_900_000_000, chainId: CHAIN_ID, rollup: ROLLUP_ADDR });
    expect(s.body).toEqual({
      type: "transfer",
      from: 3,
      to: 7,
      token: 0,
      amount: "1230000000000000000",
      fee: "20",
      nonce: 4,
      validUntil: 1_900_000_000,
      signature: { r8x: expect.stringMatching(/^\d+$/), r8y: expect.stringMatching(/^\d+$/), s: expect.stringMatching(/^\d+$/) },
    });
    const sig = { r8x: BigInt(s.body.signature.r8x), r8y: BigInt(s.body.signature.r8y), s: BigInt(s.body.signature.s) };
    const parsed = parseTx(JSON.parse(JSON.stringify(s.body)), CONFIGS.default);
    expect(parsed).toEqual(s.tx);
    expect(txMessage(parsed, DOMAIN)).toBe(s.message);
    expect(verifySignature(s.message, sig, pub())).toBe(true);
    expect(s.hash).toBe(txHash(s.message));
    // Bound to the chain, the nonce and every field.
    expect(verifySignature(txMessage(parsed, { ...DOMAIN, chainId: CHAIN_ID + 1 }), sig, pub())).toBe(false);
    // Another deployment on the same chain: the signature does not carry over (PROTOCOL.md §4.4).
    expect(verifySignature(txMessage(parsed, { ...DOMAIN, rollup: `0x${"cd".repeat(20)}` }), sig, pub())).toBe(false);
    expect(verifySignature(txMessage({ ...parsed, nonce: 5n }, DOMAIN), sig, pub())).toBe(false);
    expect(verifySignature(txMessage({ ...parsed, amount: 1_240_000_000_000_000_000n }, DOMAIN), sig, pub())).toBe(false);
    expect(verifySignature(s.message, sig, publicKeyOf("0x" + "11".repeat(32)))).toBe(false);
  });

  test("a withdraw body verifies likewise", () => {
    const s = buildSignedWithdraw(PRIV, { account: 3, token: 1, amount: 5_000_000n, fee: 0n, nonce: 0, validUntil: 100, chainId: CHAIN_ID, rollup: ROLLUP_ADDR });
    expect(s.body).toMatchObject({ type: "withdraw", account: 3, token: 1, amount: "5000000", fee: "0", nonce: 0, validUntil: 100 });
    expect(Object.keys(s.body)).not.toContain("to");
    const parsed = parseTx(JSON.parse(JSON.stringify(s.body)), CONFIGS.default);
    expect(parsed).toEqual(s.tx);
    expect(verifySignature(txMessage(parsed, DOMAIN), s.tx.signature, pub())).toBe(true);
  });

  test("amounts a float cannot represent are refused with the nearest lower one", () => {
    expect(() => checkL2Amounts(123_456_789_012_345_678_901n, 0n)).toThrow(AmountNotRepresentableError);
    try {
      checkL2Amounts(123_456_789_012_345_678_901n, 0n);
    } catch (e) {
      expect((e as AmountNotRepresentableError).suggestion).toBe(123_456_789_010_000_000_000n);
      expect((e as Error).message).toMatch(/amount 123456789012345678901 is not representable .* nearest lower representable amount is 123456789010000000000/);
    }
    expect(() => checkL2Amounts(100n, 2049n)).toThrow(/fee 2049 .* nearest lower representable fee is 2040/);
    expect(() => buildSignedTransfer(PRIV, { from: 0, to: 1, token: 0, amount: 34_359_738_369n, fee: 0n, nonce: 0, validUntil: 1, chainId: 1, rollup: ROLLUP_ADDR })).toThrow(/nearest lower representable amount is 34359738360/);
    expect(() => checkL2Amounts(34_359_738_367n, 2047n)).not.toThrow();
    expect(() => checkL2Amounts(1n << 128n, 0n)).toThrow(/outside 0\.\.2\^128-1/);
  });

  test("validUntil counts from now and saturates at uint32", () => {
    expect(validUntilFrom(1_000.9, 60)).toBe(1_060);
    expect(validUntilFrom(2 ** 32 - 10, 3600)).toBe(2 ** 32 - 1);
  });
});

describe("argument parsing", () => {
  test("errors name the option and what it expects", () => {
    expect(() => parseAmount("1.5", "amount")).toThrow(/--amount is in base units and must be an integer/);
    expect(() => parseAmount("1e18", "amount")).toThrow(/written out in digits/);
    expect(() => parseAmount("-3", "fee")).toThrow(/--fee must be a non-negative decimal integer/);
    expect(() => parseAmount((1n << 128n).toString(), "amount")).toThrow(/below 2\^128/);
    expect(parseAmount("340282366920938463463374607431768211455", "amount")).toBe((1n << 128n) - 1n);
    expect(() => parseCommandArgs(transfer.spec, ["--from", "1"])).toThrow(UsageError);
    expect(() => parseCommandArgs(transfer.spec, ["--from", "1"])).toThrow(/missing --to ID/);
    expect(() => parseCommandArgs(transfer.spec, ["--frm", "1"])).toThrow(/unknown option --frm/);
    expect(() => parseCommandArgs(transfer.spec, ["--from"])).toThrow(/option --from needs a value/);
    expect(parseCommandArgs(transfer.spec, ["--help"]).values.help).toBe(true);
  });
});

/** A stand-in for the sequencer API: real request validation (sequencer/wire parseTx), canned state. */
class FakeApi {
  server!: Server;
  url = "";
  readonly received: TxBody[] = [];
  txStatuses: TxResponse["status"][] = ["accepted"];
  postError: { status: number; code: string; message: string } | null = null;
  // Trading: bodies are validated with the sequencer's own parsers (parseOrderRequest, parseCancelRequest).
  readonly orderBodies: OrderBody[] = [];
  /** Overrides of the POST /v1/orders answer (default: open, nothing filled). */
  orderReply: Partial<SubmitOrderResponse> = {};
  orderError: { status: number; code: string; message: string } | null = null;
  /** Successive answers of GET /v1/orders/:hash (the last one repeats); else the account's orders by hash. */
  orderInfos: OrderInfo[] = [];
  accountOrderList: OrderInfo[] = [];
  readonly queries: string[] = [];
  readonly cancels: { hash: string; signature: { r8x: bigint; r8y: bigint; s: bigint } }[] = [];
  markets: MarketInfo[] = [{ id: "ETH-USDC", base: 0, quote: 1, makerFeeBips: 10, takerFeeBips: 20 }];
  book: BookInfo = { market: "ETH-USDC", bids: [], asks: [] };
  trades: TradeInfo[] = [];
  get pub(): { ax: bigint; ay: bigint } {
    return publicKeyOf(PRIV);
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  }

  private async body(req: IncomingMessage): Promise<unknown> {
    let text = "";
    for await (const chunk of req) text += chunk;
    return JSON.parse(text);
  }

  private currentOrder(hash: string): OrderInfo | undefined {
    if (this.orderInfos.length) return this.orderInfos.length > 1 ? this.orderInfos.shift() : this.orderInfos[0];
    return this.accountOrderList.find((o) => o.hash === hash);
  }

  /** The trading routes; false when `req` is not one of them. */
  private async trading(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const u = new URL(req.url ?? "", "http://x");
    const route = `${req.method} ${u.pathname}`;
    if (u.search) this.queries.push(`${u.pathname}${u.search}`);
    const err = (status: number, code: string, message: string): true => (this.json(res, status, { error: { code, message } }), true);
    if (route === "POST /v1/orders") {
      if (req.headers["content-type"] !== "application/json") return err(415, "unsupported_media_type", "body must be application/json");
      const body = (await this.body(req)) as OrderBody;
      let order;
      try {
        order = parseOrderRequest(body, CONFIGS.default).order;
      } catch (e) {
        return err(400, "bad_request", (e as Error).message);
      }
      this.orderBodies.push(body);
      if (this.orderError) return err(this.orderError.status, this.orderError.code, this.orderError.message);
      if (!this.markets.some((m) => m.base === order.base && m.quote === order.quote)) return err(400, "unknown_market", `no market trades base ${order.base} against quote ${order.quote}`);
      if (!verifySignature(orderMessage(order, DOMAIN), order.signature, this.pub)) return err(422, "bad_signature", "order signature does not verify");
      this.json(res, 201, { hash: orderHash(order, DOMAIN), status: "open", filled: "0", remaining: body.amount, fills: [], ...this.orderReply });
      return true;
    }
    const oh = /^\/v1\/orders\/(0x[0-9a-f]{64})$/.exec(u.pathname);
    if (oh && req.method === "GET") {
      const o = this.currentOrder(oh[1]);
      if (!o) return err(404, "not_found", `order ${oh[1]} not found`);
      this.json(res, 200, o);
      return true;
    }
    if (oh && req.method === "DELETE") {
      const o = this.currentOrder(oh[1]);
      if (!o) return err(404, "not_found", `order ${oh[1]} not found`);
      let signature;
      try {
        signature = parseCancelRequest(await this.body(req));
      } catch (e) {
        return err(400, "bad_request", (e as Error).message);
      }
      this.cancels.push({ hash: oh[1], signature });
      if (!verifySignature(cancelMessage(o.account, BigInt(o.orderId), DOMAIN), signature, this.pub)) return err(422, "bad_signature", "cancel signature does not verify");
      this.json(res, 200, { ...o, status: "cancelled" });
      return true;
    }
    const ao = /^\/v1\/accounts\/(\d+)\/orders$/.exec(u.pathname);
    if (ao && req.method === "GET") {
      this.json(res, 200, { orders: this.accountOrderList.slice(0, Number(u.searchParams.get("limit") ?? 100)) });
      return true;
    }
    if (route === "GET /v1/markets") {
      this.json(res, 200, { markets: this.markets });
      return true;
    }
    const mk = /^\/v1\/markets\/([^/]+)\/(book|trades)$/.exec(u.pathname);
    if (mk && req.method === "GET") {
      const id = decodeURIComponent(mk[1]);
      if (!this.markets.some((m) => m.id === id)) return err(404, "not_found", `market ${id} not found`);
      this.json(res, 200, mk[2] === "book" ? this.book : { market: id, trades: this.trades });
      return true;
    }
    return false;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? "";
    if (await this.trading(req, res)) return;
    if (req.method === "GET" && url === "/v1/status") {
      return this.json(res, 200, { chainId: CHAIN_ID, rollupAddress: ROLLUP_ADDR, stateRoot: "0x" + "00".repeat(32), latestBatch: 3, finalizedBatch: 2, finalizedRoot: "0x" + "00".repeat(32), pendingTxs: 0, queue: { length: 2, consumed: 2 }, params: CONFIGS.default, prover: { pending: 0, proving: [] }, l1: { block: "12", timestamp: 2_000_000_000 }, halted: null });
    }
    const acc = /^\/v1\/accounts\/(\d+)$/.exec(url);
    if (req.method === "GET" && acc) {
      const id = Number(acc[1]);
      if (id > 5) return this.json(res, 404, { error: { code: "not_found", message: `account ${id} not found` } });
      const mine = id === 3;
      return this.json(res, 200, { id, registered: true, ax: mine ? this.pub.ax.toString() : "1", ay: mine ? this.pub.ay.toString() : "2", nonce: 2, pendingNonce: 4, balances: { "0": "1000" }, pendingBalances: { "0": "900" } });
    }
    if (req.method === "POST" && url === "/v1/txs") {
      let text = "";
      for await (const chunk of req) text += chunk;
      if (req.headers["content-type"] !== "application/json") return this.json(res, 415, { error: { code: "unsupported_media_type", message: "body must be application/json" } });
      const body = JSON.parse(text) as TxBody;
      let tx;
      try {
        tx = parseTx(body, CONFIGS.default);
      } catch (e) {
        return this.json(res, 400, { error: { code: "bad_request", message: (e as Error).message } });
      }
      this.received.push(body);
      if (this.postError) return this.json(res, this.postError.status, { error: { code: this.postError.code, message: this.postError.message } });
      const msg = txMessage(tx, DOMAIN);
      if (!verifySignature(msg, tx.signature, this.pub)) return this.json(res, 422, { error: { code: "bad_signature", message: "signature does not verify" } });
      return this.json(res, 202, { hash: txHash(msg), status: "accepted" });
    }
    const t = /^\/v1\/txs\/(0x[0-9a-f]{64})$/.exec(url);
    if (req.method === "GET" && t) {
      const status = this.txStatuses.length > 1 ? (this.txStatuses.shift() as TxResponse["status"]) : this.txStatuses[0];
      const body = this.received[this.received.length - 1];
      return this.json(res, 200, { ...body, hash: t[1], status, ...(status !== "accepted" ? { batch: 4, slot: 0 } : {}), ...(status === "rejected" ? { reason: { code: "expired", message: "validUntil passed" } } : {}), timestamps: { acceptedAt: 1 } });
    }
    this.json(res, 404, { error: { code: "not_found", message: `no route ${req.method} ${url}` } });
  }
}

describe("transfer and withdraw commands (stand-in API)", () => {
  const api = new FakeApi();
  let keyFile: string;

  beforeAll(async () => {
    await api.start();
    keyFile = path.join(tmp, "acct3.json");
    const pub = publicKeyOf(PRIV);
    await fsp.writeFile(keyFile, JSON.stringify({ privateKey: PRIV, ax: pub.ax.toString(), ay: pub.ay.toString() }), { mode: 0o600 });
  });

  afterAll(() => api.stop());

  test("transfer reads chain id and next nonce, signs, posts, and waits until finalized", async () => {
    api.txStatuses = ["accepted", "batched", "proven", "finalized"];
    const now = 1_000_000_000_000; // earlier than the fake L1 time: validUntil counts from L1 time
    const r = await run(["transfer", "--api", api.url, "--key", keyFile, "--from", "3", "--to", "5", "--token", "0", "--amount", "250", "--fee", "10", "--valid-for", "600", "--wait", "--json"], { nowMs: now });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { hash: string; status: string; nonce: number; validUntil: number; batch: number };
    const body = api.received[api.received.length - 1] as Extract<TxBody, { type: "transfer" }>;
    expect(body).toMatchObject({ type: "transfer", from: 3, to: 5, token: 0, amount: "250", fee: "10", nonce: 4, validUntil: 2_000_000_600 });
    const tx = parseTx(body, CONFIGS.default);
    expect(verifySignature(txMessage(tx, DOMAIN), tx.signature, publicKeyOf(PRIV))).toBe(true);
    expect(out).toMatchObject({ hash: txHash(txMessage(tx, DOMAIN)), status: "finalized", nonce: 4, validUntil: 2_000_000_600, batch: 4 });
  });

  test("human output and progress", async () => {
    api.txStatuses = ["accepted", "finalized"];
    const r = await run(["withdraw", "--api", api.url, "--key", keyFile, "--account", "3", "--token", "0", "--amount", "100", "--wait"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^hash +0x[0-9a-f]{64}\nstatus +finalized \(batch 4\)\naccount +3\n/);
    expect(r.stderr).toMatch(/accepted; waiting/);
    expect(r.stderr).toMatch(/modex claim --token 0/);
  });

  test("a rejected transaction exits 1 with its reason", async () => {
    api.txStatuses = ["accepted", "rejected"];
    const r = await run(["transfer", "--api", api.url, "--key", keyFile, "--from", "3", "--to", "5", "--token", "0", "--amount", "1", "--wait"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/reason: expired: validUntil passed/);
    expect(r.stderr).toMatch(/was rejected: validUntil passed/);
  });

  test("API errors exit 1 with the API's code and message", async () => {
    api.postError = { status: 422, code: "insufficient_balance", message: "balance 900 < amount 5000 + fee 0" };
    try {
      const r = await run(["transfer", "--api", api.url, "--key", keyFile, "--from", "3", "--to", "5", "--token", "0", "--amount", "5000"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe("modex transfer: error: the API refused: balance 900 < amount 5000 + fee 0 (422 insufficient_balance)\n");
    } finally {
      api.postError = null;
    }
    const missing = await run(["transfer", "--api", api.url, "--key", keyFile, "--from", "9", "--to", "5", "--token", "0", "--amount", "1"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/account 9 not found \(404 not_found\)/);
  });

  test("a key that is not the account's is refused before signing", async () => {
    const before = api.received.length;
    const r = await run(["transfer", "--api", api.url, "--key", keyFile, "--from", "2", "--to", "5", "--token", "0", "--amount", "1"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is not the key of account 2/);
    expect(api.received.length).toBe(before);
  });

  test("queries print what the API returns", async () => {
    const acct = await run(["account", "3", "--api", api.url]);
    expect(acct.code).toBe(0);
    expect(acct.stdout).toMatch(/nonce +2 \(next: 4\)/);
    expect(acct.stdout).toMatch(/ {2}0: 1000 \/ 900/);
    const st = await run(["status", "--api", api.url, "--json"]);
    expect(JSON.parse(st.stdout)).toMatchObject({ chainId: CHAIN_ID, latestBatch: 3 });
    const unreachable = await run(["status"], { env: { MODEX_API: "http://127.0.0.1:1" } });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/cannot reach the Modex API at http:\/\/127\.0\.0\.1:1/);
  });
});

describe("order prices and signing (pure)", () => {
  test("--price is converted to quoteAmount exactly; prices print as the API prints them", () => {
    expect(parsePrice("0.000000002")).toEqual({ num: 1n, den: 500_000_000n });
    expect(parsePrice("2000")).toEqual({ num: 2000n, den: 1n });
    expect(parsePrice("0.0025")).toEqual({ num: 1n, den: 400n });
    expect(quoteAmountAt(10n ** 18n, parsePrice("0.000000002"), "0.000000002")).toBe(2_000_000_000n);
    expect(quoteAmountAt(1_500_000_000_000_000_000n, parsePrice("0.0000000025"), "0.0000000025")).toBe(3_750_000_000n);
    expect(formatRatio(2_000_000_000n, 10n ** 18n)).toBe("0.000000002");
    expect(formatRatio(1n, 3n)).toBe("0.333333333333333333");
    expect(formatRatio(-1n, 2n)).toBe("-0.5");
    expect(formatRatio(6n, 3n)).toBe("2");
    for (const bad of ["abc", "-1", "1,5", "", "0x10", ".5"]) expect(() => parsePrice(bad)).toThrow(/--price must be a positive decimal number/);
    expect(() => parsePrice("0")).toThrow(/--price must be positive/);
    expect(() => parsePrice("0.000")).toThrow(/--price must be positive/);
    expect(() => parsePrice("2e-9")).toThrow(/written out in digits/);
  });

  test("a quote amount that is fractional or not float40 is refused with the nearest values that work", () => {
    expect(() => quoteAmountAt(1000n, parsePrice("0.0000000025"), "0.0000000025")).toThrow(UsageError);
    expect(() => quoteAmountAt(1000n, parsePrice("0.0000000025"), "0.0000000025")).toThrow(
      "--amount 1000 at --price 0.0000000025 is 0.0000025 quote units, not a whole number; nearest that work: --quote-amount 1 (price 0.001); or keep the price with --amount 400000000",
    );
    expect(() => quoteAmountAt(10n ** 18n + 10n ** 9n, parsePrice("0.0000000025"), "0.0000000025")).toThrow(
      /is 2500000002\.5 quote units, not a whole number; nearest that work: --quote-amount 2500000002 \(price .*\) or --quote-amount 2500000003 \(price .*\); or keep the price with --amount 1000000000800000000 or --amount 1000000001200000000/,
    );
    expect(() => quoteAmountAt(34_359_738_367n, parsePrice("3"), "3")).toThrow(
      "--amount 34359738367 at --price 3 is 103079215101 quote units, which is not representable on L2 (float40: m·10^e with m < 2^35); nearest that work: --quote-amount 103079215100 (price 2.999999999970896169) or --quote-amount 103079215110 (price 3.000000000261934474)",
    );
    // Every suggestion is itself an amount an order can carry.
    expect(ceilToFloat40(103_079_215_101n)).toBe(103_079_215_110n);
    expect(ceilToFloat40(343_597_383_669n)).toBe(343_597_383_670n);
    // m + 1 = 2^35 is no mantissa: the next value is one exponent up.
    expect(ceilToFloat40(343_597_383_671n)).toBe(343_597_383_700n);
    for (let v = 34_359_738_300n * 10n ** 5n; v < 34_359_738_300n * 10n ** 5n + 10n ** 9n; v += 9_999_991n) {
      const up = ceilToFloat40(v);
      expect(up >= v && floorToFloat(FLOAT40, up) === up && floorToFloat(FLOAT40, up - 1n) < v).toBe(true);
    }
    expect(ceilToFloat40(7n)).toBe(7n);
    expect(MAX_ORDER_AMOUNT).toBe(CORE_MAX_ORDER_AMOUNT);
  });

  test("an order body is signed over core's order message and parses as the sequencer parses it", () => {
    const s = buildSignedOrder(PRIV, { account: 3, orderId: 9, base: 0, quote: 1, side: "sell", amount: 10n ** 18n, quoteAmount: 2_000_000_000n, maxFeeBips: 20, validUntil: 1_900_000_000, chainId: CHAIN_ID, rollup: ROLLUP_ADDR, timeInForce: "ioc" });
    const { order, timeInForce } = parseOrderRequest(JSON.parse(JSON.stringify(s.body)), CONFIGS.default);
    expect(timeInForce).toBe("ioc");
    expect(order).toEqual(s.order);
    expect(orderMessage(order, DOMAIN)).toBe(s.message);
    expect(orderHash(order, DOMAIN)).toBe(s.hash);
    expect(verifySignature(s.message, order.signature, publicKeyOf(PRIV))).toBe(true);
    expect(verifySignature(orderMessage({ ...order, side: "buy" }, DOMAIN), order.signature, publicKeyOf(PRIV))).toBe(false);
    expect(verifySignature(orderMessage(order, { ...DOMAIN, chainId: CHAIN_ID + 1 }), order.signature, publicKeyOf(PRIV))).toBe(false);
    expect(verifySignature(orderMessage(order, { ...DOMAIN, rollup: `0x${"cd".repeat(20)}` }), order.signature, publicKeyOf(PRIV))).toBe(false);
    const c = signCancel(PRIV, 3, 9, DOMAIN);
    expect(c.message).toBe(cancelMessage(3, 9n, DOMAIN));
    expect(verifySignature(c.message, parseCancelRequest({ signature: c.signature }), publicKeyOf(PRIV))).toBe(true);
    expect(() => buildSignedOrder(PRIV, { account: 3, orderId: 9, base: 0, quote: 1, side: "sell", amount: 34_359_738_369n, quoteAmount: 1n, maxFeeBips: 0, validUntil: 1, chainId: 1, rollup: ROLLUP_ADDR, timeInForce: "gtc" })).toThrow(
      /--amount 34359738369 is not representable on L2 .* nearest representable values are 34359738360 and 34359738370/,
    );
  });
});

const HASH_A = `0x${"a1".repeat(32)}` as const;
const HASH_B = `0x${"b2".repeat(32)}` as const;
const FILL_1 = `0x${"f1".repeat(32)}` as const;
const DUMMY_SIG = { r8x: "1", r8y: "2", s: "3" };

/** An order as GET /v1/orders/:hash answers it. */
function orderInfoOf(o: Partial<WireOrder> & { hash: `0x${string}` }, over: Partial<OrderInfo> = {}): OrderInfo {
  const body: WireOrder = { account: 3, orderId: 1, base: 0, quote: 1, side: "buy", amount: "1000000000000000000", quoteAmount: "2000000000", maxFeeBips: 20, validUntil: 2_000_086_400, signature: DUMMY_SIG, ...o };
  return { ...body, hash: o.hash, market: "ETH-USDC", timeInForce: "gtc", price: formatRatio(BigInt(body.quoteAmount), BigInt(body.amount)), status: "open", filled: "0", remaining: body.amount, acceptedAt: 1, updatedAt: 1, fills: [], ...over };
}

function fillInfoOf(over: Partial<OrderFillInfo> = {}): OrderFillInfo {
  return {
    trade: 7, market: "ETH-USDC", price: "0.000000002", baseAmount: "500000000000000000", quoteAmount: "1000000000", takerSide: "buy", makerHash: HASH_B, takerHash: HASH_A,
    makerAccount: 4, takerAccount: 3, sellFee: "100000", buyFee: "1000000000000000", time: 1_700_000_000_000, fillHash: FILL_1, status: "accepted", role: "taker", fee: "1000000000000000", ...over,
  };
}

describe("trading commands (stand-in API)", () => {
  const api = new FakeApi();
  let keyFile: string;
  const base = (): string[] => ["order", "--api", api.url, "--key", keyFile, "--account", "3", "--market", "ETH-USDC"];
  const lastBody = (): OrderBody => api.orderBodies[api.orderBodies.length - 1];

  beforeAll(async () => {
    await api.start();
    keyFile = path.join(tmp, "trader3.json");
    const pub = publicKeyOf(PRIV);
    await fsp.writeFile(keyFile, JSON.stringify({ privateKey: PRIV, ax: pub.ax.toString(), ay: pub.ay.toString() }), { mode: 0o600 });
  });

  afterAll(() => api.stop());

  beforeEach(() => {
    api.orderReply = {};
    api.orderError = null;
    api.orderInfos = [];
    api.accountOrderList = [];
    api.queries.length = 0;
  });

  test("order: --price becomes quoteAmount, the next order id and the taker fee are defaults, the body is signed by the key file", async () => {
    api.accountOrderList = [
      orderInfoOf({ hash: HASH_A, orderId: 7 }, { status: "filled", filled: "1000000000000000000", remaining: "0" }),
      orderInfoOf({ hash: HASH_B, orderId: 3 }, { status: "open" }),
    ];
    const now = 1_000_000_000_000; // earlier than the fake L1 time: validUntil counts from L1 time
    const r = await run([...base(), "--side", "buy", "--amount", "1000000000000000000", "--price", "0.000000002", "--json"], { nowMs: now });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(api.queries).toContain("/v1/accounts/3/orders?limit=1000");
    const body = lastBody();
    expect(body).toEqual({
      account: 3,
      orderId: 8,
      base: 0,
      quote: 1,
      side: "buy",
      amount: "1000000000000000000",
      quoteAmount: "2000000000",
      maxFeeBips: 20,
      validUntil: 2_000_086_400,
      signature: { r8x: expect.stringMatching(/^\d+$/), r8y: expect.stringMatching(/^\d+$/), s: expect.stringMatching(/^\d+$/) },
      timeInForce: "gtc",
    });
    // The signature verifies against the key file's own public key, over core's order message.
    const file = JSON.parse(readFileSync(keyFile, "utf8")) as { ax: string; ay: string };
    const { order } = parseOrderRequest(body, CONFIGS.default);
    expect(verifySignature(orderMessage(order, DOMAIN), order.signature, { ax: BigInt(file.ax), ay: BigInt(file.ay) })).toBe(true);
    expect(JSON.parse(r.stdout)).toEqual({
      hash: orderHash(order, DOMAIN),
      status: "open",
      market: "ETH-USDC",
      side: "buy",
      orderId: 8,
      amount: "1000000000000000000",
      quoteAmount: "2000000000",
      price: "0.000000002",
      maxFeeBips: 20,
      validUntil: 2_000_086_400,
      timeInForce: "gtc",
      filled: "0",
      remaining: "1000000000000000000",
      fills: [],
    });
  });

  test("order: the default id skips a slot an open order holds, says which id it used, and starts at 1", async () => {
    // 16 slots (orderLevels 2): 25 would share slot 9 with open order 9.
    api.accountOrderList = [orderInfoOf({ hash: HASH_A, orderId: 24 }, { status: "cancelled" }), orderInfoOf({ hash: HASH_B, orderId: 9 }, { status: "partially_filled" })];
    const r = await run([...base(), "--side", "sell", "--amount", "1000", "--quote-amount", "3"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("order id 26 (the account's largest so far is 24)\n");
    expect(lastBody().orderId).toBe(26);
    api.accountOrderList = [];
    const first = await run([...base(), "--side", "sell", "--amount", "1000", "--quote-amount", "3"]);
    expect(first.stderr).toBe("order id 1 (the account's first order)\n");
    expect(lastBody().orderId).toBe(1);
  });

  test("order: explicit --quote-amount, --order-id, --max-fee-bips, --valid-until and --tif are signed as given", async () => {
    const r = await run([...base(), "--side", "SELL", "--amount", "5000000000000000000", "--quote-amount", "10000000000", "--order-id", "42", "--max-fee-bips", "5", "--valid-until", "2100000000", "--tif", "post-only", "--json"]);
    expect(r.code).toBe(0);
    expect(api.queries.filter((q) => q.includes("/orders"))).toEqual([]);
    expect(lastBody()).toMatchObject({ account: 3, orderId: 42, side: "sell", amount: "5000000000000000000", quoteAmount: "10000000000", maxFeeBips: 5, validUntil: 2_100_000_000, timeInForce: "post_only" });
    const { order } = parseOrderRequest(lastBody(), CONFIGS.default);
    expect(verifySignature(orderMessage(order, DOMAIN), order.signature, publicKeyOf(PRIV))).toBe(true);
    expect(JSON.parse(r.stdout)).toMatchObject({ orderId: 42, price: "0.000000002", timeInForce: "post_only" });
  });

  test("order: human output lists the fills the order made on arrival", async () => {
    api.orderReply = { status: "partially_filled", filled: "500000000000000000", remaining: "500000000000000000", fills: [FILL_1] };
    api.orderInfos = [orderInfoOf({ hash: HASH_A, orderId: 5 }, { status: "partially_filled", filled: "500000000000000000", remaining: "500000000000000000", fills: [fillInfoOf({ status: "batched", batch: 4 })] })];
    const r = await run([...base(), "--side", "buy", "--amount", "1000000000000000000", "--price", "0.000000002", "--order-id", "5"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^hash +0x[0-9a-f]{64}\nstatus +partially_filled\nmarket +ETH-USDC \(base 0, quote 1\)\nside +buy\norder id +5\n/);
    expect(r.stdout).toMatch(/\nprice +0\.000000002\n/);
    expect(r.stdout).toMatch(/\nmax fee +20 bips\n/);
    expect(r.stdout).toMatch(/\nfilled +500000000000000000\nremaining +500000000000000000\nfills \(1\):\n {2}trade +role +amount +quote +price +fee +status +fill\n {2}7 +taker +500000000000000000 +1000000000 +0\.000000002 +1000000000000000 +batched \(batch 4\) +0xf1f1/);
  });

  test("order --wait follows the fills until they are finalized", async () => {
    api.orderReply = { status: "filled", filled: "1000000000000000000", remaining: "0", fills: [FILL_1] };
    const at = (status: OrderFillInfo["status"], batch?: number): OrderInfo =>
      orderInfoOf({ hash: HASH_A, orderId: 5 }, { status: "filled", filled: "1000000000000000000", remaining: "0", fills: [fillInfoOf({ status, baseAmount: "1000000000000000000", ...(batch ? { batch } : {}) })] });
    api.orderInfos = [at("accepted"), at("batched", 4), at("proven", 4), at("finalized", 4)];
    const r = await run([...base(), "--side", "buy", "--amount", "1000000000000000000", "--price", "0.000000002", "--order-id", "5", "--wait"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/waiting until it is closed and its fills are finalized/);
    expect(r.stderr).toMatch(/fill 0xf1f1f1f1… \(trade 7, 1000000000000000000 at 0\.000000002\): accepted\n.*: batched \(batch 4\)\n.*: proven \(batch 4\)\n.*: finalized \(batch 4\)\n/);
    expect(r.stdout).toMatch(/\nstatus +filled\n/);
    expect(r.stdout).toMatch(/finalized \(batch 4\)/);

    api.orderInfos = [at("rejected")];
    const bad = await run([...base(), "--side", "buy", "--amount", "1000000000000000000", "--price", "0.000000002", "--order-id", "6", "--wait", "--json"]);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ status: "filled", fills: [FILL_1], trades: [{ fillHash: FILL_1, status: "rejected" }] });
    expect(bad.stderr).toMatch(/"message":"1 fill of order 0x[0-9a-f]{64} was rejected/);

    api.orderReply = {};
    api.orderInfos = [orderInfoOf({ hash: HASH_A, orderId: 5 })];
    const open = await run([...base(), "--side", "buy", "--amount", "1000", "--quote-amount", "2", "--order-id", "7", "--wait", "--timeout", "0"]);
    expect(open.code).toBe(1);
    expect(open.stderr).toMatch(/is still open after 0 s \(filled 0 of 1000000000000000000; 0 of 0 fills settled on L1\); it stays in the book until filled, cancelled \(modex cancel\) or expired/);
  });

  test("cancel reads the order, signs cancelMessage(account, orderId, chainId) with the key and prints the new status", async () => {
    api.accountOrderList = [orderInfoOf({ hash: HASH_A, orderId: 8 }, { status: "partially_filled", filled: "1", remaining: "999999999999999999" })];
    const before = api.cancels.length;
    const r = await run(["cancel", "--api", api.url, "--key", keyFile, HASH_A, "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ hash: HASH_A, status: "cancelled", orderId: 8 });
    const c = api.cancels[before];
    expect(c.hash).toBe(HASH_A);
    expect(verifySignature(cancelMessage(3, 8n, DOMAIN), c.signature, publicKeyOf(PRIV))).toBe(true);
    expect(verifySignature(cancelMessage(3, 9n, DOMAIN), c.signature, publicKeyOf(PRIV))).toBe(false);
    expect(verifySignature(cancelMessage(3, 8n, { ...DOMAIN, chainId: CHAIN_ID + 1 }), c.signature, publicKeyOf(PRIV))).toBe(false);
    const human = await run(["cancel", "--api", api.url, "--key", keyFile, HASH_A.toUpperCase().replace("0X", "0x")]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^hash +0xa1a1.*\nstatus +cancelled\nmarket +ETH-USDC\naccount +3\norder id +8\nside +buy\nprice +0\.000000002\nfilled +1 of 1000000000000000000\n$/);

    // Not open: refused before signing. Another account's order: the key does not match.
    api.accountOrderList = [orderInfoOf({ hash: HASH_A, orderId: 8 }, { status: "filled" }), orderInfoOf({ hash: HASH_B, account: 2 })];
    const n = api.cancels.length;
    const filled = await run(["cancel", "--api", api.url, "--key", keyFile, HASH_A]);
    expect(filled.code).toBe(1);
    expect(filled.stderr).toBe(`modex cancel: error: order ${HASH_A} is filled: only open orders can be cancelled\n`);
    const other = await run(["cancel", "--api", api.url, "--key", keyFile, HASH_B]);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/trader3\.json is not the key of account 2/);
    const missing = await run(["cancel", "--api", api.url, "--key", keyFile, `0x${"cc".repeat(32)}`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/the API refused: order 0xcc.* not found \(404 not_found\)/);
    expect(api.cancels.length).toBe(n);
  });

  test("markets, book, trades and orders print tables; --json prints the API's JSON", async () => {
    const mk = await run(["markets", "--api", api.url]);
    expect(mk.code).toBe(0);
    expect(mk.stdout).toBe("market    base  quote  maker fee  taker fee\nETH-USDC  0     1      10 bips    20 bips\n");
    expect(JSON.parse((await run(["markets", "--api", api.url, "--json"])).stdout)).toEqual({ markets: api.markets });

    const level = (price: string, num: string, den: string, amount: string, orders: number) => ({ price, priceNum: num, priceDen: den, amount, orders });
    api.book = {
      market: "ETH-USDC",
      asks: [level("0.0000000021", "21", "10000000000", "1000", 1), level("0.0000000022", "11", "5000000000", "3000", 2)],
      bids: [level("0.000000002", "1", "500000000", "2000", 3), level("0.0000000019", "19", "10000000000", "500", 1)],
    };
    const b = await run(["book", "ETH-USDC", "--api", api.url, "--depth", "5"]);
    expect(b.code).toBe(0);
    expect(api.queries).toContain("/v1/markets/ETH-USDC/book?depth=5");
    expect(b.stdout).toBe(
      [
        "ETH-USDC order book",
        "side  price         amount  orders",
        "ask   0.0000000022  3000    2",
        "ask   0.0000000021  1000    1",
        "---   spread 0.0000000001",
        "bid   0.000000002   2000    3",
        "bid   0.0000000019  500     1",
        "",
      ].join("\n"),
    );
    expect(JSON.parse((await run(["book", "ETH-USDC", "--api", api.url, "--json"])).stdout)).toEqual(api.book);
    api.book = { market: "ETH-USDC", asks: [], bids: [] };
    expect((await run(["book", "ETH-USDC", "--api", api.url])).stdout).toBe("ETH-USDC order book\nasks: none\nbids: none\n");

    const { role: _role, fee: _fee, ...trade } = fillInfoOf({ status: "finalized", batch: 4 });
    api.trades = [trade];
    const t = await run(["trades", "ETH-USDC", "--api", api.url, "--limit", "3"]);
    expect(t.code).toBe(0);
    expect(api.queries).toContain("/v1/markets/ETH-USDC/trades?limit=3");
    expect(t.stdout).toBe(
      "ETH-USDC trades:\ntrade  time                      taker  price        amount              quote       status\n" +
        "7      2023-11-14T22:13:20.000Z  buy    0.000000002  500000000000000000  1000000000  finalized (batch 4)\n",
    );
    expect(JSON.parse((await run(["trades", "ETH-USDC", "--api", api.url, "--json"])).stdout)).toEqual({ market: "ETH-USDC", trades: [trade] });

    api.accountOrderList = [
      orderInfoOf({ hash: HASH_A, orderId: 2, side: "sell" }, { status: "filled", filled: "1000000000000000000", remaining: "0" }),
      orderInfoOf({ hash: HASH_B, orderId: 1 }, { status: "open" }),
    ];
    const o = await run(["orders", "3", "--api", api.url]);
    expect(o.code).toBe(0);
    expect(api.queries).toContain("/v1/accounts/3/orders?limit=20");
    expect(o.stdout).toBe(
      "hash         id  market    side  price        amount               filled               status\n" +
        "0xa1a1a1a1…  2   ETH-USDC  sell  0.000000002  1000000000000000000  1000000000000000000  filled\n" +
        "0xb2b2b2b2…  1   ETH-USDC  buy   0.000000002  1000000000000000000  0                    open\n",
    );
    const open = await run(["orders", "3", "--open", "--limit", "5", "--api", api.url, "--json"]);
    expect(api.queries).toContain("/v1/accounts/3/orders?limit=1000");
    expect(JSON.parse(open.stdout)).toEqual({ orders: [api.accountOrderList[1]] });
    expect(JSON.parse((await run(["orders", "3", "--api", api.url, "--json"])).stdout)).toEqual({ orders: api.accountOrderList });
    api.accountOrderList = [];
    expect((await run(["orders", "3", "--open", "--api", api.url])).stdout).toBe("account 3 has no open orders\n");
  });

  test("bad input exits non-zero with a clear message, and nothing is posted", async () => {
    const n = api.orderBodies.length;
    const amount = ["--amount", "1000000000000000000"];
    const cases: [string[], number, RegExp][] = [
      [[...base(), ...amount, "--price", "0.000000002"], 2, /^modex order: error: missing --side buy\|sell\n/],
      [[...base(), "--side", "hold", ...amount, "--price", "0.000000002"], 2, /--side must be buy or sell, got "hold"/],
      [[...base(), "--side", "buy", ...amount], 2, /missing --price P \(or --quote-amount N\)/],
      [[...base(), "--side", "buy", ...amount, "--price", "1", "--quote-amount", "1"], 2, /--price and --quote-amount are two ways/],
      [[...base(), "--side", "buy", ...amount, "--price", "two"], 2, /--price must be a positive decimal number such as 0\.000000002/],
      [[...base(), "--side", "buy", ...amount, "--price", "2e-9"], 2, /--price must be written out in digits/],
      [[...base(), "--side", "buy", ...amount, "--price", "0"], 2, /--price must be positive/],
      [[...base(), "--side", "buy", "--amount", "1000", "--price", "0.0000000025"], 2, /is 0\.0000025 quote units, not a whole number; nearest that work: --quote-amount 1/],
      [[...base(), "--side", "buy", "--amount", "1000000000000000001", "--price", "1"], 2, /--amount 1000000000000000001 is not representable on L2 .* nearest representable values are 1000000000000000000 and 1000000000100000000/],
      [[...base(), "--side", "buy", "--amount", "0", "--price", "1"], 2, /--amount must be positive/],
      [[...base(), "--side", "buy", "--amount", "1.5", "--price", "1"], 2, /--amount is in base units and must be an integer/],
      [[...base(), "--side", "buy", ...amount, "--quote-amount", "34359738369"], 2, /--quote-amount 34359738369 is not representable on L2 .* 34359738360 and 34359738370/],
      [[...base(), "--side", "buy", ...amount, "--price", "1", "--tif", "fok"], 2, /--tif must be one of gtc, ioc, post_only, got "fok"/],
      [[...base(), "--side", "buy", ...amount, "--price", "1", "--max-fee-bips", "10001"], 2, /--max-fee-bips must be at most 10000/],
      [[...base(), "--side", "buy", ...amount, "--price", "1", "--order-id", "x1"], 2, /--order-id must be a non-negative decimal integer, got "x1"/],
      [[...base(), "--side", "buy", ...amount, "--price", "1", "--valid-for", "60", "--valid-until", "2100000000"], 2, /--valid-for and --valid-until both set the expiry/],
      [[...base(), "--side", "buy", ...amount, "--price", "1", "--valid-until", "1999999999"], 2, /--valid-until 1999999999 is not in the future \(now 2000000000, L1 time\)/],
      [["order", "--api", api.url, "--key", keyFile, "--account", "3", "--market", "ETH/USDC", "--side", "buy", ...amount, "--price", "1"], 2, /--market must be a market id such as ETH-USDC/],
      [["order", "--api", api.url, "--key", keyFile, "--account", "3", "--market", "BTC-USDC", "--side", "buy", ...amount, "--price", "1"], 2, /unknown market "BTC-USDC"; this sequencer trades ETH-USDC/],
      [["order", "--api", api.url, "--key", keyFile, "--account", "2", "--market", "ETH-USDC", "--side", "buy", ...amount, "--price", "1"], 1, /is not the key of account 2/],
      [["book", "--api", api.url], 2, /missing MARKET/],
      [["book", "BTC-USDC", "--api", api.url], 1, /^modex book: error: the API refused: market BTC-USDC not found \(404 not_found\)\n$/],
      [["book", "ETH-USDC", "--depth", "0", "--api", api.url], 2, /--depth must be at least 1/],
      [["book", "ETH-USDC", "--depth", "1001", "--api", api.url], 2, /--depth must be at most 1000/],
      [["trades", "NOPE", "--api", api.url], 1, /market NOPE not found \(404 not_found\)/],
      [["trades", "ETH-USDC", "--limit", "x", "--api", api.url], 2, /--limit must be a non-negative decimal integer/],
      [["orders", "alice", "--api", api.url], 2, /ACCOUNT must be a non-negative decimal integer, got "alice"/],
      [["cancel", "--api", api.url, "--key", keyFile, "0x1234"], 2, /HASH must be 0x followed by 64 hex digits/],
      [["cancel", "--api", api.url, HASH_A], 2, /missing --key FILE/],
    ];
    for (const [argv, code, message] of cases) {
      const r = await run(argv);
      if (r.code !== code || !message.test(r.stderr)) throw new Error(`${argv.join(" ")}: exit ${r.code}, stderr ${JSON.stringify(r.stderr)}`);
      expect(r.stdout).toBe("");
    }
    expect(api.orderBodies.length).toBe(n);

    // The API's refusals (4xx) name its code; with --json as one JSON object on stderr.
    api.orderError = { status: 422, code: "insufficient_balance", message: "account 3 has 5 of token 1, the order needs 2000000000" };
    const refused = await run([...base(), "--side", "buy", ...amount, "--price", "0.000000002", "--order-id", "1"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe("modex order: error: the API refused: account 3 has 5 of token 1, the order needs 2000000000 (422 insufficient_balance)\n");
    const json = await run([...base(), "--side", "buy", ...amount, "--price", "0.000000002", "--order-id", "1", "--json"]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stderr)).toEqual({
      error: { code: "insufficient_balance", message: "the API refused: account 3 has 5 of token 1, the order needs 2000000000 (422 insufficient_balance)" },
    });
  });

  test("argument specs: required options and --help", () => {
    expect(() => parseCommandArgs(orderCommand.spec, ["--key", "k"])).toThrow(/missing --account ID/);
    expect(parseCommandArgs(orderCommand.spec, ["--help"]).values.help).toBe(true);
  });
});

describe("L1 commands (anvil)", () => {
  let anvil: AnvilInstance;
  let d: ModexDeployment;
  let keyFile: string;
  const user = ANVIL_DEV_PRIVATE_KEYS[1];
  const l1 = (): string[] => ["--rpc", anvil.rpcUrl, "--rollup", d.rollup, "--l1-key", user];

  beforeAll(async () => {
    anvil = await startAnvil();
    const operator = publicKeyOf("0x" + "22".repeat(32));
    d = await deployModex({
      rpcUrl: anvil.rpcUrl,
      privateKey: ANVIL_DEV_PRIVATE_KEYS[0],
      verifierSource: readFileSync(path.join(__dirname, "fixtures", "contracts", "AcceptingVerifier.sol"), "utf8"),
      verifierContract: "AcceptingVerifier",
      params: { accountLevels: 2, balanceLevels: 1, depositSlots: 1, l2Slots: 2, fillSlots: 1, feeBuckets: 1 },
      genesisRoot: 1n,
      operatorKey: operator,
    });
    keyFile = path.join(tmp, "l1user.json");
    expect((await run(["keygen", "--out", keyFile])).code).toBe(0);
  });

  afterAll(async () => {
    await anvil?.stop();
  });

  test("register with ETH, then with an ERC-20 (approved on the way), then deposit", async () => {
    const eth = await run(["register", "--key", keyFile, "--token", "0", "--amount", "1000", "--json", ...l1()]);
    expect(eth.stderr).toBe("");
    expect(eth.code).toBe(0);
    expect(JSON.parse(eth.stdout)).toMatchObject({ accountId: 1, queueIndex: "1", token: 0, amount: "1000" });

    // Token 1 (USDC): mint to the user, register without a prior approve.
    const u = await connectL1({ rpcUrl: anvil.rpcUrl, privateKey: user });
    const usdc = d.tokens[0].address;
    await u.publicClient.waitForTransactionReceipt({ hash: await u.walletClient.writeContract({ address: usdc, abi: testTokenAbi, functionName: "mint", args: [u.account.address, 5_000n] }) });
    const erc = await run(["register", "--key", keyFile, "--token", "1", "--amount", "3000", ...l1()]);
    expect(erc.code).toBe(0);
    expect(erc.stdout).toMatch(/^registered account 2\n/);
    expect(erc.stderr).toMatch(/approving the Rollup to take 3000 of token 1/);
    expect(await u.publicClient.readContract({ address: usdc, abi: testTokenAbi, functionName: "balanceOf", args: [d.rollup] })).toBe(3_000n);

    const dep = await run(["deposit", "--account", "2", "--token", "0", "--amount", "7", "--json", ...l1()]);
    expect(dep.code).toBe(0);
    expect(JSON.parse(dep.stdout)).toMatchObject({ accountId: 2, queueIndex: "3" });
  });

  test("reverts and empty claims are explained", async () => {
    const badToken = await run(["deposit", "--account", "1", "--token", "3", "--amount", "1", ...l1()]);
    expect(badToken.code).toBe(1);
    expect(badToken.stderr).toMatch(/UnknownToken\(3\): the Rollup has no token with this id/);
    const badAccount = await run(["deposit", "--account", "40", "--token", "0", "--amount", "1", ...l1()]);
    expect(badAccount.stderr).toMatch(/deposit reverted with UnknownAccount\(40\)/);
    const poor = await run(["deposit", "--account", "1", "--token", "2", "--amount", "1", ...l1()]);
    expect(poor.stderr).toMatch(/holds 0 of token 2 .* less than 1/);
    const nothing = await run(["claim", "--token", "0", ...l1()]);
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toMatch(/nothing to claim: 0x[0-9a-fA-F]{40} has no finalized withdrawal of token 0/);
    const noKey = await run(["claim", "--token", "0", "--rpc", anvil.rpcUrl, "--rollup", d.rollup]);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/missing --l1-key HEX \(or set MODEX_L1_KEY\)/);
    const viaEnv = await run(["claim", "--token", "0", "--rpc", anvil.rpcUrl, "--rollup", d.rollup], { env: { MODEX_L1_KEY: user } });
    expect(viaEnv.stderr).toMatch(/nothing to claim/);
  });

  test("l1 force-withdraw (owner only) and l1 freeze (refused until a deadline passes)", async () => {
    const none = await run(["l1", "freeze", ...l1()]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/nothing to freeze: no forced withdrawal is waiting/);
    const notOwner = await run(["l1", "force-withdraw", "--account", "1", "--token", "0", "--rpc", anvil.rpcUrl, "--rollup", d.rollup, "--l1-key", ANVIL_DEV_PRIVATE_KEYS[2]]);
    expect(notOwner.code).toBe(1);
    expect(notOwner.stderr).toMatch(/account 1 is owned by 0x[0-9a-fA-F]{40}, not by 0x[0-9a-fA-F]{40} \(--l1-key must be the owner's key\)/);
    const unknown = await run(["l1", "force-withdraw", "--account", "40", "--token", "0", ...l1()]);
    expect(unknown.stderr).toMatch(/account 40 is not registered/);
    const badToken = await run(["l1", "force-withdraw", "--account", "1", "--token", "3", ...l1()]);
    expect(badToken.stderr).toMatch(/requestForcedWithdrawal reverted with UnknownToken\(3\)/);

    const fw = await run(["l1", "force-withdraw", "--account", "1", "--token", "0", "--json", ...l1()]);
    expect(fw.stderr).toBe("");
    expect(fw.code).toBe(0);
    const r = JSON.parse(fw.stdout) as { forcedId: string; queueIndex: string; ahead: string; deadline: string; block: string };
    expect(r).toMatchObject({ forcedId: "0", queueIndex: "4", ahead: "4", accountId: 1, token: 0 });
    // deployModex's default forcedDeadlineBlocks (100) per D = 1 record ahead, its own batch included
    expect(BigInt(r.deadline)).toBe(BigInt(r.block) + 100n * (1n + 4n));
    const twice = await run(["l1", "force-withdraw", "--account", "1", "--token", "0", ...l1()]);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain(`account 1 already has forced withdrawal #0 of token 0 waiting (queue index 4, deadline block ${r.deadline}): one open request per account and token`);
    const human = await run(["l1", "force-withdraw", "--account", "2", "--token", "1", ...l1()]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^requested forced withdrawal #1 of token 1 from account 2\n/);
    expect(human.stdout).toMatch(/records ahead +5\n/);
    expect(human.stdout).toMatch(/deadline block +\d+/);

    const early = await run(["l1", "freeze", ...l1()]);
    expect(early.code).toBe(1);
    expect(early.stderr).toContain(`nothing to freeze: the oldest unprocessed forced withdrawal (#0, queue index 4) has deadline block ${r.deadline}`);
    await fetch(anvil.rpcUrl, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "anvil_mine", params: ["0x1f4"] }) }); // 500 blocks: past the deadline
    const frozen = await run(["l1", "freeze", ...l1()]);
    expect(frozen.stderr).toBe("");
    expect(frozen.code).toBe(0);
    expect(frozen.stdout).toMatch(/^froze the rollup at batch 0\n/);
    const again = await run(["l1", "freeze", ...l1()]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already frozen/);
    const late = await run(["l1", "force-withdraw", "--account", "1", "--token", "0", ...l1()]);
    expect(late.stderr).toMatch(/requestForcedWithdrawal reverted with Frozen\(\): the rollup is frozen/);
  });
});

describe("the modex binary", () => {
  test("--help lists the commands and exits 0", () => {
    const r = runBinary(["--help"]);
    expect(r.code).toBe(0);
    for (const c of ["keygen", "register", "deposit", "claim", "l1 force-withdraw", "l1 freeze", "transfer", "withdraw", "order", "cancel", "markets", "book", "trades", "orders", "account", "tx", "batch", "status"]) {
      expect(r.stdout).toContain(`  ${c} `);
    }
    const sub = runBinary(["transfer", "--help"]);
    expect(sub.code).toBe(0);
    expect(sub.stdout).toMatch(/^usage: modex transfer --from ID --to ID --key FILE --token ID --amount N \[options\]/);
    expect(sub.stdout).toContain("--valid-for SECONDS");
    const order = runBinary(["order", "--help"]);
    expect(order.code).toBe(0);
    expect(order.stdout).toMatch(/^usage: modex order --key FILE --account ID --market ID --side buy\|sell --amount N \[options\]/);
    for (const o of ["--price P", "--quote-amount N", "--order-id N", "--max-fee-bips B", "--valid-until UNIX", "--tif gtc|ioc|post_only", "--wait"]) expect(order.stdout).toContain(o);
    const bookHelp = runBinary(["help", "book"]);
    expect(bookHelp.stdout).toMatch(/^usage: modex book MARKET \[options\]/);
  });

  test("prover: a two-word command group; loading the CLI does not load the cluster worker (bullmq)", () => {
    const help = runBinary(["--help"]);
    expect(help.stdout).toMatch(/\nprover \(operators\):\n {2}prover status +\S.*\n {2}prover worker +\S/);
    const group = runBinary(["prover", "--help"]);
    expect(group.code).toBe(0);
    expect(group.stdout).toMatch(/^usage: modex prover <command> \[options\]\n/);
    expect(group.stdout).toMatch(/\n {2}status {2}\S/);
    expect(group.stdout).toMatch(/\n {2}worker {2}\S/);
    const status = runBinary(["prover", "status", "--help"]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^usage: modex prover status \[options\]\n/);
    const unknown = runBinary(["prover", "frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^modex prover: unknown command "frobnicate"/);
    // What `modex status` loads: cli/ and a little of core/, never the worker or bullmq.
    const probe = spawnSync(
      process.execPath,
      ["-e", 'require("tsx/cjs"); require("./cli/main.ts"); process.stdout.write(JSON.stringify(Object.keys(require.cache)))'],
      { cwd: REPO, encoding: "utf8", timeout: 60_000 },
    );
    expect(probe.status).toBe(0);
    const loaded = JSON.parse(probe.stdout) as string[];
    expect(loaded.some((f) => f.endsWith(path.join("cli", "main.ts")))).toBe(true);
    expect(loaded.filter((f) => /[\\/]node_modules[\\/]bullmq[\\/]|[\\/]prover[\\/]cluster-worker/.test(f))).toEqual([]);
  });

  test("bad arguments exit 2 with a message, before touching the network", () => {
    const bad = runBinary(["transfer", "--from", "1", "--to", "2", "--token", "0", "--amount", "1.5", "--key", "k.json"]);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe("");
    expect(bad.stderr).toBe("modex transfer: error: --amount is in base units and must be an integer (e.g. wei for ETH), got 1.5\nRun 'modex transfer --help' for usage.\n");
    const float = runBinary(["transfer", "--from", "1", "--to", "2", "--token", "0", "--amount", "123456789012345678901", "--key", "k.json"]);
    expect(float.code).toBe(2);
    expect(float.stderr).toMatch(/nearest lower representable amount is 123456789010000000000/);
    const price = runBinary(["order", "--key", "k.json", "--account", "1", "--market", "ETH-USDC", "--side", "buy", "--amount", "1000", "--price", "0.0000000025"]);
    expect(price.code).toBe(2);
    expect(price.stderr).toMatch(/^modex order: error: --amount 1000 at --price 0\.0000000025 is 0\.0000025 quote units, not a whole number/);
    const unknown = runBinary(["frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "frobnicate"/);
    expect(runBinary([]).code).toBe(2);
  });
});
