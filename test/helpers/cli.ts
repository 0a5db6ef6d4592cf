/** Runs the `modex` CLI in-process (cli/main.ts) with captured output, as a user's shell would. */
import { main } from "../../cli/main";
import type { CliContext } from "../../cli/context";

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function modex(...argv: string[]): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const ctx: CliContext = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: {}, nowMs: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };
  const code = await main(argv, ctx);
  return { code, stdout, stderr };
}
