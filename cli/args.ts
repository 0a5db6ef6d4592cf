/**
 * Argument parsing for the modex CLI: node:util parseArgs driven by a per-command spec, which
 * also renders `--help`, plus the value parsers every command shares. Bad input is a UsageError
 * (exit status 2) whose message names the option and what it expects.
 */
import { parseArgs } from "node:util";

/** The user typed something wrong; `modex` prints the message and exits with status 2. */
export class UsageError extends Error {
  /** Command whose --help to point at, if any. */
  readonly command?: string;
  constructor(message: string, command?: string) {
    super(message);
    this.name = "UsageError";
    this.command = command;
  }
}

export interface OptionSpec {
  readonly type: "string" | "boolean";
  readonly short?: string;
  /** Placeholder in help, e.g. "ID" (string options). */
  readonly value?: string;
  readonly description: string;
  /** Shown in help; applied by the command (defaults may come from the environment). */
  readonly default?: string;
  readonly required?: boolean;
}

export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  /** Positional arguments, in order; all required. */
  readonly positionals?: readonly { readonly name: string; readonly description: string }[];
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Extra help text after the options. */
  readonly notes?: string;
}

export interface ParsedArgs {
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
}

/** Options every command takes. */
export const COMMON_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  json: { type: "boolean", description: "print one JSON object on stdout instead of text" },
  help: { type: "boolean", short: "h", description: "show this help" },
};

export function allOptions(spec: CommandSpec): Record<string, OptionSpec> {
  return { ...spec.options, ...COMMON_OPTIONS };
}

/** Parses argv for `spec`; `--help` short-circuits the required-option checks. */
export function parseCommandArgs(spec: CommandSpec, argv: readonly string[]): ParsedArgs {
  const options = allOptions(spec);
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: [...argv],
      options: Object.fromEntries(Object.entries(options).map(([k, o]) => [k, o.short ? { type: o.type, short: o.short } : { type: o.type }])),
      allowPositionals: true,
      strict: true,
    }) as typeof parsed;
  } catch (e) {
    throw new UsageError(parseErrorMessage(e), spec.name);
  }
  if (parsed.values.help) return parsed;
  const expected = spec.positionals ?? [];
  if (parsed.positionals.length > expected.length) {
    const extra = parsed.positionals.slice(expected.length);
    throw new UsageError(`unexpected argument${extra.length > 1 ? "s" : ""}: ${extra.join(" ")}`, spec.name);
  }
  if (parsed.positionals.length < expected.length) {
    throw new UsageError(`missing ${expected[parsed.positionals.length].name}`, spec.name);
  }
  for (const [name, o] of Object.entries(options)) {
    if (o.required && parsed.values[name] === undefined) throw new UsageError(`missing --${name} ${o.value ?? ""}`.trimEnd(), spec.name);
  }
  return parsed;
}

/** parseArgs' messages are long and mention "strict"; keep the part a user needs. */
function parseErrorMessage(e: unknown): string {
  const err = e as { code?: string; message?: string };
  const msg = err.message ?? String(e);
  if (err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const m = /Unknown option '([^']+)'/.exec(msg);
    return `unknown option ${m ? m[1] : ""}`.trimEnd();
  }
  if (err.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    const m = /Option '(?:-\w, )?(--[\w-]+)[^']*' argument missing/.exec(msg);
    if (m) return `option ${m[1]} needs a value`;
    const b = /Option '(?:-\w, )?(--[\w-]+)' does not take an argument/.exec(msg);
    if (b) return `option ${b[1]} takes no value`;
  }
  return msg;
}

export function renderHelp(spec: CommandSpec): string {
  const options = allOptions(spec);
  const pos = (spec.positionals ?? []).map((p) => ` ${p.name}`).join("");
  const req = Object.entries(spec.options)
    .filter(([, o]) => o.required)
    .map(([k, o]) => ` --${k} ${o.value ?? ""}`.trimEnd())
    .join("");
  const lines = [`usage: modex ${spec.name}${pos}${req} [options]`, "", spec.summary, ""];
  if (spec.positionals?.length) {
    lines.push("arguments:");
    for (const p of spec.positionals) lines.push(`  ${p.name.padEnd(24)} ${p.description}`);
    lines.push("");
  }
  lines.push("options:");
  for (const [k, o] of Object.entries(options)) {
    const flag = `${o.short ? `-${o.short}, ` : ""}--${k}${o.type === "string" ? ` ${o.value ?? "VALUE"}` : ""}`;
    const extra = [o.required ? "required" : "", o.default !== undefined ? `default: ${o.default}` : ""].filter(Boolean).join("; ");
    lines.push(`  ${flag.padEnd(24)} ${o.description}${extra ? ` (${extra})` : ""}`);
  }
  if (spec.notes) lines.push("", spec.notes.trimEnd());
  return lines.join("\n") + "\n";
}

// ---------------------------------------------------------------- value parsers

/** "--name" for options, "NAME" for positionals (named in capitals). */
function label(name: string): string {
  return /^[A-Z]/.test(name) ? name : `--${name}`;
}

const DECIMAL = /^(0|[1-9][0-9]*)$/;
const MAX_U128 = (1n << 128n) - 1n;

/** An L2 account id (uint32; the deployment's tree may be smaller, the API checks that). */
export function parseAccountId(s: string, name: string): number {
  return parseUint(s, name, 2 ** 32 - 1);
}

/** A token id: one byte on the wire (0 is ETH). */
export function parseTokenId(s: string, name = "token"): number {
  return parseUint(s, name, 255);
}

export function parseUint(s: string, name: string, max: number): number {
  if (!DECIMAL.test(s)) throw new UsageError(`${label(name)} must be a non-negative decimal integer, got ${JSON.stringify(s)}`);
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n > max) throw new UsageError(`${label(name)} must be at most ${max}, got ${s}`);
  return n;
}

/** An amount in base units (wei for ETH): a decimal integer below 2^128. */
export function parseAmount(s: string, name: string): bigint {
  if (!DECIMAL.test(s)) {
    if (/^[0-9]*\.[0-9]+$/.test(s)) throw new UsageError(`${label(name)} is in base units and must be an integer (e.g. wei for ETH), got ${s}`);
    if (/^[0-9.]+e[0-9]+$/i.test(s)) throw new UsageError(`${label(name)} must be written out in digits, got ${s}`);
    throw new UsageError(`${label(name)} must be a non-negative decimal integer, got ${JSON.stringify(s)}`);
  }
  const v = BigInt(s);
  if (v > MAX_U128) throw new UsageError(`${label(name)} must be below 2^128, got ${s}`);
  return v;
}

export function parseSeconds(s: string, name: string): number {
  return parseUint(s, name, 2 ** 32 - 1);
}

/** A 32-byte private key as hex, with or without 0x. */
export function parsePrivateKeyHex(s: string, name: string): `0x${string}` {
  const h = s.startsWith("0x") ? s.slice(2) : s;
  if (!/^[0-9a-fA-F]{64}$/.test(h)) throw new UsageError(`${label(name)} must be 32 bytes of hex (64 hex digits, optional 0x)`);
  return `0x${h.toLowerCase()}`;
}

export function parseAddress(s: string, name: string): `0x${string}` {
  if (!/^0x[0-9a-fA-F]{40}$/.test(s)) throw new UsageError(`${label(name)} must be a 0x-prefixed 20-byte address, got ${JSON.stringify(s)}`);
  return s as `0x${string}`;
}

export function parseTxHash(s: string): `0x${string}` {
  if (!/^0x[0-9a-fA-F]{64}$/.test(s)) throw new UsageError(`HASH must be 0x followed by 64 hex digits, got ${JSON.stringify(s)}`);
  return s.toLowerCase() as `0x${string}`;
}

export function parseUrl(s: string, name: string): string {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new UsageError(`${label(name)} must be a URL such as http://127.0.0.1:8080, got ${JSON.stringify(s)}`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new UsageError(`${label(name)} must be an http(s) URL, got ${s}`);
  return s.replace(/\/+$/, "");
}
