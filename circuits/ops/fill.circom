pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/comparators.circom";
include "circomlib/circuits/eddsaposeidon.circom";
include "circomlib/circuits/poseidon.circom";
include "../lib/account.circom";
include "../lib/float.circom";

// A signed limit order (PROTOCOL.md §4.5): range checks, expiry, and the owner's signature over
// the packed message. Outputs the decoded amounts. `side` is a constant of the caller (1 = sell).
template SignedOrder(side) {
    signal input enabled;
    signal input account;            // range-checked by the caller (account path bits)
    signal input base;               // range-checked by the caller
    signal input quote;              // range-checked by the caller
    signal input timestamp;          // range-checked by the batch
    signal input chainId;            // range-checked by the batch
    signal input rollup;             // range-checked by the batch (160 bits)
    signal input ax;
    signal input ay;
    signal input orderId;
    signal input amountF;
    signal input quoteAmountF;
    signal input maxFeeBips;
    signal input validUntil;
    signal input sigR8x;
    signal input sigR8y;
    signal input sigS;
    signal output amount;
    signal output quoteAmount;
    signal output orderIdBits[32];

    orderIdBits <== Num2Bits(32)(orderId);
    signal validUntilBits[32] <== Num2Bits(32)(validUntil);
    signal feeBipsBits[16] <== Num2Bits(16)(maxFeeBips);

    // Amounts: float40, decoded below 2^120 and non-zero.
    signal amountBits[40];
    signal quoteAmountBits[40];
    (amountBits, amount) <== DecodeFloat(35)(amountF);
    (quoteAmountBits, quoteAmount) <== DecodeFloat(35)(quoteAmountF);
    signal amountRange[120] <== Num2Bits(120)(amount);
    signal quoteAmountRange[120] <== Num2Bits(120)(quoteAmount);
    signal amountZero <== IsZero()(amount);
    signal quoteAmountZero <== IsZero()(quoteAmount);
    enabled * amountZero === 0;
    enabled * quoteAmountZero === 0;

    // The fee cap is at most 100%.
    signal feeCapOk <== LessEqThan(16)([maxFeeBips, 10000]);
    enabled * (1 - feeCapOk) === 0;

    // Not expired: timestamp <= validUntil.
    signal inTime <== LessEqThan(32)([timestamp, validUntil]);
    enabled * (1 - inTime) === 0;

    // The owner is registered (key != (0, 0)) and signed every field, bound to the deployment:
    // the signed element is Poseidon(packed, rollup) (PROTOCOL.md §4.5).
    signal zeroX <== IsZero()(ax);
    signal zeroY <== IsZero()(ay);
    signal unregistered <== zeroX * zeroY;
    enabled * unregistered === 0;
    signal packed <== 4 + account * (1 << 8) + orderId * (1 << 40) + base * (1 << 72) + quote * (1 << 80)
        + side * (1 << 88) + amountF * (1 << 89) + quoteAmountF * (1 << 129) + maxFeeBips * (1 << 169)
        + validUntil * (1 << 185) + chainId * (1 << 217);
    signal message <== Poseidon(2)([packed, rollup]);
    EdDSAPoseidonVerifier()(enabled, ax, ay, sigS, sigR8x, sigR8y, message);
}

// An order's fill counter in its slot (leaf = filled + orderId · 2^128). The slot may hold this
// order (the fill continues its counter) or a smaller order id (replaced, counter from 0); a larger
// id makes the order unfillable. The new counter never exceeds the order's amount.
template FillCounter() {
    signal input enabled;
    signal input orderId;            // range-checked (32 bits) by SignedOrder
    signal input amount;             // < 2^120
    signal input fill;               // < 2^120
    signal input storedId;
    signal input storedFilled;
    signal output oldLeaf;
    signal output newLeaf;

    // A canonical leaf decomposition: 32-bit id, 128-bit counter.
    signal storedIdBits[32] <== Num2Bits(32)(storedId);
    signal storedFilledBits[128] <== Num2Bits(128)(storedFilled);
    oldLeaf <== storedFilled + storedId * (1 << 128);

    signal same <== IsEqual()([storedId, orderId]);
    signal older <== LessThan(32)([storedId, orderId]);
    enabled * (1 - same - older) === 0;

    signal filledBefore <== same * storedFilled;
    signal filledAfter <== filledBefore + fill;
    signal remaining <== amount - filledAfter;
    signal remainingBits[120] <== Num2Bits(120)(remaining);
    newLeaf <== filledAfter + orderId * (1 << 128);
}

// One trader's side of a fill: the token it gives, then the token it gets (read after the first
// changed), then its order-fill slot. Proves the account against the output oldRoot.
template TraderUpdate(accountLevels, balanceLevels, orderLevels) {
    signal input accountIdBits[3 * accountLevels];
    signal input giveTokenBits[2 * balanceLevels];
    signal input getTokenBits[2 * balanceLevels];
    signal input slotBits[2 * orderLevels];
    signal input ax;
    signal input ay;
    signal input nonce;
    signal input giveBalance;
    signal input giveSiblings[balanceLevels][3];
    signal input newGiveBalance;
    signal input getBalance;
    signal input getSiblings[balanceLevels][3];
    signal input newGetBalance;
    signal input oldSlotLeaf;
    signal input newSlotLeaf;
    signal input slotSiblings[orderLevels][3];
    signal input accountSiblings[accountLevels][7];
    signal output oldRoot;
    signal output newRoot;

    signal balanceRoot;
    signal midBalanceRoot;
    (balanceRoot, midBalanceRoot) <== MerkleUpdate(2, balanceLevels)(giveTokenBits, giveBalance, newGiveBalance, giveSiblings);
    signal midBalanceRoot2;
    signal newBalanceRoot;
    (midBalanceRoot2, newBalanceRoot) <== MerkleUpdate(2, balanceLevels)(getTokenBits, getBalance, newGetBalance, getSiblings);
    midBalanceRoot2 === midBalanceRoot;

    signal orderRoot;
    signal newOrderRoot;
    (orderRoot, newOrderRoot) <== MerkleUpdate(2, orderLevels)(slotBits, oldSlotLeaf, newSlotLeaf, slotSiblings);

    signal oldLeaf <== AccountLeaf()(ax, ay, nonce, balanceRoot, orderRoot);
    signal newLeaf <== AccountLeaf()(ax, ay, nonce, newBalanceRoot, newOrderRoot);
    (oldRoot, newRoot) <== MerkleUpdate(3, accountLevels)(accountIdBits, oldLeaf, newLeaf, accountSiblings);
}

// Low `n` bits of a bit array (LSB first).
template LowBits(total, n) {
    signal input in[total];
    signal output out[n];
    for (var i = 0; i < n; i++) out[i] <== in[i];
}

// An n-bit value's bits (LSB first) as a width-bit big-endian field, zero-padded (n <= width).
template PadBitsBE(n, width) {
    signal input in[n];
    signal output out[width];
    for (var i = 0; i < width; i++) {
        var k = width - 1 - i;
        if (k < n) { out[i] <== in[k]; } else { out[i] <== 0; }
    }
}

// One fill slot (PROTOCOL.md §4.6): a sell order and a buy order of one market, both signed,
// settled for baseAmount of base against quoteAmount of quote, or a noop (isFill = 0) that changes
// nothing and emits 51 zero bytes.
template FillSlot(accountLevels, balanceLevels, orderLevels, feeBuckets) {
    signal input rootIn;
    signal output rootOut;
    signal input timestamp;
    signal input chainId;
    signal input rollup;
    signal input feeTokens[feeBuckets];
    signal input feeIn[feeBuckets];
    signal output feeOut[feeBuckets];
    signal output chunkBits[408];    // the slot's 51 bytes of public data, MSB first

    signal input isFill;
    signal input seller;
    signal input buyer;
    signal input base;
    signal input quote;
    signal input baseAmount;
    signal input quoteAmount;
    signal input sellFeeF;
    signal input buyFeeF;
    signal input sellFeeSel[feeBuckets];
    signal input buyFeeSel[feeBuckets];

    // The two orders (so_: sell order, bo_: buy order).
    signal input so_orderId;
    signal input so_amountF;
    signal input so_quoteAmountF;
    signal input so_maxFeeBips;
    signal input so_validUntil;
    signal input so_sigR8x;
    signal input so_sigR8y;
    signal input so_sigS;
    signal input bo_orderId;
    signal input bo_amountF;
    signal input bo_quoteAmountF;
    signal input bo_maxFeeBips;
    signal input bo_validUntil;
    signal input bo_sigR8x;
    signal input bo_sigR8y;
    signal input bo_sigS;

    // The two accounts before the slot (sa_: seller, ba_: buyer).
    signal input sa_ax;
    signal input sa_ay;
    signal input sa_nonce;
    signal input sa_giveBalance;
    signal input sa_giveSiblings[balanceLevels][3];
    signal input sa_getBalance;
    signal input sa_getSiblings[balanceLevels][3];
    signal input sa_slotOrderId;
    signal input sa_slotFilled;
    signal input sa_slotSiblings[orderLevels][3];
    signal input sa_accountSiblings[accountLevels][7];
    signal input ba_ax;
    signal input ba_ay;
    signal input ba_nonce;
    signal input ba_giveBalance;
    signal input ba_giveSiblings[balanceLevels][3];
    signal input ba_getBalance;
    signal input ba_getSiblings[balanceLevels][3];
    signal input ba_slotOrderId;
    signal input ba_slotFilled;
    signal input ba_slotSiblings[orderLevels][3];
    signal input ba_accountSiblings[accountLevels][7];

    isFill * (isFill - 1) === 0;

    // A noop slot carries zeros in every field its chunk shows.
    signal notFill <== 1 - isFill;
    notFill * seller === 0;
    notFill * buyer === 0;
    notFill * base === 0;
    notFill * quote === 0;
    notFill * baseAmount === 0;
    notFill * quoteAmount === 0;
    notFill * sellFeeF === 0;
    notFill * buyFeeF === 0;
    notFill * so_orderId === 0;
    notFill * bo_orderId === 0;

    // Ranges: account ids and tokens come from tree paths; amounts are below 2^120.
    signal sellerBits[3 * accountLevels] <== Num2Bits(3 * accountLevels)(seller);
    signal buyerBits[3 * accountLevels] <== Num2Bits(3 * accountLevels)(buyer);
    signal baseBits[2 * balanceLevels] <== Num2Bits(2 * balanceLevels)(base);
    signal quoteBits[2 * balanceLevels] <== Num2Bits(2 * balanceLevels)(quote);
    signal baseAmountBits[120] <== Num2Bits(120)(baseAmount);
    signal quoteAmountBits[120] <== Num2Bits(120)(quoteAmount);
    signal sellFeeBits[16];
    signal sellFee;
    (sellFeeBits, sellFee) <== DecodeFloat(11)(sellFeeF);
    signal buyFeeBits[16];
    signal buyFee;
    (buyFeeBits, buyFee) <== DecodeFloat(11)(buyFeeF);

    // Market rules: two different tokens, two different accounts, a non-zero fill that pays at least
    // one quote unit (the limit checks round by less than one unit; without this a dust fill could
    // pay 0 for base, PROTOCOL.md §4.6).
    signal sameToken <== IsEqual()([base, quote]);
    isFill * sameToken === 0;
    signal sameAccount <== IsEqual()([seller, buyer]);
    isFill * sameAccount === 0;
    signal zeroFill <== IsZero()(baseAmount);
    isFill * zeroFill === 0;
    signal zeroPay <== IsZero()(quoteAmount);
    isFill * zeroPay === 0;

    // Both orders are signed by their owners for this market and side, and not expired.
    signal sellAmount;
    signal sellQuoteAmount;
    signal sellOrderIdBits[32];
    (sellAmount, sellQuoteAmount, sellOrderIdBits) <== SignedOrder(1)(isFill, seller, base, quote, timestamp, chainId, rollup,
        sa_ax, sa_ay, so_orderId, so_amountF, so_quoteAmountF, so_maxFeeBips, so_validUntil, so_sigR8x, so_sigR8y, so_sigS);
    signal buyAmount;
    signal buyQuoteAmount;
    signal buyOrderIdBits[32];
    (buyAmount, buyQuoteAmount, buyOrderIdBits) <== SignedOrder(0)(isFill, buyer, base, quote, timestamp, chainId, rollup,
        ba_ax, ba_ay, bo_orderId, bo_amountF, bo_quoteAmountF, bo_maxFeeBips, bo_validUntil, bo_sigR8x, bo_sigR8y, bo_sigS);

    // Limit prices, exact (products < 2^240): the seller gets at least floor(b·Qs/Bs),
    // the buyer pays at most ceil(b·Qb/Bb).
    signal sellGot <== quoteAmount * sellAmount;
    signal sellAsked <== baseAmount * sellQuoteAmount;
    signal sellLimitOk <== LessEqThan(241)([sellAsked, sellGot + sellAmount - 1]);
    isFill * (1 - sellLimitOk) === 0;
    signal buyPaid <== quoteAmount * buyAmount;
    signal buyOffered <== baseAmount * buyQuoteAmount;
    signal buyLimitOk <== LessEqThan(241)([buyPaid, buyOffered + buyAmount - 1]);
    isFill * (1 - buyLimitOk) === 0;

    // Fees within each order's signed cap: fee · 10000 <= received · maxFeeBips (so fee <= received).
    signal sellFeeCap <== quoteAmount * so_maxFeeBips;
    signal sellFeeOk <== LessEqThan(137)([sellFee * 10000, sellFeeCap]);
    isFill * (1 - sellFeeOk) === 0;
    signal buyFeeCap <== baseAmount * bo_maxFeeBips;
    signal buyFeeOk <== LessEqThan(137)([buyFee * 10000, buyFeeCap]);
    isFill * (1 - buyFeeOk) === 0;

    // Fill counters: never beyond either order's amount.
    signal sellOldSlot;
    signal sellNewSlot;
    (sellOldSlot, sellNewSlot) <== FillCounter()(isFill, so_orderId, sellAmount, baseAmount, sa_slotOrderId, sa_slotFilled);
    signal buyOldSlot;
    signal buyNewSlot;
    (buyOldSlot, buyNewSlot) <== FillCounter()(isFill, bo_orderId, buyAmount, baseAmount, ba_slotOrderId, ba_slotFilled);

    // Seller: gives base, gets quote − fee. Balances stay uint128 (no underflow, no overflow).
    signal saGive <== sa_giveBalance - baseAmount;
    signal saGiveBits[128] <== Num2Bits(128)(saGive);
    signal saGet <== sa_getBalance + quoteAmount - sellFee;
    signal saGetBits[128] <== Num2Bits(128)(saGet);
    signal sellerOldRoot;
    signal midRoot;
    (sellerOldRoot, midRoot) <== TraderUpdate(accountLevels, balanceLevels, orderLevels)(
        sellerBits, baseBits, quoteBits, LowBits(32, 2 * orderLevels)(sellOrderIdBits),
        sa_ax, sa_ay, sa_nonce, sa_giveBalance, sa_giveSiblings, saGive, sa_getBalance, sa_getSiblings, saGet,
        sellOldSlot, sellNewSlot, sa_slotSiblings, sa_accountSiblings);
    isFill * (sellerOldRoot - rootIn) === 0;

    // Buyer: gives quote, gets base − fee.
    signal baGive <== ba_giveBalance - quoteAmount;
    signal baGiveBits[128] <== Num2Bits(128)(baGive);
    signal baGet <== ba_getBalance + baseAmount - buyFee;
    signal baGetBits[128] <== Num2Bits(128)(baGet);
    signal buyerOldRoot;
    signal buyerNewRoot;
    (buyerOldRoot, buyerNewRoot) <== TraderUpdate(accountLevels, balanceLevels, orderLevels)(
        buyerBits, quoteBits, baseBits, LowBits(32, 2 * orderLevels)(buyOrderIdBits),
        ba_ax, ba_ay, ba_nonce, ba_giveBalance, ba_giveSiblings, baGive, ba_getBalance, ba_getSiblings, baGet,
        buyOldSlot, buyNewSlot, ba_slotSiblings, ba_accountSiblings);
    isFill * (buyerOldRoot - midRoot) === 0;

    // A noop passes the root through; a fill ends at the buyer's new root.
    rootOut <== rootIn + isFill * (buyerNewRoot - rootIn);

    // Fees go to the buckets of their tokens (seller's in quote, buyer's in base); a non-zero fee needs one.
    var sellSelected = 0;
    var buySelected = 0;
    signal sellFeeTo[feeBuckets];
    signal buyFeeTo[feeBuckets];
    for (var f = 0; f < feeBuckets; f++) {
        sellFeeSel[f] * (sellFeeSel[f] - 1) === 0;
        buyFeeSel[f] * (buyFeeSel[f] - 1) === 0;
        sellFeeSel[f] * (quote - feeTokens[f]) === 0;
        buyFeeSel[f] * (base - feeTokens[f]) === 0;
        sellSelected += sellFeeSel[f];
        buySelected += buyFeeSel[f];
        sellFeeTo[f] <== sellFeeSel[f] * sellFee;
        buyFeeTo[f] <== buyFeeSel[f] * buyFee;
        feeOut[f] <== feeIn[f] + sellFeeTo[f] + buyFeeTo[f];
    }
    signal anySell <== sellSelected;
    anySell * (anySell - 1) === 0;
    sellFee * (1 - anySell) === 0;
    signal anyBuy <== buySelected;
    anyBuy * (anyBuy - 1) === 0;
    buyFee * (1 - anyBuy) === 0;

    // Public data (PROTOCOL.md §4.6): 04 ‖ seller u24 ‖ sellOrderId u32 ‖ buyer u24 ‖ buyOrderId u32
    // ‖ base u8 ‖ quote u8 ‖ baseAmount u120 ‖ quoteAmount u120 ‖ sellFee f16 ‖ buyFee f16.
    signal sellerBE[24] <== PadBitsBE(3 * accountLevels, 24)(sellerBits);
    signal sellIdBE[32] <== PadBitsBE(32, 32)(sellOrderIdBits);
    signal buyerBE[24] <== PadBitsBE(3 * accountLevels, 24)(buyerBits);
    signal buyIdBE[32] <== PadBitsBE(32, 32)(buyOrderIdBits);
    signal baseBE[8] <== PadBitsBE(2 * balanceLevels, 8)(baseBits);
    signal quoteBE[8] <== PadBitsBE(2 * balanceLevels, 8)(quoteBits);
    signal baseAmountBE[120] <== PadBitsBE(120, 120)(baseAmountBits);
    signal quoteAmountBE[120] <== PadBitsBE(120, 120)(quoteAmountBits);
    signal sellFeeBE[16] <== PadBitsBE(16, 16)(sellFeeBits);
    signal buyFeeBE[16] <== PadBitsBE(16, 16)(buyFeeBits);
    var o = 0;
    for (var i = 0; i < 8; i++) { if (i == 5) { chunkBits[o] <== isFill; } else { chunkBits[o] <== 0; } o++; }
    for (var i = 0; i < 24; i++) { chunkBits[o] <== sellerBE[i]; o++; }
    for (var i = 0; i < 32; i++) { chunkBits[o] <== sellIdBE[i]; o++; }
    for (var i = 0; i < 24; i++) { chunkBits[o] <== buyerBE[i]; o++; }
    for (var i = 0; i < 32; i++) { chunkBits[o] <== buyIdBE[i]; o++; }
    for (var i = 0; i < 8; i++) { chunkBits[o] <== baseBE[i]; o++; }
    for (var i = 0; i < 8; i++) { chunkBits[o] <== quoteBE[i]; o++; }
    for (var i = 0; i < 120; i++) { chunkBits[o] <== baseAmountBE[i]; o++; }
    for (var i = 0; i < 120; i++) { chunkBits[o] <== quoteAmountBE[i]; o++; }
    for (var i = 0; i < 16; i++) { chunkBits[o] <== sellFeeBE[i]; o++; }
    for (var i = 0; i < 16; i++) { chunkBits[o] <== buyFeeBE[i]; o++; }
}
