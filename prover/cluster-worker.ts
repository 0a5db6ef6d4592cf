/** Cluster mode: `modex prover worker --redis URL`. Being written. */

/** Runs `modex prover worker ARGS` until SIGTERM/SIGINT; resolves to the exit status. */
export async function runProverWorker(argv: readonly string[]): Promise<number> {
  void argv;
  throw new Error("not yet built");
}
