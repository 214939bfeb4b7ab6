// The numeric contract of requantization (DESIGN.md, "Requantization"), in wide integers.
//
// Written from the formulas, not from the hardware: gemmlowp's SaturatingRoundingDoublingHighMul
// with its nudge and C's truncating division, gemmlowp's RoundingDivideByPOT with its mask and
// threshold, TFLITE_SINGLE_ROUNDING, and the half-up variant. Every intermediate is W bits wide,
// far more than any value can need (|prod| < 2^(ACC_BITS + MULT_BITS), times at most 2^62), so
// each operator below is the exact integer operation: nothing wraps.
//
// The only liberty taken: the formulas multiply (acc * 2^l) by the Q31 multiplier
// m0 = m0_B * 2^(32 - MULT_BITS); here the caller passes prod = acc * m0_B (acc including the bias)
// and the spec forms (acc * 2^l) * m0 as prod * 2^(l + 32 - MULT_BITS), the same integer. This lets
// the proof supply prod from a product it can reason about (see product_chunked in harness.py).
module requant_spec #(
    parameter ACC_BITS = 32,
    parameter MULT_BITS = 32,
    parameter OUT_BITS = 8,
    parameter MODE = "tflite"  // "tflite", "single" or "halfup"
) (
    input  signed [ACC_BITS + MULT_BITS : 0] prod,  // (acc + bias) * m0_B, exact
    input  signed [5:0]                      shift, // -31..30, positive = left
    input  signed [OUT_BITS - 1 : 0]         y_zp,
    input  signed [OUT_BITS - 1 : 0]         act_min,
    input  signed [OUT_BITS - 1 : 0]         act_max,
    output signed [OUT_BITS - 1 : 0]         out
);
    localparam W = ACC_BITS + MULT_BITS + 72;
    wire signed [W - 1 : 0] one = 1;
    wire signed [W - 1 : 0] prod_w = prod;

    wire [5:0] l = shift > 0 ? shift : 0;   // left shift of the accumulator
    wire [5:0] r = shift < 0 ? -shift : 0;  // right shift after the high multiply

    // (acc * 2^l) * m0, the 64-bit product inside SaturatingRoundingDoublingHighMul.
    wire signed [W - 1 : 0] ab = prod_w <<< (l + 32 - MULT_BITS);

    // SaturatingRoundingDoublingHighMul(acc * 2^l, m0) without int32 wrap. Its saturation case,
    // a == b == INT32_MIN, cannot occur: m0 >= 0.
    wire signed [W - 1 : 0] nudge = ab >= 0 ? (one <<< 30) : (one - (one <<< 30));
    wire signed [W - 1 : 0] num = ab + nudge;
    wire signed [W - 1 : 0] high = num >= 0 ? (num >>> 31) : -((-num) >>> 31);  // C's "/ 2^31"

    // RoundingDivideByPOT(high, r): ties away from zero.
    wire signed [W - 1 : 0] mask = (one <<< r) - one;
    wire signed [W - 1 : 0] remainder = high & mask;
    wire signed [W - 1 : 0] threshold = (mask >>> 1) + (high < 0 ? one : 0);
    wire signed [W - 1 : 0] y_tflite = (high >>> r) + (remainder > threshold ? one : 0);

    // TFLITE_SINGLE_ROUNDING: (acc * m0 + 2^(30 - shift)) >> (31 - shift).
    wire [6:0] total = 31 - shift;
    wire signed [W - 1 : 0] y_single =
        ((prod_w <<< (32 - MULT_BITS)) + (one <<< (total - 1))) >>> total;

    // "halfup": ((acc * 2^l) * m0 + 2^30) >> 31, then (y + 2^(r-1)) >> r.
    wire signed [W - 1 : 0] high_up = (ab + (one <<< 30)) >>> 31;
    wire signed [W - 1 : 0] y_halfup = r == 0 ? high_up : (high_up + (one <<< (r - 1))) >>> r;

    wire signed [W - 1 : 0] y =
        MODE == "tflite" ? y_tflite : MODE == "single" ? y_single : y_halfup;

    // + y_zp, clamp to [act_min, act_max].
    wire signed [W - 1 : 0] with_zp = y + y_zp;
    assign out = with_zp < act_min ? act_min : with_zp > act_max ? act_max : with_zp;

endmodule
