/**
 * Order acknowledgement latency over HTTP: a real sequencer (anvil, Rollup, SQLite with
 * synchronous=FULL, the matching engine; no proving) serves POST /v1/orders while a separate
 * process (bench/load.ts) sends pre-signed orders open-loop at a fixed rate. Latency is from the
 * request leaving the client to its response (signature check, core's order rules, matching,
 * the durable SQLite write of the order and its fills, the reply).
 *
 * Mix: two makers post resting limit orders 1–50 ticks from the 2 000 USDC mid (GTC); two takers
 * send IOC orders 0–20 ticks through the mid, `crossingShare` of the stream. Sizes 0.01–0.1 ETH.
 *
 * This measures the acknowledgement path alone: the bench deployment has room for every fill of
 * the run in one batch and a batch timeout longer than the run, so no batch is cut while the load
 * runs (cutting is bounded by proving in a real deployment, and its cost is in the proving figures).
 *
 *   npx tsx bench/latency.ts [--rate 1000] [--seconds 3] [--crossing 0.3]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { monitorEventLoopDelay, performance as nodePerformance } from "node:perf_hooks";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ANVIL_DEV_PRIVATE_KEYS, startAnvil } from "../chain/anvil";
import { deployModex } from "../contracts/deploy";
import { CONFIGS, generatePrivateKey, initCrypto, publicKeyOf, State, type Params } from "../core";
import { MAX_U32 } from "../core/field";
import type { Prover } from "../prover/types";
import { serve } from "../sequencer/api";
import { silentLogger } from "../sequencer/log";
import { createSequencer } from "../sequencer/sequencer";
import type { SignJob, UnsignedOrder } from "./sign-orders";
import { registerTraders, type BenchTrader } from "./traders";

const MARKET = { id: "ETH-USDC", base: 0, quote: 1, makerFeeBips: 10, takerFeeBips: 20 };
const ETH = 10n ** 18n;
const USDC = 10n ** 6n;

export interface LatencyResult {
  readonly rate: number;
  readonly seconds: number;
  readonly sent: number;
  readonly ok: number;
  readonly codes: Record<string, number>;
  readonly achievedRate: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Share of the run (warm-up included) the sequencer's event loop was busy: its headroom at this rate. */
  readonly mainThreadBusy: number;
  /** The sequencer's event loop held up past its 1 ms timer, p99 and worst, over the measured run (GC pauses included). */
  readonly loopDelayP99Ms: number;
  readonly loopDelayMaxMs: number;
  readonly mix: string;
}

/**
 * 65 536 order slots per account (orderLevels 8) so thousands of resting orders never share a slot,
 * and batches large enough that none is cut during the run; nothing is proven.
 */
const BENCH_SHAPE = { depositSlots: 16, l2Slots: CONFIGS.default.l2Slots, fillSlots: 8_192 };
const BENCH_PARAMS: Params = { ...CONFIGS.default, orderLevels: 8, ...BENCH_SHAPE, shapes: [BENCH_SHAPE] };

const NO_PROVER: Prover = { pending: 0, prove: () => Promise.reject(new Error("no proving in this bench")), close: async () => undefined };

export async function benchOrderLatency(opts: { rate: number; seconds: number; crossingShare: number; log?: (o: object) => void }): Promise<LatencyResult> {
  const log = opts.log ?? (() => undefined);
  await initCrypto();
  const tmp = mkdtempSync(join(tmpdir(), "modex-latency-"));
  const anvil = await startAnvil({ port: 0 });
  try {
    const dep = await deployModex({
      rpcUrl: anvil.rpcUrl,
      privateKey: ANVIL_DEV_PRIVATE_KEYS[0],
      verifierSource: join(__dirname, "..", "test", "fixtures", "contracts", "AcceptingVerifier.sol"),
      verifierContract: "AcceptingVerifier",
      params: BENCH_PARAMS,
      genesisRoot: new State(BENCH_PARAMS).root,
      operatorKey: publicKeyOf(generatePrivateKey()),
    });
    const seq = await createSequencer({
      params: BENCH_PARAMS,
      db: join(tmp, "latency.sqlite"),
      l1: { rpcUrl: anvil.rpcUrl, rollup: dep.rollup, privateKey: ANVIL_DEV_PRIVATE_KEYS[0], fromBlock: dep.deployBlock, pollIntervalMs: 200 },
      prover: NO_PROVER,
      proving: false,
      markets: [MARKET],
      batchTimeoutMs: 3_600_000,
      log: silentLogger,
    });
    const api = await serve(seq, 0, { log: silentLogger });
    try {
      // Four traders with ample ETH and USDC, registered on L1 and batched before the load starts.
      const traders = await registerTraders(anvil.rpcUrl, anvil.chainId, dep, [...ANVIL_DEV_PRIVATE_KEYS], 1_000n * ETH, 10_000_000n * USDC);
      // Queue: the operator, then a registration and a deposit per trader.
      const records = 1 + 2 * traders.length;
      // (The registrations are batched by hand: the timeout above never comes during a bench.)
      while (seq.status().queue.consumed < records) {
        await seq.pollL1();
        await seq.cutBatch();
      }
      await seq.start();

      // Pre-sign the stream in child processes (signing is the client's cost, not the sequencer's:
      // signed here, its garbage would be collected during the measured run).
      // A warm-up stream first (JIT, signature tables of the traders' keys), then the measured one:
      // one second's worth at the measured rate, from the same load process (its connections and JIT
      // warm too), not counted. Cold, the first ~0.7 s of a run had medians of 20–50 ms per 100 ms;
      // from the second second on, medians of 1–2 ms. (BENCH_PARAMS' 8,192 fill slots hold the warm-up and
      // about 15 s at 1,000/s of this mix; more would fill the batch and cut it mid-run, which blocks
      // acceptance for seconds: not this bench.)
      const warmup = Math.max(300, Math.round(opts.rate));
      const n = Math.round(opts.rate * opts.seconds) + warmup;
      // Signed in a function of its own: the stream lives in the file, not in this process's heap,
      // where the sequencer would mark it at every full GC of the run.
      const file = await writeSignedStream(tmp, { n, crossingShare: opts.crossingShare, traders, domain: { chainId: dep.chainId, rollup: dep.rollup }, log });
      const load = (file: string, rate: number, warm: number) =>
        new Promise<string>((resolve, reject) => {
          const child = spawn(process.execPath, ["--require", require.resolve("tsx/cjs"), join(__dirname, "load.ts"), "--url", `${api.url}/v1/orders`, "--rate", String(rate), "--bodies", file, "--warmup", String(warm)], { stdio: ["ignore", "pipe", "inherit"] });
          let text = "";
          child.stdout.on("data", (c) => (text += c));
          child.on("exit", (code) => (code === 0 ? resolve(text) : reject(new Error(`load generator exited ${code}`))));
        });
      log({ msg: "bench.latency.load", rate: opts.rate, warmup, orders: n - warmup });
      const elu0 = nodePerformance.eventLoopUtilization();
      // Event-loop delay at 1 ms resolution: how long the loop was held up, by anything (GC included).
      const loopDelay = monitorEventLoopDelay({ resolution: 1 });
      loopDelay.enable();
      const out = await load(file, opts.rate, warmup);
      loopDelay.disable();
      const mainThreadBusy = Math.round(nodePerformance.eventLoopUtilization(elu0).utilization * 100) / 100;
      const r = JSON.parse(out.trim().split("\n").pop()!) as Omit<LatencyResult, "rate" | "seconds" | "mix">;
      return {
        rate: opts.rate,
        seconds: opts.seconds,
        ...r,
        mainThreadBusy,
        loopDelayP99Ms: Math.round(Math.max(0, loopDelay.percentile(99) / 1e6 - 1) * 100) / 100,
        loopDelayMaxMs: Math.round(Math.max(0, loopDelay.max / 1e6 - 1) * 100) / 100,
        mix: `after ${warmup} warm-up orders at the same rate (not counted): ${Math.round((1 - opts.crossingShare) * 100)}% resting GTC limit orders 1–50 USDC from a 2000 USDC mid, ${Math.round(opts.crossingShare * 100)}% IOC takers 0–20 USDC through it; 0.01–0.1 ETH; 2 makers, 2 takers`,
      };
    } finally {
      await api.close();
      await seq.stop();
    }
  } finally {
    await anvil.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Generates the order stream (see benchOrderLatency), signs it, and writes the bodies to a file in `dir`; returns its path. */
async function writeSignedStream(dir: string, o: { n: number; crossingShare: number; traders: readonly BenchTrader[]; domain: SignJob["domain"]; log: (o: object) => void }): Promise<string> {
  const { n, traders } = o;
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const nextId = new Map<number, bigint>();
  const unsigned: UnsignedOrder[] = [];
  for (let i = 0; i < n; i++) {
    const taker = rnd() < o.crossingShare;
    const side: "buy" | "sell" = rnd() < 0.5 ? "buy" : "sell";
    const key = taker ? 2 + (i % 2) : i % 2;
    const u = traders[key];
    const ticks = taker ? Math.floor(rnd() * 21) : 1 + Math.floor(rnd() * 50);
    // 1 tick = 1 USDC; takers cross through the mid, makers rest on their own side.
    const priceUsdc = BigInt(2000 + (side === "buy" ? 1 : -1) * (taker ? ticks : -ticks));
    const amount = BigInt(1 + Math.floor(rnd() * 10)) * 10n ** 16n; // 0.01–0.1 ETH
    const quoteAmount = (amount * priceUsdc * USDC) / ETH;
    const orderId = nextId.get(u.id) ?? 1n;
    nextId.set(u.id, orderId + 1n);
    const order = { account: u.id, orderId: orderId.toString(), base: 0, quote: 1, side, amount: amount.toString(), quoteAmount: quoteAmount.toString(), maxFeeBips: 30, validUntil: Number(MAX_U32) };
    unsigned.push({ key, order, timeInForce: taker ? "ioc" : "gtc" });
  }
  o.log({ msg: "bench.latency.signing", orders: n });
  const bodies = await signOrders(dir, { domain: o.domain, keys: traders.map((t) => t.priv), orders: unsigned });
  const file = join(dir, "orders.json");
  writeFileSync(file, JSON.stringify(bodies));
  return file;
}

/** Signs the orders in parallel child processes (bench/sign-orders.ts), one per core; the bodies come back in order. */
async function signOrders(dir: string, job: SignJob): Promise<unknown[]> {
  const parts = Math.max(1, Math.min(availableParallelism(), Math.ceil(job.orders.length / 500)));
  const size = Math.ceil(job.orders.length / parts);
  const run = (i: number) =>
    new Promise<unknown[]>((resolve, reject) => {
      const input = join(dir, `sign-${i}.json`);
      const output = join(dir, `signed-${i}.json`);
      writeFileSync(input, JSON.stringify({ ...job, orders: job.orders.slice(i * size, (i + 1) * size) }));
      const child = spawn(process.execPath, ["--require", require.resolve("tsx/cjs"), join(__dirname, "sign-orders.ts"), input, output], { stdio: ["ignore", "inherit", "inherit"] });
      child.on("error", reject);
      child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(readFileSync(output, "utf8")) as unknown[]) : reject(new Error(`order signer exited ${code}`))));
    });
  return (await Promise.all(Array.from({ length: parts }, (_, i) => run(i)))).flat();
}

if (require.main === module) {
  const { values } = parseArgs({ options: { rate: { type: "string" }, seconds: { type: "string" }, crossing: { type: "string" } } });
  benchOrderLatency({
    rate: Number(values.rate ?? 1000),
    seconds: Number(values.seconds ?? 3),
    crossingShare: Number(values.crossing ?? 0.3),
    log: (o) => process.stderr.write(JSON.stringify(o) + "\n"),
  }).then(
    (r) => {
      console.log(JSON.stringify(r, null, 2));
      process.exit(0);
    },
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
