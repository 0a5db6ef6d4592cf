/**
 * The verdict on one mutant: what the circuit would publish (the pubdata model), whether the
 * contract would take that public data (Rollup.sol's checks, restated here as the contract applies
 * them: header fields, the queue range, the withdraw bitmap), and if it would, whether core's replay
 * of the same public data gives byte-identical pubdata, the same new root and the same L1 credits.
 * A mutant that passes circuit and contract but not that comparison is accepted-divergent: a
 * transition the proof allows and core does not, the kind of hole this fuzzer hunts.
 */
import {
  FEE_TOKENS_AT, FLOAT40, OP_WITHDRAW, pubdataFieldAt, QUEUE_FORCED_EXIT, ReplayError, ProtocolError, decodeFloat, decodePubdata, fromBytesBE, replayBatch,
  type CircuitInput, type State, type Withdrawal,
} from "../../core";
import type { PubdataModel } from "./witness-model";
import { FUZZ_CHAIN_ID, FUZZ_ROLLUP, type BaseBatch } from "./scenario";

export type Verdict =
  | { readonly kind: "rejected-circuit"; readonly template: string }
  | { readonly kind: "rejected-contract"; readonly reason: string }
  | { readonly kind: "accepted-equivalent" }
  | { readonly kind: "accepted-divergent"; readonly reason: string };

export async function judge(model: PubdataModel, shadow: State, base: BaseBatch, input: CircuitInput): Promise<Verdict> {
  const out = await model.publish(input);
  if (!out.ok) return { kind: "rejected-circuit", template: out.template };
  const p = model.params;
  const pd = decodePubdata(p, out.pubdata);

  // Rollup.sol _checkBatch: the header's fields come from the contract's own storage.
  const reject = (reason: string): Verdict => ({ kind: "rejected-contract", reason });
  if (pd.oldRoot !== base.batch.oldRoot) return reject("oldRoot is not the last finalized root");
  if (pd.queueHashBefore !== base.queueHashes[base.consumed]) return reject("queueHashBefore is not the queue hash at `consumed`");
  if (pd.chainId !== FUZZ_CHAIN_ID) return reject("chain id");
  if (BigInt(pd.rollup) !== BigInt(FUZZ_ROLLUP)) return reject("rollup is not the contract's address");
  if (pd.timestamp < base.lastTimestamp) return reject("timestamp before the previous batch");
  // The chain's clock: an hour after the base batch was dated.
  if (pd.timestamp > base.batch.timestamp + 3600) return reject("timestamp in the future");
  // depositCount: the contract hashes queueHash[consumed + depositCount]; any count the queue holds may be sent.
  let depositCount = -1;
  for (let k = 0; k <= p.depositSlots && base.consumed + k < base.queueHashes.length; k++) {
    if (base.queueHashes[base.consumed + k] === pd.queueHashAfter) depositCount = k;
  }
  if (depositCount < 0) return reject("queueHashAfter is no queue position within D records");
  // _creditWithdrawals: every flagged slot must hold a withdraw chunk of a known account.
  const credits: Withdrawal[] = [];
  for (let slot = 0; slot < 8 * Math.ceil(p.l2Slots / 8); slot++) {
    const bitmapAt = FEE_TOKENS_AT + p.feeBuckets;
    if ((out.pubdata[bitmapAt + (slot >> 3)] & (0x80 >> (slot & 7))) === 0) continue;
    if (slot >= p.l2Slots) return reject("bitmap bit out of range");
    const c = pd.chunks[slot];
    if (c[0] !== OP_WITHDRAW) return reject("bitmap flags a chunk that is not a withdraw");
    const accountId = Number(fromBytesBE(c.subarray(1, 4)));
    if (accountId >= base.nextAccountId) return reject("withdraw from an unknown account");
    credits.push({ accountId, token: c[4], amount: decodeFloat(FLOAT40, fromBytesBE(c.subarray(5, 10))) });
  }
  // _processForced: the k-th record consumed is credited forcedExits[16·k].
  const records = base.queue.slice(base.consumed, base.consumed + depositCount);
  records.forEach((r, k) => {
    if (r.kind === QUEUE_FORCED_EXIT) credits.push({ accountId: r.accountId, token: r.token, amount: pd.forcedExits[k] });
  });

  // Core's replay of the same public data, on the pre-state (left unchanged).
  const diverge = (reason: string): Verdict => ({ kind: "accepted-divergent", reason });
  let replay;
  try {
    replay = replayBatch(shadow, { pubdata: pd, records }, { dryRun: true });
  } catch (e) {
    if (e instanceof ReplayError || e instanceof ProtocolError) return diverge(`core's replay refuses it: ${e.message}`);
    throw e;
  }
  if (replay.newRoot !== pd.newRoot) return diverge(`new root ${pd.newRoot} but core's replay gives ${replay.newRoot}`);
  if (Buffer.compare(Buffer.from(replay.pubdata), Buffer.from(out.pubdata)) !== 0) {
    const at = replay.pubdata.findIndex((b, i) => b !== out.pubdata[i]);
    return diverge(`pubdata differs from core's replay at byte ${at} (${pubdataFieldAt(p, at)})`);
  }
  const same = replay.withdrawals.length === credits.length && replay.withdrawals.every((w, i) => {
    const c = credits[i];
    return w.accountId === c.accountId && w.token === c.token && w.amount === c.amount;
  });
  if (!same) return diverge(`L1 credits ${fmt(credits)} but core's replay credits ${fmt(replay.withdrawals)}`);
  return { kind: "accepted-equivalent" };
}

const fmt = (ws: readonly Withdrawal[]): string => `[${ws.map((w) => `${w.accountId}/${w.token}:${w.amount}`).join(", ")}]`;
