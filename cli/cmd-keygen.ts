/** `modex keygen`: a new EdDSA (Baby Jubjub) key for L2 accounts. */
import * as path from "node:path";
import type { ParsedArgs } from "./args";
import { lazy, report, type CliContext, type Command } from "./context";

export const keygen: Command = {
  spec: {
    name: "keygen",
    summary: "Create a new EdDSA (Baby Jubjub) key for an L2 account: JSON {privateKey, ax, ay}.",
    options: {
      out: { type: "string", value: "FILE", description: "write the key to FILE (mode 0600) instead of printing it" },
      force: { type: "boolean", description: "overwrite FILE if it exists" },
    },
    notes: "The private key signs your L2 transactions; anyone holding it can spend your L2 balance.\nRegister its public key on L1 with: modex register --key FILE ...",
  },
  async run(args: ParsedArgs, ctx: CliContext): Promise<void> {
    const { newKey, writeKeyFile } = lazy<typeof import("./keyfile")>(() => require("./keyfile"));
    const key = await newKey();
    const out = args.values.out as string | undefined;
    if (out === undefined) {
      // The key itself is the output; nothing else goes to stdout.
      ctx.stdout(JSON.stringify(key, null, 2) + "\n");
      if (!args.values.json) ctx.stderr("keep the private key secret; use --out FILE to store it in a 0600 file\n");
      return;
    }
    const file = path.resolve(out);
    await writeKeyFile(file, key, { overwrite: args.values.force === true });
    report(ctx, args, { file, ax: key.ax, ay: key.ay }, [`wrote ${file} (mode 0600)`, `ax ${key.ax}`, `ay ${key.ay}`]);
  },
};
