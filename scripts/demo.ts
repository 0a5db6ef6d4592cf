/**
 * npm run demo: against a running devnet (npm start), three users register and deposit on L1,
 * transfer on L2, one withdraws; every batch is shown as it is finalized, roots are checked
 * against the chain, and the withdrawal is claimed on L1. Exits 0 only when all of that holds.
 */
import { readFileSync, existsSync } from "node:fs";
import * as path from "node:path";
import { decodeEventLog, formatEther, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  initCrypto, generatePrivateKey, publicKeyOf, signMessage, txMessage, fieldToHex, floorToFloat, FLOAT40,
  type L2Tx,
} from "../core";
import { connectL1 } from "../contracts/clients";
import { rollupAbi } from "../contracts/abi";

// The API to talk to: MODEX_API, else the one the running devnet wrote to .modex/devnet.json (so
// `PORT=9090 npm start` needs nothing extra here), else the default.
let API = process.env.MODEX_API ?? "http://127.0.0.1:8080";
const say = (s: string) => console.log(s);

async function api<T>(method: string, p: string, body?: unknown): Promise<T> {
  let r: Response;
  try {
    r = await fetch(API + p, { method, headers: { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code;
    throw new Error(`cannot reach the API at ${API}${cause ? ` (${cause})` : ""}: is \`npm start\` running? (MODEX_API overrides the address)`);
  }
  const j = (await r.json()) as T & { error?: { code: string; message: string } };
  if (!r.ok) throw new Error(`${method} ${p}: ${r.status} ${j.error?.code}: ${j.error?.message}`);
  return j;
}

interface Status { chainId: number; rollupAddress: Hex; latestBatch: number; finalizedBatch: number; finalizedRoot: Hex }
interface Account { registered: boolean; pendingNonce: string; balances: Record<string, string> }
interface TxInfo { status: string; reason?: string; batch?: number }
interface BatchInfo { number: number; status: string; newRoot: Hex; txs: string[]; depositCount: number }

async function until<T>(what: string, f: () => Promise<T | null | undefined | false>, timeoutMs = 600_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function main(): Promise<void> {
  await initCrypto();
  const infoPath = path.join(__dirname, "..", ".modex", "devnet.json");
  if (!existsSync(infoPath)) throw new Error("no devnet found: start one with `npm start` first");
  const info = JSON.parse(readFileSync(infoPath, "utf8")) as { api?: string; rpc: string; devL1PrivateKeys: Hex[] };
  if (process.env.MODEX_API === undefined && info.api) API = info.api;
  const status = await api<Status>("GET", "/v1/status");
  const rollup = status.rollupAddress;
  say(`devnet: chain ${status.chainId}, rollup ${rollup}, finalized batch ${status.finalizedBatch}`);

  const names = ["alice", "bob", "carol"];
  const users = await Promise.all(
    names.map(async (name, i) => {
      const l1 = await connectL1({ rpcUrl: info.rpc, privateKey: info.devL1PrivateKeys[i], chainId: status.chainId });
      return { name, key: generatePrivateKey(), l1, id: -1 };
    }),
  );

  // 1. Register on L1 with an ETH deposit; the account id comes from the Enqueued event.
  const deposit = 10n ** 18n;
  for (const u of users) {
    const pub = publicKeyOf(u.key);
    const hash = await u.l1.walletClient.writeContract({ address: rollup, abi: rollupAbi, functionName: "register", args: [pub.ax, pub.ay, 0, deposit], value: deposit, chain: u.l1.chain, account: u.l1.account });
    const rc = await u.l1.publicClient.waitForTransactionReceipt({ hash });
    for (const lg of rc.logs) {
      try {
        const ev = decodeEventLog({ abi: rollupAbi, data: lg.data, topics: lg.topics });
        if (ev.eventName === "Enqueued") u.id = Number((ev.args as { accountId: number }).accountId);
      } catch { /* other contracts' events */ }
    }
    say(`${u.name}: registered on L1 as account ${u.id} with ${formatEther(deposit)} ETH`);
  }
  for (const u of users) await until(`${u.name}'s registration`, async () => (await api<Account>("GET", `/v1/accounts/${u.id}`)).registered);
  say("registrations are in the L2 state");

  // 2. Transfers and a withdrawal, signed with the users' L2 keys.
  const [alice, bob, carol] = users;
  const nonces = new Map<number, bigint>();
  const send = async (tx: Omit<L2Tx, "signature" | "nonce">, signer: (typeof users)[number]) => {
    const nonce = nonces.get(signer.id) ?? BigInt((await api<Account>("GET", `/v1/accounts/${signer.id}`)).pendingNonce);
    nonces.set(signer.id, nonce + 1n);
    const full = { ...tx, nonce, signature: { r8x: 0n, r8y: 0n, s: 0n } } as L2Tx;
    const sig = signMessage(signer.key, txMessage(full, status.chainId));
    const body = { ...full, amount: full.amount.toString(), fee: full.fee.toString(), nonce: Number(nonce), signature: { r8x: sig.r8x.toString(), r8y: sig.r8y.toString(), s: sig.s.toString() } };
    const r = await api<{ hash: string; status: string }>("POST", "/v1/txs", body);
    return r.hash;
  };
  const validUntil = Math.floor(Date.now() / 1000) + 3600;
  const ether = (x: string) => floorToFloat(FLOAT40, BigInt(Math.round(Number(x) * 1e6)) * 10n ** 12n);
  const fee = 10n ** 12n;
  const sent: { hash: string; what: string }[] = [];
  sent.push({ what: "alice → bob 0.25 ETH", hash: await send({ type: "transfer", from: alice.id, to: bob.id, token: 0, amount: ether("0.25"), fee, validUntil } as L2Tx, alice) });
  sent.push({ what: "bob → carol 0.5 ETH", hash: await send({ type: "transfer", from: bob.id, to: carol.id, token: 0, amount: ether("0.5"), fee, validUntil } as L2Tx, bob) });
  sent.push({ what: "carol → alice 0.1 ETH", hash: await send({ type: "transfer", from: carol.id, to: alice.id, token: 0, amount: ether("0.1"), fee, validUntil } as L2Tx, carol) });
  const withdrawAmount = ether("0.3");
  sent.push({ what: "bob withdraws 0.3 ETH", hash: await send({ type: "withdraw", account: bob.id, token: 0, amount: withdrawAmount, fee, validUntil } as L2Tx, bob) });
  for (const s of sent) say(`sent ${s.what}: ${s.hash}`);

  // 3. Watch batches finalize; each finalized root must be the chain's.
  const shown = new Set<number>();
  await until("all transactions to be final", async () => {
    const st = await api<Status>("GET", "/v1/status");
    for (let n = 1; n <= st.finalizedBatch; n++) {
      if (shown.has(n)) continue;
      const b = await api<BatchInfo>("GET", `/v1/batches/${n}`);
      const onChain = (await alice.l1.publicClient.readContract({ address: rollup, abi: rollupAbi, functionName: "batchRoots", args: [BigInt(n)] })) as bigint;
      if (fieldToHex(onChain) !== b.newRoot) throw new Error(`batch ${n}: chain root ${fieldToHex(onChain)} != sequencer root ${b.newRoot}`);
      say(`batch ${n} final on L1: ${b.txs.length} L2 ops, ${b.depositCount} L1 records, root ${b.newRoot}`);
      shown.add(n);
    }
    const txs = await Promise.all(sent.map((s) => api<TxInfo>("GET", `/v1/txs/${s.hash}`)));
    const rejected = txs.find((t) => t.status === "rejected");
    if (rejected) throw new Error(`a transaction was rejected: ${rejected.reason}`);
    return txs.every((t) => t.status === "finalized");
  });

  // 4. Balances add up: every user started with 1 ETH; fees went to account 0.
  const expect: Record<string, bigint> = {
    alice: deposit - ether("0.25") - fee + ether("0.1"),
    bob: deposit + ether("0.25") - ether("0.5") - fee - withdrawAmount - fee,
    carol: deposit + ether("0.5") - ether("0.1") - fee,
  };
  for (const u of users) {
    const got = BigInt((await api<Account>("GET", `/v1/accounts/${u.id}`)).balances["0"] ?? "0");
    if (got !== expect[u.name]) throw new Error(`${u.name}: balance ${got} != expected ${expect[u.name]}`);
    say(`${u.name}: ${formatEther(got)} ETH on L2, as expected`);
  }

  // 5. Bob claims the withdrawal on L1.
  const owner = bob.l1.account.address;
  const before = await bob.l1.publicClient.getBalance({ address: owner });
  const pending = (await bob.l1.publicClient.readContract({ address: rollup, abi: rollupAbi, functionName: "pendingWithdrawal", args: [owner, 0] })) as bigint;
  if (pending !== withdrawAmount) throw new Error(`pending withdrawal ${pending} != ${withdrawAmount}`);
  const hash = await bob.l1.walletClient.writeContract({ address: rollup, abi: rollupAbi, functionName: "claim", args: [owner, 0], chain: bob.l1.chain, account: bob.l1.account });
  const rc = await bob.l1.publicClient.waitForTransactionReceipt({ hash });
  const after = await bob.l1.publicClient.getBalance({ address: owner });
  const paid = after - before + rc.gasUsed * rc.effectiveGasPrice;
  if (paid !== withdrawAmount) throw new Error(`claim paid ${paid}, expected ${withdrawAmount}`);
  say(`bob claimed ${formatEther(paid)} ETH on L1 (${privateKeyToAccount(info.devL1PrivateKeys[1]).address})`);
  say("demo: all batches final on chain, roots match, withdrawal paid");
}

main().then(() => process.exit(0), (e) => {
  console.error(`demo failed: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
});
