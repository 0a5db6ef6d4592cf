/** The auditor's pure parts: calldata decoding, the contract's pubdata, snapshots, metadata stripping. */
import { encodeFunctionData, toHex } from "viem";
import {
  CONFIGS, State, buildBatch, generatePrivateKey, initCrypto, orderMessage, publicKeyOf, signMessage, withdrawBitmap, QUEUE_DEPOSIT, QUEUE_REGISTER, type Order,
} from "../core";
import { rollupAbi } from "../contracts/abi";
import { contractPubdata, decodeSubmitBatch, restoreSnapshot, snapshotOf, stripMetadata } from "../audit";
import { DOMAIN, ROLLUP } from "./helpers/world";

const P = CONFIGS.test;
const zero = { r8x: 0n, r8y: 0n, s: 0n };

test("submitBatch calldata decodes to its arguments, and the contract's pubdata is core's", async () => {
  await initCrypto();
  const keys = [generatePrivateKey(), generatePrivateKey(), generatePrivateKey()];
  const state = new State(P);
  let q = 0n;
  const regs = keys.map((k, i) => ({ kind: QUEUE_REGISTER as typeof QUEUE_REGISTER, accountId: i, token: 0, amount: 10n ** 18n, ...publicKeyOf(k) }));
  for (const r of [...regs, { kind: QUEUE_DEPOSIT as typeof QUEUE_DEPOSIT, accountId: 2, token: 1, amount: 10n ** 9n, ax: 0n, ay: 0n }]) {
    q = buildBatch(state, { chainId: 31337, rollup: ROLLUP, timestamp: 5, queueHashBefore: q, deposits: [r], txs: [] }).queueHashAfter;
  }
  const signOrder = (o: Omit<Order, "signature">, k: string): Order => ({ ...o, signature: signMessage(k, orderMessage({ ...o, signature: zero }, DOMAIN)) });
  const sell = signOrder({ account: 1, orderId: 7n, base: 0, quote: 1, side: "sell", amount: 10n ** 16n, quoteAmount: 20_000_000n, maxFeeBips: 30, validUntil: 99 }, keys[1]);
  const buy = signOrder({ account: 2, orderId: 3n, base: 0, quote: 1, side: "buy", amount: 10n ** 16n, quoteAmount: 20_000_000n, maxFeeBips: 30, validUntil: 99 }, keys[2]);
  const oldRoot = state.root;
  const b = buildBatch(state, { chainId: 31337, rollup: ROLLUP, timestamp: 6, queueHashBefore: q, deposits: [], txs: [], fills: [{ type: "fill", sell, buy, baseAmount: 10n ** 15n, quoteAmount: 2_000_000n, sellFee: 0n, buyFee: 0n }] });
  const proof = [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n] as const;
  const data = encodeFunctionData({ abi: rollupAbi, functionName: "submitBatch", args: [b.newRoot, b.timestamp, 0, toHex(Uint8Array.from(b.feeTokens)), toHex(withdrawBitmap(b.chunks)), toHex(b.slotData), toHex(b.forcedExitData), proof] });
  const call = decodeSubmitBatch(data);
  expect(call).toMatchObject({ newRoot: b.newRoot, timestamp: 6, depositCount: 0, proof: [...proof] });
  expect(Buffer.from(call.chunks).equals(Buffer.from(b.slotData))).toBe(true);
  const pd = contractPubdata({ oldRoot, queueHashBefore: q, queueHashAfter: q, chainId: 31337, rollup: ROLLUP }, call);
  expect(Buffer.from(pd).equals(Buffer.from(b.pubdata))).toBe(true);
  expect(() => decodeSubmitBatch(encodeFunctionData({ abi: rollupAbi, functionName: "claim", args: ["0x" + "11".repeat(20) as `0x${string}`, 0] }))).toThrow(/calls claim, not submitBatch/);

  // A snapshot of that state (keys, nonces, balances, order slots) restores to the same root.
  const snap = JSON.parse(JSON.stringify(snapshotOf(state, { batch: 5, consumed: 4, queueHash: q, chainId: 31337, rollup: "0x" + "22".repeat(20) })));
  const back = restoreSnapshot(snap);
  expect(back.state.root).toBe(state.root);
  expect(back.state.orderSlot(1, 7 % 4)).toEqual({ orderId: 7n, filled: 10n ** 15n });
  expect(() => restoreSnapshot({ ...snap, root: "1" })).toThrow(/snapshot is corrupt/);
  expect(() => restoreSnapshot({ ...snap, version: 2 })).toThrow(/unsupported snapshot version/);
});

test("stripMetadata drops solc's CBOR tail (its length is the last two bytes)", () => {
  const meta = "a2" + "00".repeat(9); // 10 bytes
  expect(stripMetadata(`0x6001ABCD${meta}000a`)).toBe("6001abcd");
  expect(stripMetadata("0x")).toBe("");
});
