/** The batch circuit's main component for a parameter set, and its pubdata model for the fuzzer. */
import type { Params } from "../core/params";
import { paramsKey, validateParams } from "../core/params";

export function batchCircuitName(p: Params): string {
  return `batch-${paramsKey(p)}`;
}

function batchSource(p: Params, withDigest: 0 | 1): string {
  validateParams(p);
  // The order of the public inputs is their declaration order in Batch, not this list's.
  const publicList = withDigest ? " {public [publicInput, oldRoot, newRoot, queueHashBefore, queueHashAfter]}" : "";
  return [
    "pragma circom 2.1.0;",
    'include "batch.circom";',
    `component main${publicList} = Batch(${p.accountLevels}, ${p.balanceLevels}, ${p.orderLevels}, ${p.depositSlots}, ${p.l2Slots}, ${p.fillSlots}, ${p.feeBuckets}, ${withDigest});`,
    "",
  ].join("\n");
}

export function batchCircuitSource(p: Params): string {
  return batchSource(p, 1);
}

/**
 * The batch circuit's constraints up to its public data, which it outputs (witness signals 1..8·bytes,
 * MSB first) instead of hashing it; publicInput is unbound. Only the mutation fuzzer uses it: it shows
 * what a witness would publish, so a mutant can be judged against core's replay of that data.
 */
export function batchModelName(p: Params): string {
  return `batchmodel-${paramsKey(p)}`;
}

export function batchModelSource(p: Params): string {
  return batchSource(p, 0);
}
