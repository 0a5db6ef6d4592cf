/** The batch circuit's main component for a parameter set. */
import type { Params } from "../core/params";
import { paramsKey, validateParams } from "../core/params";

export function batchCircuitName(p: Params): string {
  return `batch-${paramsKey(p)}`;
}

export function batchCircuitSource(p: Params): string {
  validateParams(p);
  return [
    "pragma circom 2.1.0;",
    'include "batch.circom";',
    `component main {public [publicInput]} = Batch(${p.accountLevels}, ${p.balanceLevels}, ${p.orderLevels}, ${p.depositSlots}, ${p.l2Slots}, ${p.fillSlots}, ${p.feeBuckets});`,
    "",
  ].join("\n");
}
