// hwcomp: global pooling (GlobalMaxPool, GlobalAveragePool), per channel lane.
//
// Input: whole feature maps, PIXELS pixels of CF beats each (channels last).
// Output: CF beats per image:
//   MODE 0 (max)  y = max over the pixels, IN_W bits unchanged (OUT_W = IN_W)
//   MODE 1 (sum)  y = sat((sum * MULT + 2^(SHIFT-1)) >>> SHIFT) to [OUT_MIN, OUT_MAX]
//                 (rounding half up; ROUND selects another rounding of the shift)
//                 (MULT / 2^SHIFT ~ 1/PIXELS gives the average)
//
// A feature map arrives in exactly the order of one window of hwcomp_pool
// (position outer, channel fold inner), so this is hwcomp_pool with a single
// window covering the image: PIXELS*CF cycles per image, one beat per cycle,
// no bubbles between images; an image's last output beat can be taken 2 cycles
// after its last input beat.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module hwcomp_gap #(
    parameter integer MODE = 0,            // 0: max, 1: sum then scale
    parameter integer PIXELS = 4,          // pixels per image (H*W)
    parameter integer CF = 1,              // channel folds: beats per pixel
    parameter integer LANES = 2,           // channels per beat
    parameter integer IN_W = 8,            // input element width
    parameter integer IN_SIGNED = 1,       // 1: inputs are two's complement, 0: unsigned
    parameter integer MULT = 1,            // sum: scale multiplier, >= 1
    parameter integer SHIFT = 0,           // sum: right shift, round half up; 0: none
    parameter integer ROUND = 0,           // sum: the shift's rounding (hwcomp_scale), 0: half up
    parameter integer OUT_W = 8,           // output element width (max: equals IN_W)
    parameter [OUT_W:0] OUT_MIN = 0,       // sum: lower bound, two's complement in OUT_W+1 bits
    parameter [OUT_W:0] OUT_MAX = 0        // sum: upper bound, two's complement in OUT_W+1 bits
) (
    input  wire                   clk,
    input  wire                   rst,     // synchronous, active high

    input  wire [LANES*IN_W-1:0]  s_axis_tdata,
    input  wire                   s_axis_tvalid,
    output wire                   s_axis_tready,

    output wire [LANES*OUT_W-1:0] m_axis_tdata,
    output wire                   m_axis_tvalid,
    input  wire                   m_axis_tready
);

// ---------------------------------------------------------------- parameter checks
// An illegal value instantiates a module that does not exist, named after the
// rule it breaks: Verilator, Icarus and Yosys (hierarchy -check) all stop at
// elaboration and print that name. The sum's scale parameters (MULT, SHIFT,
// ROUND, the bounds) are checked by hwcomp_scale.
generate
    if (MODE != 0 && MODE != 1) begin : g_check_mode
        hwcomp_gap_ILLEGAL_MODE_not_0_or_1 u_illegal ();
    end
    if (PIXELS < 1) begin : g_check_pixels
        hwcomp_gap_ILLEGAL_PIXELS_below_1 u_illegal ();
    end
    if (CF < 1) begin : g_check_cf
        hwcomp_gap_ILLEGAL_CF_below_1 u_illegal ();
    end
    if (LANES < 1) begin : g_check_lanes
        hwcomp_gap_ILLEGAL_LANES_below_1 u_illegal ();
    end
    if (IN_W < 1) begin : g_check_in_w
        hwcomp_gap_ILLEGAL_IN_W_below_1 u_illegal ();
    end
    if (IN_SIGNED != 0 && IN_SIGNED != 1) begin : g_check_in_signed
        hwcomp_gap_ILLEGAL_IN_SIGNED_not_0_or_1 u_illegal ();
    end
    if (OUT_W < 1) begin : g_check_out_w
        hwcomp_gap_ILLEGAL_OUT_W_below_1 u_illegal ();
    end
    if (MODE == 0 && IN_W >= 1 && OUT_W >= 1 && OUT_W != IN_W) begin : g_check_max_out_w
        hwcomp_gap_ILLEGAL_OUT_W_not_IN_W_for_max u_illegal ();
    end
endgenerate

hwcomp_pool #(
    .MODE(MODE),
    .WINDOW(PIXELS),
    .CF(CF),
    .LANES(LANES),
    .IN_W(IN_W),
    .IN_SIGNED(IN_SIGNED),
    .MULT(MULT),
    .SHIFT(SHIFT),
    .ROUND(ROUND),
    .OUT_W(OUT_W),
    .OUT_MIN(OUT_MIN),
    .OUT_MAX(OUT_MAX)
) u_pool (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata(s_axis_tdata),
    .s_axis_tvalid(s_axis_tvalid),
    .s_axis_tready(s_axis_tready),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready)
);

endmodule

`resetall
