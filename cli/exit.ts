/**
 * The escape hatch from the user's side (PROTOCOL.md §6): with the rollup frozen, exit every balance
 * of an account at the last finalized root, refund its deposits still queued, and claim what that
 * credits. The state comes from chain data alone (audit/'s rebuild), never from the sequencer.
 */
import { parseEventLogs, type Address, type Hex } from "viem";
import type { RebuiltState } from "../audit/audit";
import { rollupAbi } from "../contracts/abi";
import type { State } from "../core/state";
import type { QueueRecord } from "../core/ops/types";
import { QUEUE_DEPOSIT, QUEUE_REGISTER } from "../core/ops/types";
import { freezeRefusal, freezeRollup, send, type L1Session } from "./l1";

/** exit()'s arguments for one balance, from core's read-only balance proof (siblings flattened, level 0 first). */
export function exitCallArgs(state: State, accountId: number, token: number) {
  const w = state.balanceProof(accountId, token);
  return [accountId, token, w.balance, w.ax, w.ay, w.nonce, w.orderRoot, w.balanceSiblings.flat(), w.accountSiblings.flat()] as const;
}

/** refundDeposit()'s arguments for queue record `index`. */
export function refundCallArgs(index: number, r: QueueRecord) {
  return [BigInt(index), r.kind, r.accountId, r.token, r.amount, r.ax, r.ay] as const;
}

/** What the exit needs of the state rebuilt from the chain (audit/'s rebuildStateFromChain). */
export type RebuiltView = Pick<RebuiltState, "state" | "batchNumber" | "root" | "consumed" | "queue">;

export interface ExitStep {
  readonly action: "exit" | "refund" | "claim";
  readonly token: number;
  readonly amount: bigint;
  /** Queue index (refunds). */
  readonly index?: number;
  readonly l1TxHash: Hex | null;
  readonly gasUsed: bigint | null;
  /** Why nothing was sent (already done, nothing to do). */
  readonly skipped?: string;
}

export interface ExitResult {
  readonly accountId: number;
  readonly owner: Address;
  readonly batchNumber: number;
  readonly root: bigint;
  readonly froze: boolean;
  readonly steps: readonly ExitStep[];
  /** What the owner was paid by the claims, by token. */
  readonly paid: ReadonlyMap<number, bigint>;
}

export interface ExitOptions {
  readonly accountId: number;
  /** Only this token (default: every token the account holds at the last finalized root). */
  readonly token?: number;
  /** Freeze first when the rollup is not frozen and a forced request has expired. */
  readonly freeze?: boolean;
  /** Pull the credited amounts to the owner (default true). */
  readonly claim?: boolean;
  readonly onNote?: (line: string) => void;
}

export class ExitRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ExitRefused";
  }
}

/**
 * Exits `accountId`: one exit() per token with a balance, one refundDeposit() per deposit still
 * queued for it, then claim() per token credited. Anyone may send these; the funds go to the
 * account's L1 owner. Balances already exited and records already refunded are skipped.
 */
export async function exitAccount(l1: L1Session, rebuilt: RebuiltView, o: ExitOptions): Promise<ExitResult> {
  const { publicClient, account } = l1.clients;
  const read = <T>(functionName: string, args: readonly unknown[] = []): Promise<T> =>
    publicClient.readContract({ address: l1.rollup, abi: rollupAbi, functionName: functionName as never, args: args as never }) as Promise<T>;
  const note = o.onNote ?? ((): void => undefined);

  const [chainBatch, chainRoot, nextAccountId] = await Promise.all([read<bigint>("batchNumber"), read<bigint>("stateRoot"), read<number>("nextAccountId")]);
  if (Number(chainBatch) !== rebuilt.batchNumber || chainRoot !== rebuilt.root) {
    throw new ExitRefused(`the rebuilt state is at batch ${rebuilt.batchNumber}, the chain at batch ${chainBatch}: rebuild again`);
  }
  if (o.accountId >= nextAccountId) throw new ExitRefused(`account ${o.accountId} is not registered on this rollup (next id ${nextAccountId})`);
  const owner = await read<Address>("accountOwner", [o.accountId]);

  let froze = false;
  if (!(await read<boolean>("frozen"))) {
    const refusal = await freezeRefusal(l1);
    if (!o.freeze || refusal) {
      throw new ExitRefused(
        `the rollup is not frozen, so exits are closed${refusal ? ` (${refusal})` : ""}. ` +
          (refusal ? "A forced withdrawal the sequencer ignores past its deadline opens them: modex l1 force-withdraw." : "Pass --freeze to freeze it first."),
      );
    }
    note("freezing the rollup: a forced withdrawal passed its deadline unprocessed");
    await freezeRollup(l1);
    froze = true;
  }

  const view = rebuilt.state.account(o.accountId);
  const tokens = o.token !== undefined ? [o.token] : [...view.balances.keys()].sort((a, b) => a - b);
  const steps: ExitStep[] = [];
  const credited = new Set<number>();

  for (const token of tokens) {
    const balance = rebuilt.state.balance(o.accountId, token);
    if (balance === 0n) {
      steps.push({ action: "exit", token, amount: 0n, l1TxHash: null, gasUsed: null, skipped: "no balance at the last finalized root" });
      continue;
    }
    if (await read<boolean>("exited", [o.accountId, token])) {
      steps.push({ action: "exit", token, amount: balance, l1TxHash: null, gasUsed: null, skipped: "already exited" });
      continue;
    }
    note(`exiting ${balance} of token ${token} from account ${o.accountId}`);
    const r = await send(l1, `exit of token ${token}`, () =>
      publicClient.simulateContract({ account, address: l1.rollup, abi: rollupAbi, functionName: "exit", args: exitCallArgs(rebuilt.state, o.accountId, token) }),
    );
    const [ev] = parseEventLogs({ abi: rollupAbi, logs: r.logs, eventName: "Exited" });
    steps.push({ action: "exit", token, amount: ev?.args.amount ?? balance, l1TxHash: r.transactionHash, gasUsed: r.gasUsed });
    credited.add(token);
  }

  const queued = rebuilt.queue.filter(
    (q) => q.index >= rebuilt.consumed && q.record.accountId === o.accountId && (q.record.kind === QUEUE_DEPOSIT || q.record.kind === QUEUE_REGISTER) && q.record.amount > 0n,
  );
  for (const q of queued) {
    if (o.token !== undefined && q.record.token !== o.token) continue;
    if (await read<boolean>("refunded", [BigInt(q.index)])) {
      steps.push({ action: "refund", token: q.record.token, amount: q.record.amount, index: q.index, l1TxHash: null, gasUsed: null, skipped: "already refunded" });
      continue;
    }
    note(`refunding queued deposit ${q.index}: ${q.record.amount} of token ${q.record.token}`);
    const r = await send(l1, `refund of queue record ${q.index}`, () =>
      publicClient.simulateContract({ account, address: l1.rollup, abi: rollupAbi, functionName: "refundDeposit", args: refundCallArgs(q.index, q.record) }),
    );
    steps.push({ action: "refund", token: q.record.token, amount: q.record.amount, index: q.index, l1TxHash: r.transactionHash, gasUsed: r.gasUsed });
    credited.add(q.record.token);
  }

  const paid = new Map<number, bigint>();
  if (o.claim !== false) {
    for (const token of new Set([...credited, ...tokens])) {
      const pending = await read<bigint>("pendingWithdrawal", [owner, token]);
      if (pending === 0n) continue;
      note(`claiming ${pending} of token ${token} for ${owner}`);
      // claim(owner, token) is permissionless and always pays the owner.
      const r = await send(l1, `claim of token ${token}`, () =>
        publicClient.simulateContract({ account, address: l1.rollup, abi: rollupAbi, functionName: "claim", args: [owner, token] }),
      );
      const [ev] = parseEventLogs({ abi: rollupAbi, logs: r.logs, eventName: "Claimed" });
      const amount = ev?.args.amount ?? pending;
      paid.set(token, amount);
      steps.push({ action: "claim", token, amount, l1TxHash: r.transactionHash, gasUsed: r.gasUsed });
    }
  }
  return { accountId: o.accountId, owner, batchNumber: rebuilt.batchNumber, root: rebuilt.root, froze, steps, paid };
}
