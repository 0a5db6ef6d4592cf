pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/sha256/sha256.circom";
include "ops/deposit.circom";
include "ops/l2slot.circom";
include "ops/fill.circom";
include "ops/fee.circom";
include "lib/prefix.circom";

// Big-endian bits (MSB first) of a field element as a 32-byte word.
template FieldWordBits() {
    signal input in;
    signal output out[256];
    signal lsb[254] <== Num2Bits_strict()(in);
    out[0] <== 0;
    out[1] <== 0;
    for (var i = 0; i < 254; i++) out[2 + i] <== lsb[253 - i];
}

// Big-endian bits of an n-bit unsigned integer (range-checks it).
template UintBits(n) {
    signal input in;
    signal output out[n];
    signal lsb[n] <== Num2Bits(n)(in);
    for (var i = 0; i < n; i++) out[i] <== lsb[n - 1 - i];
}

// A batch (PROTOCOL.md §5): D L1 queue slots, N L2 slots, M fill slots, F fee credits, and five
// public inputs that bind the transition to its public data (§5.2), in this order (circom numbers
// public inputs in declaration order):
//   publicInput      253 bits  sha256(pubdata[128:]) mod 2^253, every pubdata byte after the 4 words
//   oldRoot          field     the words themselves: a field element needs no hashing, and leaving
//   newRoot          field     their 128 bytes out of the SHA-256 saves two blocks (~58k constraints)
//   queueHashBefore  field     for four more verifier inputs (~25k gas); the verifier refuses an input
//   queueHashAfter   field     >= r, so each is the word the contract stored or checked
//
// withDigest = 1 is the batch circuit. withDigest = 0 is its pubdata model for the mutation
// fuzzer (test/fuzz): the same constraints up to the public data, which it outputs as bits (the
// whole §5.2 pubdata, header words included) instead of hashing it, and publicInput is left unbound.
// Nothing proves with the model.
template Batch(accountLevels, balanceLevels, orderLevels, depositSlots, l2Slots, fillSlots, feeBuckets, withDigest) {
    var bitmapBytes = (l2Slots + 7) \ 8;
    var bodyBits = 8 * (4 + 4 + 20 + feeBuckets + bitmapBytes + 15 * l2Slots + 51 * fillSlots + 16 * depositSlots);
    var wordBitsCount = (1 - withDigest) * 32 * 4 * 8;
    var nBits = wordBitsCount + bodyBits;
    signal output pubdataModel[(1 - withDigest) * nBits];
    signal input publicInput;
    signal input oldRoot;
    signal input newRoot;
    signal input queueHashBefore;
    signal input queueHashAfter;

    signal input chainId;
    signal input timestamp;
    signal input rollup;             // the Rollup contract's address: signatures are bound to it
    signal input feeTokens[feeBuckets];

    signal input dep_enabled[depositSlots];
    signal input dep_isNew[depositSlots];
    signal input dep_isExit[depositSlots];
    signal input dep_accountId[depositSlots];
    signal input dep_token[depositSlots];
    signal input dep_amount[depositSlots];
    signal input dep_keyAx[depositSlots];
    signal input dep_keyAy[depositSlots];
    signal input dep_ax[depositSlots];
    signal input dep_ay[depositSlots];
    signal input dep_nonce[depositSlots];
    signal input dep_orderRoot[depositSlots];
    signal input dep_balance[depositSlots];
    signal input dep_balanceSiblings[depositSlots][balanceLevels][3];
    signal input dep_accountSiblings[depositSlots][accountLevels][7];

    signal input l2_opType[l2Slots];
    signal input l2_from[l2Slots];
    signal input l2_to[l2Slots];
    signal input l2_token[l2Slots];
    signal input l2_amountF[l2Slots];
    signal input l2_feeF[l2Slots];
    signal input l2_validUntil[l2Slots];
    signal input l2_sigR8x[l2Slots];
    signal input l2_sigR8y[l2Slots];
    signal input l2_sigS[l2Slots];
    signal input l2_feeSel[l2Slots][feeBuckets];
    signal input l2_a_ax[l2Slots];
    signal input l2_a_ay[l2Slots];
    signal input l2_a_nonce[l2Slots];
    signal input l2_a_orderRoot[l2Slots];
    signal input l2_a_balance[l2Slots];
    signal input l2_a_balanceSiblings[l2Slots][balanceLevels][3];
    signal input l2_a_accountSiblings[l2Slots][accountLevels][7];
    signal input l2_b_ax[l2Slots];
    signal input l2_b_ay[l2Slots];
    signal input l2_b_nonce[l2Slots];
    signal input l2_b_orderRoot[l2Slots];
    signal input l2_b_balance[l2Slots];
    signal input l2_b_balanceSiblings[l2Slots][balanceLevels][3];
    signal input l2_b_accountSiblings[l2Slots][accountLevels][7];

    signal input fill_isFill[fillSlots];
    signal input fill_seller[fillSlots];
    signal input fill_buyer[fillSlots];
    signal input fill_base[fillSlots];
    signal input fill_quote[fillSlots];
    signal input fill_baseAmount[fillSlots];
    signal input fill_quoteAmount[fillSlots];
    signal input fill_sellFeeF[fillSlots];
    signal input fill_buyFeeF[fillSlots];
    signal input fill_sellFeeSel[fillSlots][feeBuckets];
    signal input fill_buyFeeSel[fillSlots][feeBuckets];
    signal input fill_so_orderId[fillSlots];
    signal input fill_so_amountF[fillSlots];
    signal input fill_so_quoteAmountF[fillSlots];
    signal input fill_so_maxFeeBips[fillSlots];
    signal input fill_so_validUntil[fillSlots];
    signal input fill_so_sigR8x[fillSlots];
    signal input fill_so_sigR8y[fillSlots];
    signal input fill_so_sigS[fillSlots];
    signal input fill_bo_orderId[fillSlots];
    signal input fill_bo_amountF[fillSlots];
    signal input fill_bo_quoteAmountF[fillSlots];
    signal input fill_bo_maxFeeBips[fillSlots];
    signal input fill_bo_validUntil[fillSlots];
    signal input fill_bo_sigR8x[fillSlots];
    signal input fill_bo_sigR8y[fillSlots];
    signal input fill_bo_sigS[fillSlots];
    signal input fill_sa_ax[fillSlots];
    signal input fill_sa_ay[fillSlots];
    signal input fill_sa_nonce[fillSlots];
    signal input fill_sa_giveBalance[fillSlots];
    signal input fill_sa_giveSiblings[fillSlots][balanceLevels][3];
    signal input fill_sa_getBalance[fillSlots];
    signal input fill_sa_getSiblings[fillSlots][balanceLevels][3];
    signal input fill_sa_slotOrderId[fillSlots];
    signal input fill_sa_slotFilled[fillSlots];
    signal input fill_sa_slotSiblings[fillSlots][orderLevels][3];
    signal input fill_sa_accountSiblings[fillSlots][accountLevels][7];
    signal input fill_ba_ax[fillSlots];
    signal input fill_ba_ay[fillSlots];
    signal input fill_ba_nonce[fillSlots];
    signal input fill_ba_giveBalance[fillSlots];
    signal input fill_ba_giveSiblings[fillSlots][balanceLevels][3];
    signal input fill_ba_getBalance[fillSlots];
    signal input fill_ba_getSiblings[fillSlots][balanceLevels][3];
    signal input fill_ba_slotOrderId[fillSlots];
    signal input fill_ba_slotFilled[fillSlots];
    signal input fill_ba_slotSiblings[fillSlots][orderLevels][3];
    signal input fill_ba_accountSiblings[fillSlots][accountLevels][7];

    signal input fee_ax;
    signal input fee_ay;
    signal input fee_nonce;
    signal input fee_orderRoot;
    signal input fee_balances[feeBuckets];
    signal input fee_balanceSiblings[feeBuckets][balanceLevels][3];
    signal input fee_accountSiblings[accountLevels][7];

    // Header fields as big-endian bits (this also range-checks them).
    signal chainIdBits[32] <== UintBits(32)(chainId);
    signal timestampBits[32] <== UintBits(32)(timestamp);
    signal rollupBits[160] <== UintBits(160)(rollup);
    signal feeTokenBits[feeBuckets][8];
    for (var f = 0; f < feeBuckets; f++) feeTokenBits[f] <== UintBits(8)(feeTokens[f]);

    // 1. L1 queue slots. The records consumed fill the first slots (the contract credits forced
    //    exits by that position).
    PrefixFlags(depositSlots)(dep_enabled);
    signal root[depositSlots + l2Slots + fillSlots + 1];
    signal queue[depositSlots + 1];
    signal exitAmount[depositSlots];
    root[0] <== oldRoot;
    queue[0] <== queueHashBefore;
    for (var i = 0; i < depositSlots; i++) {
        (root[i + 1], queue[i + 1], exitAmount[i]) <== DepositSlot(accountLevels, balanceLevels)(
            root[i], queue[i],
            dep_enabled[i], dep_isNew[i], dep_isExit[i], dep_accountId[i], dep_token[i], dep_amount[i], dep_keyAx[i], dep_keyAy[i],
            dep_ax[i], dep_ay[i], dep_nonce[i], dep_orderRoot[i], dep_balance[i],
            dep_balanceSiblings[i], dep_accountSiblings[i]);
    }

    // 2. L2 slots; fees accumulate in buckets.
    signal fees[l2Slots + 1][feeBuckets];
    for (var f = 0; f < feeBuckets; f++) fees[0][f] <== 0;
    signal chunkBits[l2Slots][120];
    signal isWithdraw[l2Slots];
    for (var i = 0; i < l2Slots; i++) {
        var r = depositSlots + i;
        (root[r + 1], fees[i + 1], chunkBits[i], isWithdraw[i]) <== L2Slot(accountLevels, balanceLevels, feeBuckets)(
            root[r], timestamp, chainId, rollup, feeTokens, fees[i],
            l2_opType[i], l2_from[i], l2_to[i], l2_token[i], l2_amountF[i], l2_feeF[i], l2_validUntil[i],
            l2_sigR8x[i], l2_sigR8y[i], l2_sigS[i], l2_feeSel[i],
            l2_a_ax[i], l2_a_ay[i], l2_a_nonce[i], l2_a_orderRoot[i], l2_a_balance[i], l2_a_balanceSiblings[i], l2_a_accountSiblings[i],
            l2_b_ax[i], l2_b_ay[i], l2_b_nonce[i], l2_b_orderRoot[i], l2_b_balance[i], l2_b_balanceSiblings[i], l2_b_accountSiblings[i]);
    }

    // 3. Fill slots; their fees go to the same buckets.
    signal fillFees[fillSlots + 1][feeBuckets];
    fillFees[0] <== fees[l2Slots];
    signal fillChunkBits[fillSlots][408];
    for (var i = 0; i < fillSlots; i++) {
        var r = depositSlots + l2Slots + i;
        (root[r + 1], fillFees[i + 1], fillChunkBits[i]) <== FillSlot(accountLevels, balanceLevels, orderLevels, feeBuckets)(
            root[r], timestamp, chainId, rollup, feeTokens, fillFees[i],
            fill_isFill[i], fill_seller[i], fill_buyer[i], fill_base[i], fill_quote[i], fill_baseAmount[i], fill_quoteAmount[i],
            fill_sellFeeF[i], fill_buyFeeF[i], fill_sellFeeSel[i], fill_buyFeeSel[i],
            fill_so_orderId[i], fill_so_amountF[i], fill_so_quoteAmountF[i], fill_so_maxFeeBips[i], fill_so_validUntil[i],
            fill_so_sigR8x[i], fill_so_sigR8y[i], fill_so_sigS[i],
            fill_bo_orderId[i], fill_bo_amountF[i], fill_bo_quoteAmountF[i], fill_bo_maxFeeBips[i], fill_bo_validUntil[i],
            fill_bo_sigR8x[i], fill_bo_sigR8y[i], fill_bo_sigS[i],
            fill_sa_ax[i], fill_sa_ay[i], fill_sa_nonce[i], fill_sa_giveBalance[i], fill_sa_giveSiblings[i],
            fill_sa_getBalance[i], fill_sa_getSiblings[i], fill_sa_slotOrderId[i], fill_sa_slotFilled[i],
            fill_sa_slotSiblings[i], fill_sa_accountSiblings[i],
            fill_ba_ax[i], fill_ba_ay[i], fill_ba_nonce[i], fill_ba_giveBalance[i], fill_ba_giveSiblings[i],
            fill_ba_getBalance[i], fill_ba_getSiblings[i], fill_ba_slotOrderId[i], fill_ba_slotFilled[i],
            fill_ba_slotSiblings[i], fill_ba_accountSiblings[i]);
    }

    // 4. Fee credits to account 0.
    signal finalRoot <== FeeCredit(accountLevels, balanceLevels, feeBuckets)(
        root[depositSlots + l2Slots + fillSlots], feeTokens, fillFees[fillSlots],
        fee_ax, fee_ay, fee_nonce, fee_orderRoot, fee_balances, fee_balanceSiblings, fee_accountSiblings);
    newRoot === finalRoot;
    queueHashAfter === queue[depositSlots];

    // 5. pubdata = [oldRoot ‖ newRoot ‖ queueHashBefore ‖ queueHashAfter, the model only]
    //              ‖ chainId ‖ timestamp ‖ rollup ‖ feeTokens ‖ withdrawBitmap ‖ chunks ‖ fill chunks
    //              ‖ forced exits (u128 per L1 slot)
    signal pubdata[nBits];
    var o = 0;
    if (withDigest == 0) {
        signal wordBits[4][256];
        wordBits[0] <== FieldWordBits()(oldRoot);
        wordBits[1] <== FieldWordBits()(newRoot);
        wordBits[2] <== FieldWordBits()(queueHashBefore);
        wordBits[3] <== FieldWordBits()(queueHashAfter);
        for (var w = 0; w < 4; w++) for (var i = 0; i < 256; i++) { pubdata[o] <== wordBits[w][i]; o++; }
    }
    for (var i = 0; i < 32; i++) { pubdata[o] <== chainIdBits[i]; o++; }
    for (var i = 0; i < 32; i++) { pubdata[o] <== timestampBits[i]; o++; }
    for (var i = 0; i < 160; i++) { pubdata[o] <== rollupBits[i]; o++; }
    for (var f = 0; f < feeBuckets; f++) for (var i = 0; i < 8; i++) { pubdata[o] <== feeTokenBits[f][i]; o++; }
    for (var i = 0; i < 8 * bitmapBytes; i++) {
        if (i < l2Slots) { pubdata[o] <== isWithdraw[i]; } else { pubdata[o] <== 0; }
        o++;
    }
    for (var s = 0; s < l2Slots; s++) for (var i = 0; i < 120; i++) { pubdata[o] <== chunkBits[s][i]; o++; }
    for (var s = 0; s < fillSlots; s++) for (var i = 0; i < 408; i++) { pubdata[o] <== fillChunkBits[s][i]; o++; }
    signal exitBits[depositSlots][128];
    for (var s = 0; s < depositSlots; s++) {
        exitBits[s] <== UintBits(128)(exitAmount[s]);
        for (var i = 0; i < 128; i++) { pubdata[o] <== exitBits[s][i]; o++; }
    }

    // 6. publicInput = sha256(pubdata[128:]) mod 2^253 (drop the 3 most significant bits).
    if (withDigest == 1) {
        signal digest[256] <== Sha256(nBits)(pubdata);
        var acc = 0;
        for (var i = 3; i < 256; i++) acc += digest[i] * (1 << (255 - i));
        publicInput === acc;
    } else {
        pubdataModel <== pubdata;
    }
}
