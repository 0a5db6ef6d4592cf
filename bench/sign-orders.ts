/**
 * Bench helper, run as a child process: signs a list of orders and writes their wire bodies.
 * Signing is the client's cost; doing it here keeps it (and the garbage it leaves) out of the
 * process whose latency a bench measures, and lets several children sign in parallel.
 *
 *   tsx bench/sign-orders.ts IN.json OUT.json
 *
 * IN: { domain: { chainId, rollup }, keys: [private key…], orders: [{ key, order, timeInForce }] } with
 * `order` an unsigned order whose bigint fields are decimal strings; OUT: the wire bodies, in order.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { initCrypto, orderMessage, signMessage, type Order } from "../core";
import type { Domain } from "../core/domain";
import { orderToWire } from "../sequencer/wire";

export interface UnsignedOrder {
  readonly key: number;
  readonly order: { account: number; orderId: string; base: number; quote: number; side: "buy" | "sell"; amount: string; quoteAmount: string; maxFeeBips: number; validUntil: number };
  readonly timeInForce: string;
}

export interface SignJob {
  readonly domain: { chainId: number; rollup: `0x${string}` };
  readonly keys: readonly string[];
  readonly orders: readonly UnsignedOrder[];
}

async function main(): Promise<void> {
  const [input, output] = process.argv.slice(2);
  if (!input || !output) throw new Error("usage: sign-orders.ts IN.json OUT.json");
  await initCrypto();
  const job = JSON.parse(readFileSync(input, "utf8")) as SignJob;
  const domain: Domain = job.domain;
  const bodies = job.orders.map(({ key, order: o, timeInForce }) => {
    const unsigned: Order = { ...o, orderId: BigInt(o.orderId), amount: BigInt(o.amount), quoteAmount: BigInt(o.quoteAmount), signature: { r8x: 0n, r8y: 0n, s: 0n } };
    const order: Order = { ...unsigned, signature: signMessage(job.keys[key], orderMessage(unsigned, domain)) };
    return { ...orderToWire(order), timeInForce };
  });
  writeFileSync(output, JSON.stringify(bodies));
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
