/**
 * The prover pool benchmark alone (bench/prover.ts), without the rest of `npm run bench`:
 *
 *   npx tsx bench/prover-main.ts [--quick] [--big] [--parts ab,proof,embedded,cluster,pinned] [--out FILE]
 *
 * --big adds the ~2^20-constraint batch (BIG_PARAMS) to the side-by-side part; --parts runs some parts only.
 *
 * Prints the summary tables; with --out, writes the result as JSON. (`npm run bench -- --only prover`
 * does the same and stores it under `prover` in bench/results/latest.json.)
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { initCrypto } from "../core";
import { releaseSnarkjsCurve } from "../prover/keys";
import { benchProver, parseProverParts, printProverSummary, PROVER_PARTS } from "./prover";

const log = (o: object): void => void process.stderr.write(JSON.stringify({ t: new Date().toISOString(), ...o }) + "\n");

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: "boolean" }, big: { type: "boolean" }, parts: { type: "string" }, out: { type: "string" }, help: { type: "boolean" } } });
  if (values.help) {
    console.log(`usage: npx tsx bench/prover-main.ts [--quick] [--big] [--parts ${PROVER_PARTS.join(",")}] [--out FILE]`);
    return;
  }
  const parts = parseProverParts(values.parts);
  await initCrypto();
  const r = await benchProver({ quick: Boolean(values.quick), big: Boolean(values.big), parts, log });
  if (values.out) writeFileSync(values.out, JSON.stringify(r, null, 2) + "\n");
  printProverSummary(r);
  await releaseSnarkjsCurve();
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
