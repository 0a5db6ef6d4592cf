/** Shared by the escape-hatch tests: reverts, receipts, mining blocks, exit() arguments from a core State. */
import { BaseError, ContractFunctionRevertedError, type Hex, type TransactionReceipt } from "viem";
import type { L1Clients } from "../../contracts/clients";
import type { State } from "../../core";
import { exitCallArgs } from "../../cli/exit";

/** Awaits `p` and expects a revert with the Rollup's custom error `errorName`; returns its arguments. */
export async function expectRevert(p: Promise<unknown>, errorName: string): Promise<readonly unknown[]> {
  try {
    await p;
  } catch (e) {
    if (e instanceof BaseError) {
      const r = e.walk((x) => x instanceof ContractFunctionRevertedError);
      if (r instanceof ContractFunctionRevertedError) {
        expect(r.data?.errorName).toBe(errorName);
        return r.data?.args ?? [];
      }
    }
    throw e;
  }
  throw new Error(`expected revert ${errorName}, but the call succeeded`);
}

export async function mined(c: L1Clients, hash: Hex): Promise<TransactionReceipt> {
  const receipt = await c.publicClient.waitForTransactionReceipt({ hash });
  expect(receipt.status).toBe("success");
  return receipt;
}

/** Mines `n` empty blocks on anvil (anvil_mine). */
export { mineBlocks } from "../../chain/anvil";

/** exit()'s arguments for `token` of account `id` (the CLI's own builder). */
export const exitArgs = (state: State, id: number, token: number) => exitCallArgs(state, id, token);
