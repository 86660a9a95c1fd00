// hwcomp: scale one value, y = sat(round(relu(v) * MULT / 2^SHIFT)), by default
// y = sat((relu(v) * MULT + 2^(SHIFT-1)) >>> SHIFT).
//
// The "scale" step of docs/numerics.md shared by hwcomp_pool (average pooling),
// hwcomp_gap (global average pooling) and hwcomp_add (residual add, MULT = 1).
// Purely combinational: the instantiating block registers around it.
//
// Exact until the saturation: the product is held in IN_W + MULT_W bits, the
// rounding sum in one bit more than the product or the shift needs, and the
// bounds are compared in a width holding both the rounded value and the bounds.
// ROUND picks the term added before the arithmetic shift: 0 half up
// (2^(SHIFT-1)), 1 half to even (2^(SHIFT-1) - 1 + the lowest kept bit),
// 2 half down (2^(SHIFT-1) - 1), 3 floor (none), 4 ceil (2^SHIFT - 1); SHIFT = 0
// adds no rounding term. ReLU before the product equals ReLU after it
// (MULT > 0), and commutes with rounding (docs/numerics.md, rule 5).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module hwcomp_scale #(
    parameter integer IN_W = 8,            // width of the input value, two's complement
    parameter integer MULT = 1,            // multiplier, 1 <= MULT < 2^30
    parameter integer SHIFT = 0,           // right shift, rounding as ROUND says; 0: no rounding term
    parameter integer ROUND = 0,           // 0 half up, 1 half even, 2 half down, 3 floor, 4 ceil
    parameter integer RELU = 0,            // 1: negative inputs become zero first
    parameter integer OUT_W = 8,           // output width
    parameter [OUT_W:0] OUT_MIN = 0,       // lower saturation bound, two's complement in OUT_W+1 bits
    parameter [OUT_W:0] OUT_MAX = 0        // upper saturation bound, two's complement in OUT_W+1 bits
) (
    input  wire [IN_W-1:0]  v,             // two's complement
    output wire [OUT_W-1:0] y              // two's complement or unsigned, as the bounds say
);

// MULT as an unsigned constant of MULT_W bits.
localparam integer MULT_W = MULT > 1 ? $clog2(MULT + 1) : 1;
localparam [MULT_W-1:0] MULT_V = MULT[MULT_W-1:0];
// |v * MULT| < 2^(IN_W-1) * 2^MULT_W: the product fits IN_W + MULT_W signed bits.
localparam integer P_W = MULT > 1 ? IN_W + MULT_W : IN_W;
localparam integer ROUND_HALF_EVEN = 1, ROUND_HALF_DOWN = 2, ROUND_FLOOR = 3, ROUND_CEIL = 4;
// The rounding term (below 2^SHIFT) and the product both fit R_W - 1 bits, and
// their sum fits R_W bits (a ceil term up to 2^SHIFT - 1 needs one bit more).
localparam integer R_W = (P_W > SHIFT ? P_W : SHIFT) + (ROUND == ROUND_CEIL ? 2 : 1);
// Saturation compares rounded values and bounds in one width (one spare bit
// keeps every sign extension below non-empty).
localparam integer C_W = (R_W > OUT_W + 1 ? R_W : OUT_W + 1) + 1;

// ---------------------------------------------------------------- parameter checks
// An illegal value instantiates a module that does not exist, named after the
// rule it breaks: Verilator, Icarus and Yosys (hierarchy -check) all stop at
// elaboration and print that name.
generate
    if (IN_W < 1) begin : g_check_in_w
        hwcomp_scale_ILLEGAL_IN_W_below_1 u_illegal ();
    end
    if (MULT < 1 || MULT > 1073741823) begin : g_check_mult
        hwcomp_scale_ILLEGAL_MULT_outside_1_to_2pow30_minus_1 u_illegal ();
    end
    if (SHIFT < 0) begin : g_check_shift
        hwcomp_scale_ILLEGAL_SHIFT_below_0 u_illegal ();
    end
    if (ROUND < 0 || ROUND > 4) begin : g_check_round
        hwcomp_scale_ILLEGAL_ROUND_outside_0_to_4 u_illegal ();
    end
    if (RELU != 0 && RELU != 1) begin : g_check_relu
        hwcomp_scale_ILLEGAL_RELU_not_0_or_1 u_illegal ();
    end
    if (OUT_W < 1) begin : g_check_out_w
        hwcomp_scale_ILLEGAL_OUT_W_below_1 u_illegal ();
    end
    if ($signed(OUT_MIN) > $signed(OUT_MAX)) begin : g_check_bounds
        hwcomp_scale_ILLEGAL_OUT_MIN_above_OUT_MAX u_illegal ();
    end
    // A bound fits OUT_W bits, signed or unsigned: -2^(OUT_W-1) <= bound < 2^OUT_W.
    if (OUT_W >= 1 && ($signed(OUT_MIN) >>> (OUT_W - 1)) != -1
            && (OUT_MIN >> OUT_W) != 0) begin : g_check_out_min_fit
        hwcomp_scale_ILLEGAL_OUT_MIN_does_not_fit_OUT_W u_illegal ();
    end
    if (OUT_W >= 1 && ($signed(OUT_MAX) >>> (OUT_W - 1)) != -1
            && (OUT_MAX >> OUT_W) != 0) begin : g_check_out_max_fit
        hwcomp_scale_ILLEGAL_OUT_MAX_does_not_fit_OUT_W u_illegal ();
    end
endgenerate

// ---------------------------------------------------------------- ReLU
wire [IN_W-1:0] act;

generate
    if (RELU != 0) begin : g_relu
        assign act = v[IN_W-1] ? {IN_W{1'b0}} : v;
    end else begin : g_no_relu
        assign act = v;
    end
endgenerate

// ---------------------------------------------------------------- product
wire signed [P_W-1:0] prod;

generate
    if (MULT > 1) begin : g_mult
        // Both operands at the product's width: the product modulo 2^P_W is exact.
        wire signed [P_W-1:0] a = {{MULT_W{act[IN_W-1]}}, act};
        wire signed [P_W-1:0] m = {{IN_W{1'b0}}, MULT_V};
        assign prod = a * m;
    end else begin : g_unit
        assign prod = act;
    end
endgenerate

// ---------------------------------------------------------------- rounding
wire signed [R_W-1:0] wide = {{(R_W-P_W){prod[P_W-1]}}, prod};
wire signed [R_W-1:0] rounded;

generate
    if (SHIFT > 0) begin : g_shift
        localparam [R_W-1:0] ONE = {{(R_W-1){1'b0}}, 1'b1};
        localparam [R_W-1:0] HALF = ONE << (SHIFT - 1);
        wire [R_W-1:0] term;
        if (ROUND == ROUND_HALF_EVEN) begin : g_half_even
            assign term = HALF - ONE + {{(R_W-1){1'b0}}, wide[SHIFT]};
        end else if (ROUND == ROUND_HALF_DOWN) begin : g_half_down
            assign term = HALF - ONE;
        end else if (ROUND == ROUND_FLOOR) begin : g_floor
            assign term = {R_W{1'b0}};
        end else if (ROUND == ROUND_CEIL) begin : g_ceil
            assign term = (ONE << SHIFT) - ONE;
        end else begin : g_half_up
            assign term = HALF;
        end
        wire signed [R_W-1:0] biased = wide + term;
        assign rounded = biased >>> SHIFT;
    end else begin : g_no_shift
        assign rounded = wide;
    end
endgenerate

// ---------------------------------------------------------------- saturation
wire signed [C_W-1:0] r = {{(C_W-R_W){rounded[R_W-1]}}, rounded};
wire signed [C_W-1:0] lo = {{(C_W-OUT_W-1){OUT_MIN[OUT_W]}}, OUT_MIN};
wire signed [C_W-1:0] hi = {{(C_W-OUT_W-1){OUT_MAX[OUT_W]}}, OUT_MAX};
wire signed [C_W-1:0] sat = r < lo ? lo : (r > hi ? hi : r);

// The bounds fit OUT_W bits (signed or unsigned), so the upper bits are copies.
assign y = sat[OUT_W-1:0];
wire unused_sat_msbs = &{1'b0, sat[C_W-1:OUT_W]};

endmodule

`resetall
