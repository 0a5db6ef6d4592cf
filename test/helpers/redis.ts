/**
 * A Redis for tests: a private redis-server on a free port (no persistence), or, when
 * MODEX_TEST_REDIS_URL is set, a fresh database number on that server so runs do not interfere.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as net from "node:net";

export interface TestRedis {
  /** redis://127.0.0.1:PORT[/DB] */
  readonly url: string;
  /** Empties the database (between tests). */
  flush(): Promise<void>;
  /** Stops the private server (or empties the shared database). */
  stop(): Promise<void>;
}

/** Alias: the name other tests import. */
export type RedisServer = TestRedis;

type Reply = string | number | null | Reply[] | Error;

/** Sends commands on one connection (after AUTH/SELECT from the URL) and returns their replies. */
export async function redisCommands(url: string, commands: readonly (readonly string[])[], timeoutMs = 5_000): Promise<Reply[]> {
  const u = new URL(url);
  const pre: string[][] = [];
  if (u.password) pre.push(u.username ? ["AUTH", decodeURIComponent(u.username), decodeURIComponent(u.password)] : ["AUTH", decodeURIComponent(u.password)]);
  const db = u.pathname.replace(/^\//, "");
  if (db) pre.push(["SELECT", db]);
  const all = [...pre, ...commands];
  const replies = await new Promise<Reply[]>((resolve, reject) => {
    const sock = net.createConnection({ host: u.hostname || "127.0.0.1", port: Number(u.port || 6379) });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`redis ${u.host}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    let buf = Buffer.alloc(0);
    const out: Reply[] = [];
    sock.on("connect", () => {
      sock.write(all.map(encode).join(""));
    });
    sock.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const r = parse(buf, 0);
        if (!r) break;
        out.push(r.value);
        buf = buf.subarray(r.end);
        if (out.length === all.length) {
          clearTimeout(timer);
          sock.end();
          resolve(out);
          return;
        }
      }
    });
    sock.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
  const mine = replies.slice(pre.length);
  const preErr = replies.slice(0, pre.length).find((r) => r instanceof Error);
  if (preErr) throw preErr;
  return mine;
}

function encode(cmd: readonly string[]): string {
  return `*${cmd.length}\r\n` + cmd.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("");
}

function parse(b: Buffer, i: number): { value: Reply; end: number } | null {
  const nl = b.indexOf("\r\n", i);
  if (nl < 0) return null;
  const line = b.subarray(i + 1, nl).toString("utf8");
  const after = nl + 2;
  switch (String.fromCharCode(b[i])) {
    case "+":
      return { value: line, end: after };
    case "-":
      return { value: new Error(line), end: after };
    case ":":
      return { value: Number(line), end: after };
    case "$": {
      const n = Number(line);
      if (n < 0) return { value: null, end: after };
      if (b.length < after + n + 2) return null;
      return { value: b.subarray(after, after + n).toString("utf8"), end: after + n + 2 };
    }
    case "*": {
      const n = Number(line);
      if (n < 0) return { value: null, end: after };
      const items: Reply[] = [];
      let at = after;
      for (let k = 0; k < n; k++) {
        const r = parse(b, at);
        if (!r) return null;
        items.push(r.value);
        at = r.end;
      }
      return { value: items, end: at };
    }
    default:
      throw new Error(`unexpected redis reply byte ${b[i]}`);
  }
}

async function ping(url: string): Promise<boolean> {
  try {
    const [r] = await redisCommands(url, [["PING"]], 1_000);
    return r === "PONG";
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function hasRedisServer(): boolean {
  const r = spawnSync("redis-server", ["--version"], { stdio: "ignore" });
  return !r.error && r.status === 0;
}

async function flushDb(url: string): Promise<void> {
  const [r] = await redisCommands(url, [["FLUSHDB"]]);
  if (r instanceof Error) throw r;
}

export async function startRedis(): Promise<TestRedis> {
  const shared = process.env.MODEX_TEST_REDIS_URL;
  if (shared) {
    // A database number of its own per test file: a counter in db 0 cycles through 1..15.
    const base = new URL(shared);
    base.pathname = "/0";
    const [n] = await redisCommands(base.toString(), [["INCR", "modex:test:db-counter"]]);
    if (typeof n !== "number") throw new Error(`MODEX_TEST_REDIS_URL ${shared}: cannot pick a database: ${String(n)}`);
    const u = new URL(shared);
    u.pathname = `/${1 + ((n - 1) % 15)}`;
    const url = u.toString();
    await flushDb(url);
    return { url, flush: () => flushDb(url), stop: () => flushDb(url).catch(() => undefined) };
  }
  if (!hasRedisServer()) throw new Error("cluster tests need redis-server: apt-get install redis-server (or set MODEX_TEST_REDIS_URL)");

  for (let tries = 0; ; tries++) {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const child: ChildProcess = spawn("redis-server", ["--port", String(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
    let exited = false;
    const exit = new Promise<void>((r) => child.once("exit", () => ((exited = true), r())));
    const deadline = Date.now() + 10_000;
    while (!exited && Date.now() < deadline && !(await ping(url))) await new Promise((r) => setTimeout(r, 50));
    if (exited || !(await ping(url))) {
      child.kill("SIGKILL");
      await exit;
      // Someone took the port between our probe and redis' bind: try another.
      if (tries < 3 && /Address already in use/i.test(output)) continue;
      throw new Error(`redis-server on port ${port} did not start: ${output.trim().slice(-500)}`);
    }
    const stop = async (): Promise<void> => {
      if (exited) return;
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 3_000);
      await exit;
      clearTimeout(t);
    };
    return { url, flush: () => flushDb(url), stop };
  }
}
