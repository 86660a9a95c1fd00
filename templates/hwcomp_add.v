// hwcomp: residual add of two streams of identical shape, lane for lane.
//
//   y = sat(relu((a << SHIFT0) + (b << SHIFT1) + 2^(SHIFT-1)) >>> SHIFT)
//
// to [OUT_MIN, OUT_MAX]: SHIFT0 / SHIFT1 align the two binary points, SHIFT
// drops fraction bits with round half up (no rounding term when 0), RELU is
// optional (it commutes with the rounding). The sum is exact in
// max(X0_W + SHIFT0, X1_W + SHIFT1) + 1 bits; rounding and saturation are
// hwcomp_scale with MULT = 1.
//
// A beat is taken from both inputs in the same cycle: each input's tready
// waits for the other input's tvalid (allowed by AXI4-Stream; no input's
// tvalid may wait for its tready).
//
// Pipeline (every stage advances together on `en`):
//   S0  take a beat from both inputs; aligned sum per lane
//   S1  sums registered
//   S2  ReLU, round, shift, saturate into a 2-word output FIFO driving m_axis
// One beat per cycle; a beat's result can be taken 2 cycles after its inputs.
// `en` is the output FIFO's tready, decoded from its count register, so
// m_axis_tready never reaches either s*_axis_tready combinationally.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module hwcomp_add #(
    parameter integer LANES = 2,           // elements per beat, both inputs and the output
    parameter integer IN0_W = 8,           // element width of input 0
    parameter integer IN0_SIGNED = 1,      // 1: input 0 is two's complement, 0: unsigned
    parameter integer IN1_W = 8,           // element width of input 1
    parameter integer IN1_SIGNED = 1,      // 1: input 1 is two's complement, 0: unsigned
    parameter integer SHIFT0 = 0,          // left shift of input 0, >= 0
    parameter integer SHIFT1 = 0,          // left shift of input 1, >= 0
    parameter integer SHIFT = 0,           // right shift of the sum, round half up; 0: none
    parameter integer RELU = 0,            // 1: clamp the sum at zero
    parameter integer OUT_W = 8,           // output element width
    parameter [OUT_W:0] OUT_MIN = 0,       // lower saturation bound, two's complement in OUT_W+1 bits
    parameter [OUT_W:0] OUT_MAX = 0        // upper saturation bound, two's complement in OUT_W+1 bits
) (
    input  wire                   clk,
    input  wire                   rst,     // synchronous, active high

    input  wire [LANES*IN0_W-1:0] s0_axis_tdata,
    input  wire                   s0_axis_tvalid,
    output wire                   s0_axis_tready,

    input  wire [LANES*IN1_W-1:0] s1_axis_tdata,
    input  wire                   s1_axis_tvalid,
    output wire                   s1_axis_tready,

    output wire [LANES*OUT_W-1:0] m_axis_tdata,
    output wire                   m_axis_tvalid,
    input  wire                   m_axis_tready
);

// Inputs as signed values: unsigned ones gain a zero sign bit.
localparam integer X0_W = IN0_SIGNED != 0 ? IN0_W : IN0_W + 1;
localparam integer X1_W = IN1_SIGNED != 0 ? IN1_W : IN1_W + 1;
localparam integer A0_W = X0_W + SHIFT0;   // aligned input 0
localparam integer A1_W = X1_W + SHIFT1;   // aligned input 1
localparam integer SUM_W = (A0_W > A1_W ? A0_W : A1_W) + 1;

// ---------------------------------------------------------------- parameter checks
// An illegal value instantiates a module that does not exist, named after the
// rule it breaks: Verilator, Icarus and Yosys (hierarchy -check) all stop at
// elaboration and print that name. The scale step's parameters (SHIFT, RELU,
// OUT_W, the bounds) are checked by hwcomp_scale.
generate
    if (LANES < 1) begin : g_check_lanes
        hwcomp_add_ILLEGAL_LANES_below_1 u_illegal ();
    end
    if (IN0_W < 1) begin : g_check_in0_w
        hwcomp_add_ILLEGAL_IN0_W_below_1 u_illegal ();
    end
    if (IN0_SIGNED != 0 && IN0_SIGNED != 1) begin : g_check_in0_signed
        hwcomp_add_ILLEGAL_IN0_SIGNED_not_0_or_1 u_illegal ();
    end
    if (IN1_W < 1) begin : g_check_in1_w
        hwcomp_add_ILLEGAL_IN1_W_below_1 u_illegal ();
    end
    if (IN1_SIGNED != 0 && IN1_SIGNED != 1) begin : g_check_in1_signed
        hwcomp_add_ILLEGAL_IN1_SIGNED_not_0_or_1 u_illegal ();
    end
    if (SHIFT0 < 0) begin : g_check_shift0
        hwcomp_add_ILLEGAL_SHIFT0_below_0 u_illegal ();
    end
    if (SHIFT1 < 0) begin : g_check_shift1
        hwcomp_add_ILLEGAL_SHIFT1_below_0 u_illegal ();
    end
endgenerate

// ---------------------------------------------------------------- S0
wire en;                                   // pipeline advances this cycle
wire fire = en && s0_axis_tvalid && s1_axis_tvalid;

assign s0_axis_tready = en && s1_axis_tvalid;
assign s1_axis_tready = en && s0_axis_tvalid;

wire [LANES*SUM_W-1:0] sum;

genvar l;
generate
    for (l = 0; l < LANES; l = l + 1) begin : g_lane
        wire [IN0_W-1:0] a_raw = s0_axis_tdata[l*IN0_W +: IN0_W];
        wire [IN1_W-1:0] b_raw = s1_axis_tdata[l*IN1_W +: IN1_W];
        wire a_sign = IN0_SIGNED != 0 && a_raw[IN0_W-1];
        wire b_sign = IN1_SIGNED != 0 && b_raw[IN1_W-1];
        // Sign (or zero) extended to SUM_W bits, then shifted left.
        wire [SUM_W-1:0] a = {{(SUM_W-IN0_W){a_sign}}, a_raw};
        wire [SUM_W-1:0] b = {{(SUM_W-IN1_W){b_sign}}, b_raw};

        assign sum[l*SUM_W +: SUM_W] = (a << SHIFT0) + (b << SHIFT1);
    end
endgenerate

// ---------------------------------------------------------------- S1
reg s1_valid;
reg [LANES*SUM_W-1:0] s1_sum;

always @(posedge clk) begin
    if (rst) begin
        s1_valid <= 1'b0;
    end else if (en) begin
        s1_valid <= fire;
    end
end

always @(posedge clk) begin
    if (en) begin
        s1_sum <= sum;
    end
end

// ---------------------------------------------------------------- S2: output
wire [LANES*OUT_W-1:0] y_word;

generate
    for (l = 0; l < LANES; l = l + 1) begin : g_out
        hwcomp_scale #(
            .IN_W(SUM_W),
            .MULT(1),
            .SHIFT(SHIFT),
            .RELU(RELU),
            .OUT_W(OUT_W),
            .OUT_MIN(OUT_MIN),
            .OUT_MAX(OUT_MAX)
        ) u_scale (
            .v(s1_sum[l*SUM_W +: SUM_W]),
            .y(y_word[l*OUT_W +: OUT_W])
        );
    end
endgenerate

hwcomp_fifo #(
    .WIDTH(LANES * OUT_W),
    .DEPTH(2)
) u_out_fifo (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata(y_word),
    .s_axis_tvalid(s1_valid),
    .s_axis_tready(en),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready)
);

endmodule

`resetall
