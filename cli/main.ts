/**
 * `modex`: the command-line client of a Modex rollup. Dispatches to one module per command group;
 * maps failures to an exit status: 0 success, 1 the operation failed, 2 bad usage.
 */
import { ApiError, ApiUnreachableError } from "./api-client";
import { parseCommandArgs, renderHelp, UsageError } from "./args";
import { claim, deposit, l1Group, register } from "./cmd-l1";
import { transfer, withdraw } from "./cmd-l2";
import { keygen } from "./cmd-keygen";
import { prover, subcommandSummary, type CommandGroup } from "./cmd-prover";
import { account, batch, status, tx } from "./cmd-query";
import { auditGroup } from "./cmd-audit";
import { exit } from "./cmd-exit";
import { book, cancel, markets, order, orders, trades } from "./cmd-trade";
import { processContext, type CliContext, type Command } from "./context";

export const COMMANDS: readonly Command[] = [
  keygen, register, deposit, claim, transfer, withdraw, order, cancel, markets, book, trades, orders, account, tx, batch, status, exit,
];

const GROUPS: readonly [string, readonly string[]][] = [
  ["keys", ["keygen"]],
  ["L1 (Rollup contract)", ["register", "deposit", "claim", "l1 force-withdraw", "l1 freeze", "exit"]],
  ["L2 (sequencer API)", ["transfer", "withdraw"]],
  ["trading (sequencer API)", ["order", "cancel", "markets", "book", "trades", "orders"]],
  ["queries (sequencer API)", ["account", "tx", "batch", "status"]],
  ["prover (operators)", ["prover status", "prover worker"]],
  ["audit (chain only, no API)", ["audit", "audit export", "audit bundle"]],
];

/** Two-word commands: `modex GROUP SUB ...`. */
export const COMMAND_GROUPS: readonly CommandGroup[] = [prover, l1Group, auditGroup];

export function globalHelp(): string {
  const summaries = new Map<string, string>(COMMANDS.map((c) => [c.spec.name, c.spec.summary]));
  for (const g of COMMAND_GROUPS) {
    if (g.default) summaries.set(g.name, g.default.spec.summary);
    for (const s of g.subcommands) summaries.set(`${g.name} ${s.name}`, subcommandSummary(s));
  }
  const width = Math.max(10, ...GROUPS.flatMap(([, names]) => names.map((n) => n.length + 1)));
  const lines = ["usage: modex <command> [options]", "", "Command-line client of a Modex rollup.", ""];
  for (const [group, names] of GROUPS) {
    lines.push(`${group}:`);
    for (const n of names) lines.push(`  ${n.padEnd(width)} ${firstSentence(summaries.get(n) ?? "")}`);
    lines.push("");
  }
  lines.push(
    "Run 'modex <command> --help' for its options. Every command takes --json for machine-readable output.",
    "Amounts are decimal integers in base units (wei for ETH); token 0 is ETH. Prices are quote base",
    "units per base base unit (2000 USDC per ETH is 0.000000002).",
    "Defaults: --api http://127.0.0.1:8080 (MODEX_API), --rpc http://127.0.0.1:8545 (MODEX_RPC),",
    "--rollup from the API's status (MODEX_ROLLUP), --l1-key from MODEX_L1_KEY.",
    "Exit status: 0 success, 1 the operation failed, 2 bad usage.",
  );
  return lines.join("\n") + "\n";
}

export function groupHelp(g: CommandGroup): string {
  const width = Math.max(...g.subcommands.map((s) => s.name.length));
  const lines = [`usage: modex ${g.name} <command> [options]`, "", g.summary, "", "commands:"];
  for (const s of g.subcommands) lines.push(`  ${s.name.padEnd(width)}  ${firstSentence(subcommandSummary(s))}`);
  lines.push("", `Run 'modex ${g.name} <command> --help' for its options.`);
  return lines.join("\n") + "\n";
}

function firstSentence(s: string): string {
  const i = s.indexOf(". ");
  return (i >= 0 ? s.slice(0, i) : s).replace(/\.$/, "");
}

/** Runs one command line; returns the exit status (never calls process.exit). */
export async function main(argv: readonly string[], ctx: CliContext = processContext()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    ctx.stdout((name === "help" ? helpOf(rest) : null) ?? globalHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-V") {
    ctx.stdout("modex 0.1.0\n");
    return 0;
  }
  const group = COMMAND_GROUPS.find((g) => g.name === name);
  if (group) return runGroup(group, rest, ctx);
  const command = COMMANDS.find((c) => c.spec.name === name);
  if (!command) {
    ctx.stderr(`modex: unknown command ${JSON.stringify(name)}\nRun 'modex --help' for the list of commands.\n`);
    return 2;
  }
  return runCommand(command, rest, ctx);
}

/** `modex help NAME [SUB]`: the help of a command, a group or a group's parsed subcommand; null if none. */
function helpOf([name, sub]: readonly string[]): string | null {
  const group = COMMAND_GROUPS.find((g) => g.name === name);
  if (group) {
    const s = group.subcommands.find((x) => x.name === sub);
    if (!s && group.default) return renderHelp(group.default.spec);
    return s && "command" in s ? renderHelp(s.command.spec) : groupHelp(group);
  }
  const target = COMMANDS.find((c) => c.spec.name === name);
  return target ? renderHelp(target.spec) : null;
}

/** `modex GROUP SUB ARGS`: parsed subcommands run like any command; raw ones get ARGS and return their own status. */
async function runGroup(group: CommandGroup, argv: readonly string[], ctx: CliContext): Promise<number> {
  const [sub, ...rest] = argv;
  // A group with a default command: `modex GROUP [options]` runs it (its --help lists the subcommands).
  if (group.default && (sub === undefined || sub.startsWith("-"))) return runCommand(group.default, argv, ctx);
  if (sub === undefined || sub === "--help" || sub === "-h" || sub === "help") {
    ctx.stdout(sub === "help" ? (helpOf([group.name, rest[0]]) ?? groupHelp(group)) : groupHelp(group));
    return sub === undefined ? 2 : 0;
  }
  const s = group.subcommands.find((x) => x.name === sub);
  if (!s) {
    ctx.stderr(`modex ${group.name}: unknown command ${JSON.stringify(sub)}\nRun 'modex ${group.name} --help' for its commands.\n`);
    return 2;
  }
  if ("command" in s) return runCommand(s.command, rest, ctx);
  try {
    return await s.run(rest, ctx);
  } catch (e) {
    return reportError(ctx, `${group.name} ${s.name}`, e, rest.includes("--json"));
  }
}

async function runCommand(command: Command, rest: readonly string[], ctx: CliContext): Promise<number> {
  try {
    const args = parseCommandArgs(command.spec, rest);
    if (args.values.help) {
      ctx.stdout(renderHelp(command.spec));
      return 0;
    }
    await command.run(args, ctx);
    return 0;
  } catch (e) {
    return reportError(ctx, command.spec.name, e, rest.includes("--json"));
  }
}

function reportError(ctx: CliContext, command: string, e: unknown, json: boolean): number {
  const usage = e instanceof UsageError;
  let message: string;
  let code = usage ? "usage" : "failed";
  if (e instanceof ApiError) {
    message = `the API refused: ${e.message} (${e.status} ${e.code})`;
    code = e.code;
  } else if (e instanceof ApiUnreachableError) {
    message = e.message;
    code = "api_unreachable";
  } else {
    message = e instanceof Error ? e.message : String(e);
  }
  if (json) ctx.stderr(JSON.stringify({ error: { code, message } }) + "\n");
  else {
    ctx.stderr(`modex ${command}: error: ${message}\n`);
    if (usage) ctx.stderr(`Run 'modex ${command} --help' for usage.\n`);
  }
  return usage ? 2 : 1;
}
