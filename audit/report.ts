/** Human text of an audit: one progress line per batch, and the final report. */
import type { ReplayCounts } from "../core";
import type { Mismatch } from "./audit";

export interface ReportLike {
  readonly ok: boolean;
  readonly batches: { readonly from: number; readonly to: number; readonly count: number };
  readonly operations: ReplayCounts;
  readonly proofsVerified: number;
  readonly finalRoot: string | null;
  readonly mismatches: readonly Mismatch[];
}

const hex = (dec: string | null): string => (dec === null ? "-" : `0x${BigInt(dec).toString(16).padStart(64, "0")}`);

export function operationsLine(c: ReplayCounts): string {
  return `registrations ${c.registrations}, deposits ${c.deposits}, forced exits ${c.forcedExits}, transfers ${c.transfers}, withdrawals ${c.withdrawals}, fills ${c.fills}`;
}

function opsShort(c: ReplayCounts): string {
  const parts = Object.entries(c).filter(([, v]) => v > 0).map(([k, v]) => {
    const name = k === "forcedExits" ? "forced exits" : k;
    return `${v} ${v === 1 ? name.replace(/s$/, "") : name}`;
  });
  return parts.length ? parts.join(", ") : "no operations";
}

export function progressLine(p: { batch: number; last: number; ok: boolean; operations: ReplayCounts; proof: string; replayed: boolean; mismatches: readonly Mismatch[]; ms: number }): string {
  const head = `batch ${p.batch}/${p.last}`;
  const what = `${p.replayed ? opsShort(p.operations) : "not replayed"}; proof ${p.proof} (${Math.round(p.ms)} ms)`;
  if (p.ok) return `${head} ok: ${what}`;
  return `${head} FAILED: ${what}\n${p.mismatches.map((m) => `  [${m.check}] ${m.reason}`).join("\n")}`;
}

export function mismatchLines(ms: readonly Mismatch[]): string[] {
  return ms.map((m) => `  ${m.batch === null ? "-" : `batch ${m.batch}`} [${m.check}]: ${m.reason}`);
}

/** Rows shared by the chain audit and the bundle check. */
export function summaryRows(r: ReportLike): [string, string][] {
  return [
    ["batches", r.batches.count === 0 ? "none to audit" : `${r.batches.from}..${r.batches.to} (${r.batches.count})`],
    ["operations", operationsLine(r.operations)],
    ["proofs verified", String(r.proofsVerified)],
    ["final root", hex(r.finalRoot)],
  ];
}

export function resultLines(r: ReportLike): string[] {
  if (r.ok) return ["result: OK, every check matches"];
  return [`result: FAILED, ${r.mismatches.length} mismatch${r.mismatches.length === 1 ? "" : "es"}:`, ...mismatchLines(r.mismatches)];
}

export { hex as rootHex };
