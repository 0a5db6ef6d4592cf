/**
 * Open-loop HTTP load: POSTs pre-signed bodies to URL at a fixed rate (request i leaves at
 * t0 + i/rate, whatever the answers do) and reports acknowledgement latency percentiles.
 * Runs in its own process so the client does not share the sequencer's event loop.
 * The first `--warmup N` bodies go out at the same rate, on the same connections, and are not
 * counted: both processes' JIT and the client's connection pool are warm when measuring starts.
 *
 *   tsx bench/load.ts --url http://127.0.0.1:PORT/v1/orders --rate 1000 --bodies FILE.json [--warmup N]
 *
 * Prints one JSON line: { sent, ok, errors, codes, seconds, achievedRate, p50Ms, p90Ms, p99Ms, maxMs }.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Agent, request } from "node:http";

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { url: { type: "string" }, rate: { type: "string" }, bodies: { type: "string" }, warmup: { type: "string" } } });
  if (!values.url || !values.rate || !values.bodies) throw new Error("usage: load.ts --url URL --rate N --bodies FILE");
  const url = new URL(values.url);
  const rate = Number(values.rate);
  const bodies = (JSON.parse(readFileSync(values.bodies, "utf8")) as unknown[]).map((b) => JSON.stringify(b));
  const warmup = Number(values.warmup ?? 0);
  if (!Number.isInteger(warmup) || warmup < 0 || warmup > bodies.length) throw new Error("--warmup must be an integer from 0 to the number of bodies");
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const latencies: number[] = [];
  const codes: Record<string, number> = {};
  let errors = 0;

  const send = (body: string, counted: boolean): Promise<void> =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const req = request(
        { host: url.hostname, port: url.port, path: url.pathname, method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } },
        (res) => {
          let text = "";
          res.on("data", (c) => (text += c));
          res.on("end", () => {
            if (!counted) return resolve();
            latencies.push(performance.now() - t0);
            const key = res.statusCode && res.statusCode < 300 ? String(res.statusCode) : `${res.statusCode} ${safeCode(text)}`;
            codes[key] = (codes[key] ?? 0) + 1;
            resolve();
          });
        },
      );
      req.on("error", () => {
        if (counted) errors++;
        resolve();
      });
      req.end(body);
    });

  const begin = performance.now();
  let start = begin;
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < bodies.length; i++) {
    const due = begin + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    if (i === warmup) start = performance.now();
    inflight.push(send(bodies[i], i >= warmup));
  }
  await Promise.all(inflight);
  const seconds = (performance.now() - start) / 1000;
  const measured = bodies.length - warmup;
  const sorted = [...latencies].sort((a, b) => a - b);
  const ok = Object.entries(codes).filter(([k]) => /^2/.test(k)).reduce((n, [, v]) => n + v, 0);
  const round = (x: number) => Math.round(x * 100) / 100;
  console.log(JSON.stringify({
    sent: measured, ok, errors, codes, seconds: round(seconds), achievedRate: round(measured / seconds),
    p50Ms: round(percentile(sorted, 50)), p90Ms: round(percentile(sorted, 90)), p99Ms: round(percentile(sorted, 99)), maxMs: round(sorted[sorted.length - 1] ?? NaN),
  }));
  agent.destroy();
}

function safeCode(text: string): string {
  try {
    return (JSON.parse(text) as { error?: { code?: string } }).error?.code ?? "?";
  } catch {
    return "?";
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
