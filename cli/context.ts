/**
 * What a command runs against (streams, environment, clock, fetch) and how it reports: text for
 * people by default, one JSON object with --json. Injected so tests can run commands in-process.
 */
import { createApiClient, type ModexApiClient } from "./api-client";
import { parseUrl, type CommandSpec, type OptionSpec, type ParsedArgs } from "./args";

export interface CliContext {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly nowMs: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** Default: global fetch. */
  readonly fetch?: typeof fetch;
}

export interface Command {
  readonly spec: CommandSpec;
  run(args: ParsedArgs, ctx: CliContext): Promise<void>;
}

export function processContext(): CliContext {
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    env: process.env,
    nowMs: () => Date.now(),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  };
}

/** bigint → decimal string, so results print as JSON. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2);
}

/** Prints `result` as JSON with --json, else the human lines. */
export function report(ctx: CliContext, args: ParsedArgs, result: object, human: readonly string[]): void {
  if (args.values.json) ctx.stdout(toJson(result) + "\n");
  else ctx.stdout(human.join("\n") + "\n");
}

/** Progress for people (stderr, so stdout stays the result); silent with --json. */
export function note(ctx: CliContext, args: ParsedArgs, line: string): void {
  if (!args.values.json) ctx.stderr(line + "\n");
}

/** Aligned "key  value" lines. */
export function table(rows: readonly (readonly [string, string | number | bigint | boolean])[]): string[] {
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${String(v)}`);
}

/** A table with a header row; columns padded to their widest cell, two spaces apart. */
export function columns(header: readonly string[], rows: readonly (readonly (string | number | bigint)[])[]): string[] {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const w = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  return cells.map((r) => r.map((c, i) => c.padEnd(w[i])).join("  ").trimEnd());
}

// ---------------------------------------------------------------- shared options

export const DEFAULT_API = "http://127.0.0.1:8080";
export const DEFAULT_RPC = "http://127.0.0.1:8545";

export const API_OPTION: Record<string, OptionSpec> = {
  api: { type: "string", value: "URL", description: "sequencer API (env MODEX_API)", default: DEFAULT_API },
};

export function apiClient(args: ParsedArgs, ctx: CliContext): ModexApiClient {
  const url = parseUrl((args.values.api as string | undefined) ?? ctx.env.MODEX_API ?? DEFAULT_API, "api");
  return createApiClient({ baseUrl: url, fetch: ctx.fetch, sleep: ctx.sleep });
}

/**
 * Loads a heavy module (EdDSA library, viem) only when a command needs it, so `--help` and argument
 * errors answer at once. `require`, not `import()`: bin/modex.js registers tsx's CommonJS hook only,
 * and tsx leaves `import()` to Node's ESM loader, which cannot resolve extensionless .ts paths.
 */
export function lazy<T>(load: () => unknown): T {
  return load() as T;
}
