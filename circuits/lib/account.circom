pragma circom 2.1.0;

include "circomlib/circuits/poseidon.circom";
include "merkle.circom";

// accountLeaf = Poseidon(ax, ay, nonce, balanceRoot, orderRoot)  (PROTOCOL.md §2.2)
template AccountLeaf() {
    signal input ax;
    signal input ay;
    signal input nonce;
    signal input balanceRoot;
    signal input orderRoot;
    signal output out;
    out <== Poseidon(5)([ax, ay, nonce, balanceRoot, orderRoot]);
}

// One account changed in its key, nonce and one balance leaf.
// Proves the old account against oldRoot (output; the caller pins it) and returns newRoot.
template AccountUpdate(accountLevels, balanceLevels) {
    signal input accountIdBits[3 * accountLevels];
    signal input tokenBits[2 * balanceLevels];
    // Old values, read from the state.
    signal input ax;
    signal input ay;
    signal input nonce;
    signal input orderRoot;
    signal input balance;
    signal input balanceSiblings[balanceLevels][3];
    signal input accountSiblings[accountLevels][7];
    // New values, set by the operation's rules.
    signal input newAx;
    signal input newAy;
    signal input newNonce;
    signal input newBalance;

    signal output oldRoot;
    signal output newRoot;

    // Balance leaf (token id) in the account's balance tree.
    signal balanceRoot;
    signal newBalanceRoot;
    (balanceRoot, newBalanceRoot) <== MerkleUpdate(2, balanceLevels)(tokenBits, balance, newBalance, balanceSiblings);

    // Account leaf (account id) in the account tree.
    signal oldLeaf <== AccountLeaf()(ax, ay, nonce, balanceRoot, orderRoot);
    signal newLeaf <== AccountLeaf()(newAx, newAy, newNonce, newBalanceRoot, orderRoot);
    (oldRoot, newRoot) <== MerkleUpdate(3, accountLevels)(accountIdBits, oldLeaf, newLeaf, accountSiblings);
}
