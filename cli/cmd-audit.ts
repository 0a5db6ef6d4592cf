/**
 * `modex audit ...`: the offline auditor (audit/). Reads the chain alone, never the sequencer's API.
 *   audit          replay and check every finalized batch of a rollup
 *   audit export   write a proof bundle of finalized batches
 *   audit bundle   check a proof bundle with no chain
 * Exit status 0 only when every check matches; 1 with the mismatches; 2 for bad arguments.
 */
import { existsSync } from "node:fs";
import * as path from "node:path";
import { parseAddress, parseUint, parseUrl, UsageError, type OptionSpec, type ParsedArgs } from "./args";
import { DEFAULT_RPC, lazy, note, report, table, type CliContext, type Command } from "./context";
import type { CommandGroup } from "./cmd-prover";
import { shapeKey } from "../core/params";

const verifierText = (v: { readonly address: string; readonly matches: boolean } | null): string =>
  v ? (v.matches ? `${v.address}: the key's verifier` : `${v.address}: NOT the key's verifier`) : "not checked";

type AuditLib = typeof import("../audit");
const lib = (): AuditLib => lazy<AuditLib>(() => require("../audit"));

/** The audit found mismatches: the report is printed, the status is 1. */
export class AuditFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AuditFailed";
  }
}

const CHAIN_OPTIONS: Record<string, OptionSpec> = {
  rpc: { type: "string", value: "URL", description: "L1 JSON-RPC endpoint (env MODEX_RPC)", default: DEFAULT_RPC },
  rollup: { type: "string", value: "ADDR", description: "Rollup contract address (env MODEX_ROLLUP)", required: false },
  config: { type: "string", value: "NAME", description: "parameter set test|default|production (orderLevels is not on chain)", default: "the config whose other params match the rollup's" },
  vkey: { type: "string", value: "FILE", description: "Groth16 verification key JSON", default: ".modex/keys/<circuit hash of the config>/verification_key.json" },
  "from-block": { type: "string", value: "N", description: "first L1 block to scan for events (the deployment block is enough)", default: "0" },
};

function chainArgs(args: ParsedArgs, ctx: CliContext, name: string): { rpcUrl: string; rollup: string; config?: string; vkeyPath?: string; fromBlock?: bigint } {
  const rpcUrl = parseUrl((args.values.rpc as string | undefined) ?? ctx.env.MODEX_RPC ?? DEFAULT_RPC, "rpc");
  const rollupArg = (args.values.rollup as string | undefined) ?? ctx.env.MODEX_ROLLUP;
  if (rollupArg === undefined) throw new UsageError("missing --rollup ADDR (or MODEX_ROLLUP)", name);
  const rollup = parseAddress(rollupArg, "rollup");
  const config = args.values.config as string | undefined;
  if (config !== undefined && !["test", "default", "production"].includes(config)) throw new UsageError(`--config must be test, default or production, got ${JSON.stringify(config)}`, name);
  const vkey = args.values.vkey as string | undefined;
  if (vkey !== undefined && !existsSync(vkey)) throw new UsageError(`--vkey ${vkey}: no such file`, name);
  const fb = args.values["from-block"] as string | undefined;
  return { rpcUrl, rollup, config, vkeyPath: vkey, fromBlock: fb === undefined ? undefined : BigInt(parseUint(fb, "from-block", Number.MAX_SAFE_INTEGER)) };
}

export const audit: Command = {
  spec: {
    name: "audit",
    summary:
      "Audit a rollup from the chain alone. Replays every finalized batch from genesis with core's rules and checks its queue records, roots, pubdata, public inputs, Groth16 proof and withdrawals, and that the deployed verifier is the key's.",
    options: {
      ...CHAIN_OPTIONS,
      snapshot: { type: "string", value: "FILE", description: "resume from this snapshot if it exists; write it back when the audit passes" },
    },
    notes: [
      "Subcommands:",
      "  modex audit export --rpc URL --rollup ADDR --out DIR [--from N] [--to N]   write a proof bundle",
      "  modex audit bundle DIR                                                  check a proof bundle offline",
      "Progress goes to stderr, one line per batch; the report to stdout. Exit status 0 only when",
      "every check matches, 1 when something does not (each mismatch names its batch), 2 for bad usage.",
    ].join("\n"),
  },
  async run(args, ctx) {
    const o = chainArgs(args, ctx, "audit");
    const { auditChain, progressLine, summaryRows, resultLines, rootHex } = lib();
    const r = await auditChain({ ...o, snapshotPath: args.values.snapshot as string | undefined, onBatch: (p) => note(ctx, args, progressLine(p)) });
    report(ctx, args, r, [
      `audit of rollup ${r.rollup} on chain ${r.chainId} (config ${r.config})`,
      ...table([
        // One key and one deployed verifier per batch shape (PROTOCOL.md §5.5).
        ...(r.shapes.length > 1
          ? r.shapes.flatMap((c): [string, string][] => [
              [`shape ${shapeKey(c.shape)} key`, c.vkey ? `${c.vkey.path} (${c.vkey.source})` : "none"],
              [`shape ${shapeKey(c.shape)} verifier`, verifierText(c.verifier)],
            ])
          : ([
              ["verification key", r.vkey ? `${r.vkey.path} (${r.vkey.source})` : "none"],
              ["verifier", verifierText(r.verifier)],
            ] as [string, string][])),
        ...(r.snapshot ? ([["snapshot", `${r.snapshot.loadedBatch === null ? "none loaded" : `resumed after batch ${r.snapshot.loadedBatch}`}; ${r.snapshot.written ? `written (${r.snapshot.file})` : "not written"}`]] as [string, string][]) : []),
        ...summaryRows(r),
        ["chain root", `${rootHex(r.chainRoot)} (batch ${r.batches.to})`],
        ["time", `${r.seconds} s`],
      ]),
      ...resultLines(r),
    ]);
    if (!r.ok) throw new AuditFailed(`${r.mismatches.length} mismatch${r.mismatches.length === 1 ? "" : "es"}; first: ${r.mismatches[0].batch === null ? "" : `batch ${r.mismatches[0].batch}: `}${r.mismatches[0].reason}`);
  },
};

export const auditExport: Command = {
  spec: {
    name: "audit export",
    summary: "Write a proof bundle of finalized batches. The bundle holds the verification key, a manifest, and per batch its pubdata, public input, proof and header with the queue records it consumed.",
    options: {
      ...CHAIN_OPTIONS,
      out: { type: "string", value: "DIR", description: "bundle directory (created)", required: true },
      from: { type: "string", value: "N", description: "first batch", default: "1" },
      to: { type: "string", value: "N", description: "last batch", default: "the last finalized" },
    },
    notes: "Each batch-NNNNNN/{public.json,proof.json} also verifies with plain\n  npx snarkjs groth16 verify DIR/verification_key.json DIR/batch-000001/public.json DIR/batch-000001/proof.json",
  },
  async run(args, ctx) {
    const o = chainArgs(args, ctx, "audit export");
    const from = args.values.from === undefined ? undefined : parseUint(args.values.from as string, "from", 2 ** 53 - 1);
    const to = args.values.to === undefined ? undefined : parseUint(args.values.to as string, "to", 2 ** 53 - 1);
    if (from !== undefined && from < 1) throw new UsageError("--from must be at least 1", "audit export");
    if (from !== undefined && to !== undefined && to < from) throw new UsageError(`--to ${to} is before --from ${from}`, "audit export");
    const r = await lib().exportBundle({ ...o, out: args.values.out as string, from, to, onBatch: (n) => note(ctx, args, `batch ${n} exported`) });
    if (!r.manifest.verifierMatchesKey) ctx.stderr(`warning: the rollup's verifier ${r.manifest.verifier} is not the verifier of ${r.vkey}: its proofs will not verify under the bundle's key\n`);
    report(ctx, args, r, [
      `exported ${r.batches.length} batch${r.batches.length === 1 ? "" : "es"} (${r.batches[0]}..${r.batches[r.batches.length - 1]}) to ${r.dir}`,
      ...table([
        ["verification key", r.vkey],
        ["chain", `${r.manifest.chainId}, rollup ${r.manifest.rollup}`],
      ]),
    ]);
  },
};

export const auditBundle: Command = {
  spec: {
    name: "audit bundle",
    summary: "Check a proof bundle with no chain. Each public input must be sha256(pubdata) mod 2^253, each proof verify under the bundle's key, roots and queue hashes chain, and the state replay.",
    positionals: [{ name: "DIR", description: "bundle directory written by modex audit export" }],
    options: {},
  },
  async run(args, ctx) {
    if (!existsSync(path.join(args.positionals[0], "manifest.json"))) throw new UsageError(`${args.positionals[0]} is not a proof bundle (no manifest.json)`, "audit bundle");
    const { verifyBundle, progressLine, summaryRows, resultLines } = lib();
    const r = await verifyBundle(args.positionals[0], (p) => note(ctx, args, progressLine(p)));
    report(ctx, args, r, [`proof bundle ${r.dir}: rollup ${r.rollup} on chain ${r.chainId} (config ${r.config})`, ...table([...summaryRows(r), ["time", `${r.seconds} s`]]), ...resultLines(r)]);
    if (!r.ok) throw new AuditFailed(`${r.mismatches.length} mismatch${r.mismatches.length === 1 ? "" : "es"}; first: ${r.mismatches[0].batch === null ? "" : `batch ${r.mismatches[0].batch}: `}${r.mismatches[0].reason}`);
  },
};

export const auditGroup: CommandGroup = {
  name: "audit",
  summary: "Audit a rollup offline: replay and check its history from the chain, export and check proof bundles.",
  default: audit,
  subcommands: [
    { name: "export", command: auditExport },
    { name: "bundle", command: auditBundle },
  ],
};
