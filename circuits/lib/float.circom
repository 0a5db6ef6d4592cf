pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";

// Decimal float m · 10^e packed as (e << mBits) | m, with a 5-bit exponent (PROTOCOL.md §3).
// Range-checks the packed value and outputs its bits (LSB first) and the decoded value.
template DecodeFloat(mBits) {
    signal input packed;
    signal output bits[mBits + 5];
    signal output value;

    bits <== Num2Bits(mBits + 5)(packed);

    var mantissa = 0;
    for (var i = 0; i < mBits; i++) mantissa += bits[i] * (1 << i);

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
