pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/poseidon.circom";
include "../lib/account.circom";

// One L1 queue slot (PROTOCOL.md §4.1): when enabled, consumes the next queue record
// (register, deposit or forced exit) and applies it; when disabled, changes nothing.
template DepositSlot(accountLevels, balanceLevels) {
    signal input rootIn;
    signal input queueIn;
    signal output rootOut;
    signal output queueOut;
    signal output exitAmount;    // what a forced exit takes out (the old balance); 0 otherwise

    // The queue record.
    signal input enabled;
    signal input isNew;          // kind 2 (register) when 1
    signal input isExit;         // kind 3 (forced exit) when 1; kind 1 (deposit) when both are 0
    signal input accountId;
    signal input token;
    signal input amount;
    signal input keyAx;
    signal input keyAy;

    // The account as it is before the slot.
    signal input ax;
    signal input ay;
    signal input nonce;
    signal input orderRoot;
    signal input balance;
    signal input balanceSiblings[balanceLevels][3];
    signal input accountSiblings[accountLevels][7];

    enabled * (enabled - 1) === 0;
    isNew * (isNew - 1) === 0;
    isExit * (isExit - 1) === 0;
    isNew * isExit === 0;

    // Ranges: ids come from the tree paths; the amount is a uint128, so the packed record decodes uniquely.
    signal idBits[3 * accountLevels] <== Num2Bits(3 * accountLevels)(accountId);
    signal tokenBits[2 * balanceLevels] <== Num2Bits(2 * balanceLevels)(token);
    signal amountBits[128] <== Num2Bits(128)(amount);

    // Registration writes the key into an unregistered account.
    signal registering <== enabled * isNew;
    registering * ax === 0;
    registering * ay === 0;

    // A forced exit carries no amount and takes the whole balance out.
    isExit * amount === 0;
    signal exiting <== enabled * isExit;
    exitAmount <== exiting * balance;

    // Credit the amount, debit the exit; the new balance stays a uint128.
    signal credit <== enabled * amount;
    signal newBalance <== balance + credit - exitAmount;
    signal newBalanceBits[128] <== Num2Bits(128)(newBalance);

    signal oldRoot;
    (oldRoot, rootOut) <== AccountUpdate(accountLevels, balanceLevels)(
        idBits, tokenBits, ax, ay, nonce, orderRoot, balance, balanceSiblings, accountSiblings,
        ax + registering * keyAx, ay + registering * keyAy, nonce, newBalance);
    oldRoot === rootIn;

    // Chain the record into the queue hash: Poseidon(prev, packed, ax, ay).
    signal packed <== accountId + token * (1 << 32) + (1 + isNew + 2 * isExit) * (1 << 40) + amount * (1 << 48);
    signal next <== Poseidon(4)([queueIn, packed, keyAx, keyAy]);
    queueOut <== queueIn + enabled * (next - queueIn);
}
