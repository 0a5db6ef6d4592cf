/** Funds held back by open orders: account → token → amount. */
export class Reservations {
  private readonly byAccount = new Map<number, Map<number, bigint>>();

  get(account: number, token: number): bigint {
    return this.byAccount.get(account)?.get(token) ?? 0n;
  }

  /** Adds `delta` (negative to release); entries that reach 0 are dropped. */
  add(account: number, token: number, delta: bigint): void {
    if (delta === 0n) return;
    let tokens = this.byAccount.get(account);
    if (!tokens) {
      tokens = new Map();
      this.byAccount.set(account, tokens);
    }
    const v = (tokens.get(token) ?? 0n) + delta;
    if (v < 0n) throw new Error(`reservation of account ${account} token ${token} would go negative`);
    if (v === 0n) {
      tokens.delete(token);
      if (tokens.size === 0) this.byAccount.delete(account);
    } else tokens.set(token, v);
  }
}
