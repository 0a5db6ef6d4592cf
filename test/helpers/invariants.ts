/**
 * Solvency and attribution, checked after every finalized batch of a rollup's history from chain
 * data alone (the e2e tests call it at the end of a run):
 *
 *  - solvency, per token, at the block of each BatchFinalized: what the contract holds (ETH balance or
 *    ERC-20 balanceOf) = its own count (tokenHeld) = Σ L2 balances after the batch (core's replay of the
 *    published data) + Σ withdrawals credited and not yet claimed + Σ deposits queued and not consumed;
 *  - attribution, per batch: the WithdrawalCredited events are exactly the withdrawals core's replay
 *    derives (L2 withdrawals in slot order, then forced exits), each paid to the L1 owner of the
 *    account whose balance it took (the sender of the account's registration).
 *
 * Any violation is returned as a line naming the batch, the token and the amounts.
 */
import { erc20Abi, getAddress, type Address } from "viem";
import { QUEUE_DEPOSIT, QUEUE_REGISTER, State, decodePubdata, replayBatch } from "../../core";
import { runAudit } from "../../audit/audit";
import { rollupAbi } from "../../contracts/abi";

export interface InvariantReport {
  readonly batches: number;
  readonly tokens: number;
  readonly violations: string[];
}

export async function checkInvariants(o: { rpcUrl: string; rollup: Address; config?: string }): Promise<InvariantReport> {
  const run = await runAudit({ rpcUrl: o.rpcUrl, rollup: o.rollup, config: o.config, verifyProofs: false, checkVerifier: false, collect: true });
  const client = run.reader.client;
  const rollup = getAddress(o.rollup);
  const params = run.report.params;
  const queue = run.rebuilt?.queue ?? [];
  const owners = run.rebuilt?.owners ?? new Map<number, Address>();
  const violations: string[] = [];
  if (!run.rebuilt) violations.push(`the history does not replay: ${run.report.mismatches.map((m) => m.reason).join("; ")}`);

  const tokenCount = Number(await client.readContract({ address: rollup, abi: rollupAbi, functionName: "tokenCount" }));
  const tokens = await Promise.all(Array.from({ length: tokenCount }, (_, t) => client.readContract({ address: rollup, abi: rollupAbi, functionName: "tokenAddress", args: [t] }) as Promise<Address>));
  const credited = await client.getContractEvents({ address: rollup, abi: rollupAbi, eventName: "WithdrawalCredited", fromBlock: 0n });
  const claimed = await client.getContractEvents({ address: rollup, abi: rollupAbi, eventName: "Claimed", fromBlock: 0n });
  const upTo = <T extends { blockNumber: bigint | null }>(xs: readonly T[], block: bigint): T[] => xs.filter((x) => (x.blockNumber ?? 0n) <= block);

  const state = new State(params);
  for (const c of run.collected) {
    const records = c.records.map((e) => e.record);
    let replay;
    try {
      replay = replayBatch(state, { pubdata: decodePubdata(params, c.pubdata), records });
    } catch (e) {
      violations.push(`batch ${c.batch}: core's replay refuses it: ${(e as Error).message}`);
      break;
    }
    const block = c.event.blockNumber;

    // Attribution.
    const events = credited.filter((e) => Number(e.args.batchNumber) === c.batch);
    const want = replay.withdrawals.map((w) => `${w.accountId}/${w.token}:${w.amount}→${owners.get(w.accountId)}`);
    const got = events.map((e) => `${e.args.accountId}/${e.args.token}:${e.args.amount}→${e.args.owner}`);
    if (want.join(",") !== got.join(",")) violations.push(`batch ${c.batch}: credits [${got.join(", ")}], core's replay [${want.join(", ")}]`);

    // Solvency.
    const consumedAfter = c.consumedBefore + c.call.depositCount;
    for (let t = 0; t < tokenCount; t++) {
      let l2 = 0n;
      for (const id of state.accountIds()) l2 += state.balance(id, t);
      const pending = upTo(credited, block).filter((e) => Number(e.args.token) === t).reduce((s, e) => s + (e.args.amount as bigint), 0n)
        - upTo(claimed, block).filter((e) => Number(e.args.token) === t).reduce((s, e) => s + (e.args.amount as bigint), 0n);
      const queued = queue
        .filter((q) => q.index >= consumedAfter && q.blockNumber <= block && q.record.token === t && (q.record.kind === QUEUE_DEPOSIT || q.record.kind === QUEUE_REGISTER))
        .reduce((s, q) => s + q.record.amount, 0n);
      const held = (await client.readContract({ address: rollup, abi: rollupAbi, functionName: "tokenHeld", args: [t], blockNumber: block })) as bigint;
      const holdings = t === 0
        ? await client.getBalance({ address: rollup, blockNumber: block })
        : ((await client.readContract({ address: tokens[t], abi: erc20Abi, functionName: "balanceOf", args: [rollup], blockNumber: block })) as bigint);
      const owed = l2 + pending + queued;
      if (held !== owed || holdings !== held) {
        violations.push(`batch ${c.batch} token ${t}: holds ${holdings}, tokenHeld ${held}, owes ${owed} (L2 ${l2} + unclaimed ${pending} + queued ${queued})`);
      }
    }
  }
  return { batches: run.collected.length, tokens: tokenCount, violations };
}
