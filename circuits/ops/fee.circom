pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";
include "../lib/account.circom";

// Credits the batch's fee buckets to account 0, bucket by bucket (PROTOCOL.md §4.3).
template FeeCredit(accountLevels, balanceLevels, feeBuckets) {
    signal input rootIn;
    signal output rootOut;
    signal input feeTokens[feeBuckets];
    signal input feeSums[feeBuckets];

    // Account 0 as it is after the last slot.
    signal input ax;
    signal input ay;
    signal input nonce;
    signal input orderRoot;
    signal input balances[feeBuckets];
    signal input balanceSiblings[feeBuckets][balanceLevels][3];
    signal input accountSiblings[accountLevels][7];

    // Each bucket updates one balance leaf; the balance tree roots chain.
    signal balanceRootBefore[feeBuckets];
    signal balanceRootAfter[feeBuckets];
    signal tokenBits[feeBuckets][2 * balanceLevels];
    signal newBalance[feeBuckets];
    signal newBalanceBits[feeBuckets][128];
    for (var f = 0; f < feeBuckets; f++) {
        tokenBits[f] <== Num2Bits(2 * balanceLevels)(feeTokens[f]);
        newBalance[f] <== balances[f] + feeSums[f];
        newBalanceBits[f] <== Num2Bits(128)(newBalance[f]);
        (balanceRootBefore[f], balanceRootAfter[f]) <== MerkleUpdate(2, balanceLevels)(
            tokenBits[f], balances[f], newBalance[f], balanceSiblings[f]);
        if (f > 0) balanceRootBefore[f] === balanceRootAfter[f - 1];
    }

    signal oldLeaf <== AccountLeaf()(ax, ay, nonce, balanceRootBefore[0], orderRoot);
    signal newLeaf <== AccountLeaf()(ax, ay, nonce, balanceRootAfter[feeBuckets - 1], orderRoot);
    var zeroIndex[3 * accountLevels];
    for (var i = 0; i < 3 * accountLevels; i++) zeroIndex[i] = 0;
    signal oldRoot;
    (oldRoot, rootOut) <== MerkleUpdate(3, accountLevels)(zeroIndex, oldLeaf, newLeaf, accountSiblings);
    oldRoot === rootIn;
}
