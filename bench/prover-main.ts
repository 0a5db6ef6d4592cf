/**
 * The prover pool benchmark alone (bench/prover.ts), without the rest of `npm run bench`:
 *
 *   npx tsx bench/prover-main.ts [--quick] [--out FILE]
 *
 * Prints the summary tables; with --out, writes the result as JSON. (`npm run bench -- --only prover`
 * does the same and stores it under `prover` in bench/results/latest.json.)
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { initCrypto } from "../core";
import { releaseSnarkjsCurve } from "../prover/keys";
import { benchProver, printProverSummary } from "./prover";

const log = (o: object): void => void process.stderr.write(JSON.stringify({ t: new Date().toISOString(), ...o }) + "\n");

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: "boolean" }, out: { type: "string" }, help: { type: "boolean" } } });
  if (values.help) {
    console.log("usage: npx tsx bench/prover-main.ts [--quick] [--out FILE]");
    return;
  }
  await initCrypto();
  const r = await benchProver({ quick: Boolean(values.quick), log });
  if (values.out) writeFileSync(values.out, JSON.stringify(r, null, 2) + "\n");
  printProverSummary(r);
  await releaseSnarkjsCurve();
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
