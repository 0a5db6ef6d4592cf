/**
 * Anvil process manager: spawns the anvil binary directly (its real pid, no shell),
 * waits until its JSON-RPC answers, and stops it without leaving orphans.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

export interface StartAnvilOptions {
  /** TCP port; 0 (the default) lets anvil pick a free one. */
  readonly port?: number;
  /** Chain id (default 31337). Must be < 2^32 for Modex. */
  readonly chainId?: number;
  /** Seconds between blocks; omitted = automine (a block per transaction). */
  readonly blockTime?: number;
  /** Receives anvil's stdout/stderr lines; omitted = discarded. */
  readonly log?: (line: string) => void;
  /** Extra command-line arguments passed to anvil verbatim. */
  readonly args?: readonly string[];
  /** How long to wait for the RPC to answer (ms, default 30 000). */
  readonly startTimeoutMs?: number;
}

export interface AnvilInstance {
  readonly rpcUrl: string;
  readonly chainId: number;
  readonly port: number;
  readonly pid: number;
  /** SIGTERM, then SIGKILL after `timeoutMs` (default 5 000); resolves once the process has exited. */
  stop(timeoutMs?: number): Promise<void>;
}

/** Well-known anvil dev account 0 (mnemonic "test test … junk"). Devnet only. */
export const ANVIL_DEV_PRIVATE_KEY =
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80" as const;
/** Dev accounts 1–3, for tests that need more than one L1 user. */
export const ANVIL_DEV_PRIVATE_KEYS = [
  ANVIL_DEV_PRIVATE_KEY,
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
] as const;

/** Path of the anvil binary shipped by @foundry-rs/anvil-linux-amd64 (or $ANVIL_BIN). */
export function anvilBinary(): string {
  const fromEnv = process.env.ANVIL_BIN;
  if (fromEnv) return fromEnv;
  const pkg = require.resolve("@foundry-rs/anvil-linux-amd64/package.json");
  const bin = join(dirname(pkg), "bin", "anvil");
  if (!existsSync(bin)) throw new Error(`anvil binary not found at ${bin}`);
  return bin;
}

const LISTENING = /Listening on ([0-9.]+|\[[0-9a-f:]+\]|[\w.-]+):(\d+)/;

export async function startAnvil(opts: StartAnvilOptions = {}): Promise<AnvilInstance> {
  const chainId = opts.chainId ?? 31337;
  if (!Number.isInteger(chainId) || chainId <= 0 || chainId >= 2 ** 32) {
    throw new RangeError(`chainId must be in [1, 2^32), got ${chainId}`);
  }
  const args = ["--host", "127.0.0.1", "--port", String(opts.port ?? 0), "--chain-id", String(chainId)];
  if (opts.blockTime !== undefined) args.push("--block-time", String(opts.blockTime));
  if (opts.args) args.push(...opts.args);

  const child = spawn(anvilBinary(), args, { stdio: ["ignore", "pipe", "pipe"] });
  if (child.pid === undefined) {
    // spawn failures surface as an 'error' event; wait for it to get a useful message
    const err = await new Promise<Error>((res) => child.once("error", res));
    throw new Error(`failed to start anvil: ${err.message}`);
  }
  const pid = child.pid;
  const exited = new Promise<void>((res) => child.once("exit", () => res()));
  // Never leave anvil behind if this Node process exits without calling stop().
  const onExit = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  process.once("exit", onExit);

  try {
    const port = await waitForListening(child, opts.log, opts.startTimeoutMs ?? 30_000);
    const rpcUrl = `http://127.0.0.1:${port}`;
    await waitForRpc(rpcUrl, chainId, opts.startTimeoutMs ?? 30_000);
    let stopping: Promise<void> | undefined;
    return {
      rpcUrl,
      chainId,
      port,
      pid,
      stop(timeoutMs = 5_000): Promise<void> {
        stopping ??= stopProcess(child, exited, timeoutMs).finally(() => process.removeListener("exit", onExit));
        return stopping;
      },
    };
  } catch (e) {
    await stopProcess(child, exited, 2_000);
    process.removeListener("exit", onExit);
    throw e;
  }
}

function waitForListening(
  child: ChildProcess,
  log: ((line: string) => void) | undefined,
  timeoutMs: number,
): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let found = false;
    const tail: string[] = [];
    const timer = setTimeout(() => fail(new Error(`anvil did not start within ${timeoutMs} ms`)), timeoutMs);
    const fail = (e: Error): void => {
      if (found) return;
      found = true;
      clearTimeout(timer);
      reject(new Error(`${e.message}\n${tail.join("\n")}`));
    };
    const onLine = (line: string): void => {
      log?.(line);
      if (found) return;
      tail.push(line);
      if (tail.length > 20) tail.shift();
      const m = LISTENING.exec(line);
      if (m) {
        found = true;
        clearTimeout(timer);
        resolve(Number(m[2]));
      }
    };
    for (const stream of [child.stdout, child.stderr]) {
      let buf = "";
      stream?.setEncoding("utf8");
      // Keep draining after startup so anvil never blocks on a full pipe.
      stream?.on("data", (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf("\n")) >= 0) {
          onLine(buf.slice(0, i).replace(/\r$/, ""));
          buf = buf.slice(i + 1);
        }
      });
    }
    child.once("error", (e) => fail(e));
    child.once("exit", (code, signal) => fail(new Error(`anvil exited during startup (code ${code}, signal ${signal})`)));
  });
}

async function waitForRpc(rpcUrl: string, chainId: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(rpcUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      });
      const body = (await res.json()) as { result?: string };
      if (body.result !== undefined) {
        if (Number(body.result) !== chainId) throw new Error(`anvil answered chain id ${body.result}, expected ${chainId}`);
        return;
      }
      last = new Error(`unexpected RPC answer ${JSON.stringify(body)}`);
    } catch (e) {
      last = e;
      if (e instanceof Error && e.message.startsWith("anvil answered")) throw e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`anvil RPC at ${rpcUrl} did not answer within ${timeoutMs} ms: ${String(last)}`);
}

async function stopProcess(child: ChildProcess, exited: Promise<void>, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((res) => {
    timer = setTimeout(() => res(true), timeoutMs);
  });
  const done = await Promise.race([exited.then(() => false), timedOut]);
  clearTimeout(timer);
  if (done) {
    child.kill("SIGKILL");
    await exited;
  }
  child.stdout?.destroy();
  child.stderr?.destroy();
}

/** Mines `n` empty blocks (anvil_mine): moves block.number past a deadline in tests and benches. */
export async function mineBlocks(rpcUrl: string, n: number): Promise<void> {
  const res = await fetch(rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "anvil_mine", params: [`0x${n.toString(16)}`] }),
  });
  const body = (await res.json()) as { error?: { message: string } };
  if (body.error) throw new Error(`anvil_mine: ${body.error.message}`);
}
