pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/comparators.circom";
include "circomlib/circuits/eddsaposeidon.circom";
include "circomlib/circuits/poseidon.circom";
include "../lib/account.circom";
include "../lib/float.circom";

// One L2 slot (PROTOCOL.md §4.2): a transfer (type 2), a withdraw (type 3) or a noop (type 0).
// Account A is the signer, account B the receiver (opened unchanged unless a transfer).
template L2Slot(accountLevels, balanceLevels, feeBuckets) {
    signal input rootIn;
    signal output rootOut;
    signal input timestamp;          // range-checked by the batch
    signal input chainId;            // range-checked by the batch
    signal input rollup;             // range-checked by the batch (160 bits)
    signal input feeTokens[feeBuckets];
    signal input feeIn[feeBuckets];
    signal output feeOut[feeBuckets];
    signal output chunkBits[120];    // the slot's 15 bytes of public data, MSB first
    signal output isWithdraw;

    // The operation.
    signal input opType;
    signal input from;
    signal input to;
    signal input token;
    signal input amountF;
    signal input feeF;
    signal input validUntil;
    signal input sigR8x;
    signal input sigR8y;
    signal input sigS;
    signal input feeSel[feeBuckets];

    // Account A (signer) and B (receiver), as they are before the slot.
    signal input a_ax;
    signal input a_ay;
    signal input a_nonce;
    signal input a_orderRoot;
    signal input a_balance;
    signal input a_balanceSiblings[balanceLevels][3];
    signal input a_accountSiblings[accountLevels][7];
    signal input b_ax;
    signal input b_ay;
    signal input b_nonce;
    signal input b_orderRoot;
    signal input b_balance;
    signal input b_balanceSiblings[balanceLevels][3];
    signal input b_accountSiblings[accountLevels][7];

    // Operation type: exactly one of noop, transfer, withdraw.
    signal isNoop <== IsZero()(opType);
    signal isTransfer <== IsEqual()([opType, 2]);
    isWithdraw <== IsEqual()([opType, 3]);
    isNoop + isTransfer + isWithdraw === 1;
    signal isSigned <== isTransfer + isWithdraw;

    // Ranges. Account ids and the token come from tree paths (at most 24 and 8 bits).
    signal fromBits[3 * accountLevels] <== Num2Bits(3 * accountLevels)(from);
    signal toBits[3 * accountLevels] <== Num2Bits(3 * accountLevels)(to);
    signal tokenBits[2 * balanceLevels] <== Num2Bits(2 * balanceLevels)(token);
    signal validUntilBits[32] <== Num2Bits(32)(validUntil);
    signal amountBits[40];
    signal amount;
    (amountBits, amount) <== DecodeFloat(35)(amountF);
    signal feeBits[16];
    signal fee;
    (feeBits, fee) <== DecodeFloat(11)(feeF);

    // Both parties are registered accounts (key != (0, 0)).
    signal aZeroX <== IsZero()(a_ax);
    signal aZeroY <== IsZero()(a_ay);
    signal aUnregistered <== aZeroX * aZeroY;
    isSigned * aUnregistered === 0;
    signal bZeroX <== IsZero()(b_ax);
    signal bZeroY <== IsZero()(b_ay);
    signal bUnregistered <== bZeroX * bZeroY;
    isTransfer * bUnregistered === 0;

    // Not expired: timestamp <= validUntil.
    signal inTime <== LessEqThan(32)([timestamp, validUntil]);
    isSigned * (1 - inTime) === 0;

    // Signature over the packed message bound to the deployment, Poseidon(packed, rollup)
    // (PROTOCOL.md §4.4). Every field is range-bound, so the message determines the operation;
    // the signed nonce is the account's nonce.
    signal toSigned <== isTransfer * to;
    signal packed <== opType + from * (1 << 8) + toSigned * (1 << 40) + token * (1 << 72)
        + amountF * (1 << 80) + feeF * (1 << 120) + a_nonce * (1 << 136)
        + validUntil * (1 << 168) + chainId * (1 << 200);
    signal message <== Poseidon(2)([packed, rollup]);
    EdDSAPoseidonVerifier()(isSigned, a_ax, a_ay, sigS, sigR8x, sigR8y, message);

    // A pays amount + fee; its balance stays a uint128 (no underflow) and its nonce a uint32.
    signal debit <== isSigned * (amount + fee);
    signal aNewBalance <== a_balance - debit;
    signal aNewBalanceBits[128] <== Num2Bits(128)(aNewBalance);
    signal aNewNonce <== a_nonce + isSigned;
    signal aNewNonceBits[32] <== Num2Bits(32)(aNewNonce);
    signal rootMid;
    signal aOldRoot;
    (aOldRoot, rootMid) <== AccountUpdate(accountLevels, balanceLevels)(
        fromBits, tokenBits, a_ax, a_ay, a_nonce, a_orderRoot, a_balance, a_balanceSiblings, a_accountSiblings,
        a_ax, a_ay, aNewNonce, aNewBalance);
    aOldRoot === rootIn;

    // B receives the amount of a transfer; its balance stays a uint128.
    signal credit <== isTransfer * amount;
    signal bNewBalance <== b_balance + credit;
    signal bNewBalanceBits[128] <== Num2Bits(128)(bNewBalance);
    signal bOldRoot;
    (bOldRoot, rootOut) <== AccountUpdate(accountLevels, balanceLevels)(
        toBits, tokenBits, b_ax, b_ay, b_nonce, b_orderRoot, b_balance, b_balanceSiblings, b_accountSiblings,
        b_ax, b_ay, b_nonce, bNewBalance);
    bOldRoot === rootMid;

    // Fee: goes to the bucket of its token; a non-zero fee needs one.
    signal signedFee <== isSigned * fee;
    var selected = 0;
    for (var f = 0; f < feeBuckets; f++) {
        feeSel[f] * (feeSel[f] - 1) === 0;
        feeSel[f] * (token - feeTokens[f]) === 0;
        selected += feeSel[f];
        feeOut[f] <== feeIn[f] + feeSel[f] * signedFee;
    }
    signal anySelected <== selected;
    anySelected * (anySelected - 1) === 0;
    signedFee * (1 - anySelected) === 0;

    // Public data chunk (PROTOCOL.md §4.2), as one 120-bit number, then bits MSB first.
    var transferChunk = 2 * (1 << 112) + from * (1 << 88) + to * (1 << 64) + token * (1 << 56) + amountF * (1 << 16) + feeF;
    var withdrawChunk = 3 * (1 << 112) + from * (1 << 88) + token * (1 << 80) + amountF * (1 << 40) + feeF * (1 << 24);
    signal chunkT <== isTransfer * transferChunk;
    signal chunk <== chunkT + isWithdraw * withdrawChunk;
    signal chunkLsb[120] <== Num2Bits(120)(chunk);
    for (var i = 0; i < 120; i++) chunkBits[i] <== chunkLsb[119 - i];
}
