pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/comparators.circom";

// Decimal float m · 10^e packed as (e << mBits) | m, with a 5-bit exponent (PROTOCOL.md §3).
// Range-checks the packed value and outputs its bits (LSB first) and the decoded value.
//
// Only the canonical encoding is accepted: the smallest exponent, so e = 0 or m · 10 ≥ 2^mBits
// (core's encodeFloat). Fees in fill chunks are not signed: without this a prover could publish
// a value in bytes that core never produces, and a replay that re-encodes would not match.
template DecodeFloat(mBits) {
    signal input packed;
    signal output bits[mBits + 5];
    signal output value;

    bits <== Num2Bits(mBits + 5)(packed);

    var mantissa = 0;
    for (var i = 0; i < mBits; i++) mantissa += bits[i] * (1 << i);
    var exponent = 0;
    for (var i = 0; i < 5; i++) exponent += bits[mBits + i] * (1 << i);

    // Canonical: m · 10 < 2^(mBits + 4), so a (mBits + 4)-bit comparison is exact.
    signal exponentZero <== IsZero()(exponent);
    signal mantissaFull <== GreaterEqThan(mBits + 4)([mantissa * 10, 1 << mBits]);
    (1 - exponentZero) * (1 - mantissaFull) === 0;

    // 10^e = prod over exponent bits of (1 + bit·(10^(2^i) - 1)).
    signal pow[5];
    pow[0] <== 1 + bits[mBits] * 9;
    var tenPow = 10;
    for (var i = 1; i < 5; i++) {
        tenPow = tenPow * tenPow;
        pow[i] <== pow[i - 1] * (1 + bits[mBits + i] * (tenPow - 1));
    }
    value <== mantissa * pow[4];
}
