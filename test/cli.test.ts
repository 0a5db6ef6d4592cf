/**
 * The modex CLI: key files, the pure build + sign step (checked with core and with the
 * sequencer's own request parser), the transfer/withdraw commands against a stand-in API,
 * the L1 commands against anvil, and the real binary for --help and bad arguments.
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
import { parseTx } from "../sequencer/wire";
import type { AccountInfo, StatusView, TxInfo, WireTx } from "../sequencer";
import type { AccountResponse, StatusResponse, TxBody, TxResponse } from "../cli/api-client";
import { parseAmount, parseCommandArgs, UsageError } from "../cli/args";
import type { CliContext } from "../cli/context";
import { readKeyFile } from "../cli/keyfile";
import { main } from "../cli/main";
import { AmountNotRepresentableError, buildSignedTransfer, buildSignedWithdraw, checkL2Amounts, validUntilFrom } from "../cli/tx";
import { transfer } from "../cli/cmd-l2";

const REPO = path.resolve(__dirname, "..");
const BIN = path.join(REPO, (JSON.parse(readFileSync(path.join(REPO, "package.json"), "utf8")) as { bin: { modex: string } }).bin.modex);
const PRIV = "0x0001020304050607080910111213141516171819202122232425262728293031";
const CHAIN_ID = 31337;


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
    const s = buildSignedTransfer(PRIV, { from: 3, to: 7, token: 0, amount: 1_230_000_000_000_000_000n, fee: 20n, nonce: 4, validUntil: 1_900_000_000, chainId: CHAIN_ID });
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
    expect(txMessage(parsed, CHAIN_ID)).toBe(s.message);
    expect(verifySignature(s.message, sig, pub())).toBe(true);
    expect(s.hash).toBe(txHash(s.message));
    // Bound to the chain, the nonce and every field.
    expect(verifySignature(txMessage(parsed, CHAIN_ID + 1), sig, pub())).toBe(false);
    expect(verifySignature(txMessage({ ...parsed, nonce: 5n }, CHAIN_ID), sig, pub())).toBe(false);
    expect(verifySignature(txMessage({ ...parsed, amount: 1_240_000_000_000_000_000n }, CHAIN_ID), sig, pub())).toBe(false);
    expect(verifySignature(s.message, sig, publicKeyOf("0x" + "11".repeat(32)))).toBe(false);
  });

  test("a withdraw body verifies likewise", () => {
    const s = buildSignedWithdraw(PRIV, { account: 3, token: 1, amount: 5_000_000n, fee: 0n, nonce: 0, validUntil: 100, chainId: CHAIN_ID });
    expect(s.body).toMatchObject({ type: "withdraw", account: 3, token: 1, amount: "5000000", fee: "0", nonce: 0, validUntil: 100 });
    expect(Object.keys(s.body)).not.toContain("to");
    const parsed = parseTx(JSON.parse(JSON.stringify(s.body)), CONFIGS.default);
    expect(parsed).toEqual(s.tx);
    expect(verifySignature(txMessage(parsed, CHAIN_ID), s.tx.signature, pub())).toBe(true);
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
    expect(() => buildSignedTransfer(PRIV, { from: 0, to: 1, token: 0, amount: 34_359_738_369n, fee: 0n, nonce: 0, validUntil: 1, chainId: 1 })).toThrow(/nearest lower representable amount is 34359738360/);
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

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? "";
    if (req.method === "GET" && url === "/v1/status") {
      return this.json(res, 200, { chainId: CHAIN_ID, rollupAddress: "0x" + "ab".repeat(20), stateRoot: "0x" + "00".repeat(32), latestBatch: 3, finalizedBatch: 2, finalizedRoot: "0x" + "00".repeat(32), pendingTxs: 0, queue: { length: 2, consumed: 2 }, params: CONFIGS.default, prover: { pending: 0, proving: [] }, l1: { block: "12", timestamp: 2_000_000_000 }, halted: null });
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
      const msg = txMessage(tx, CHAIN_ID);
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
    expect(verifySignature(txMessage(tx, CHAIN_ID), tx.signature, publicKeyOf(PRIV))).toBe(true);
    expect(out).toMatchObject({ hash: txHash(txMessage(tx, CHAIN_ID)), status: "finalized", nonce: 4, validUntil: 2_000_000_600, batch: 4 });
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
});

describe("the modex binary", () => {
  test("--help lists the commands and exits 0", () => {
    const r = runBinary(["--help"]);
    expect(r.code).toBe(0);
    for (const c of ["keygen", "register", "deposit", "claim", "transfer", "withdraw", "account", "tx", "batch", "status"]) expect(r.stdout).toContain(`  ${c} `);
    const sub = runBinary(["transfer", "--help"]);
    expect(sub.code).toBe(0);
    expect(sub.stdout).toMatch(/^usage: modex transfer --from ID --to ID --key FILE --token ID --amount N \[options\]/);
    expect(sub.stdout).toContain("--valid-for SECONDS");
  });

  test("bad arguments exit 2 with a message, before touching the network", () => {
    const bad = runBinary(["transfer", "--from", "1", "--to", "2", "--token", "0", "--amount", "1.5", "--key", "k.json"]);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe("");
    expect(bad.stderr).toBe("modex transfer: error: --amount is in base units and must be an integer (e.g. wei for ETH), got 1.5\nRun 'modex transfer --help' for usage.\n");
    const float = runBinary(["transfer", "--from", "1", "--to", "2", "--token", "0", "--amount", "123456789012345678901", "--key", "k.json"]);
    expect(float.code).toBe(2);
    expect(float.stderr).toMatch(/nearest lower representable amount is 123456789010000000000/);
    const unknown = runBinary(["frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "frobnicate"/);
    expect(runBinary([]).code).toBe(2);
  });
});
