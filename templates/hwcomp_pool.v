// hwcomp: window reduction (max pooling, average pooling), per channel lane.
//
// Input: for each output pixel, WINDOW positions of CF beats each, position
// outer and channel fold inner (the sliding-window unit's (ky, kx, cf) order).
// Output: CF beats per output pixel, lane for lane:
//   MODE 0 (max)  y = max over the positions, IN_W bits unchanged (OUT_W = IN_W)
//   MODE 1 (sum)  y = sat((sum * MULT + 2^(SHIFT-1)) >>> SHIFT) to [OUT_MIN, OUT_MAX]
//                 (rounding half up; ROUND selects another rounding of the shift)
//                 (hwcomp_scale; MULT / 2^SHIFT ~ 1/WINDOW gives the average with
//                 padded taps counted, i.e. count_include_pad)
// The sum is exact: it is held in X_W + clog2(WINDOW) bits.
//
// Channels of one position arrive over CF beats, so a CF-word buffer holds the
// running result of every channel fold (read asynchronously: registers or
// distributed RAM). Position 0 loads it, later positions combine into it, and
// the last position's result goes on instead of back.
//
// Pipeline (every stage advances together on `en`):
//   S0  accept a beat; combine it with the buffer word of its channel fold
//   S1  the combined word of the last position, registered
//   S2  scale (sum) or truncate (max) into a 2-word output FIFO driving m_axis
// One beat per cycle: WINDOW*CF cycles per output pixel, no bubbles between
// pixels. A pixel's last output beat can be taken 2 cycles after its last
// input beat. `en` is the output FIFO's tready, decoded from its count
// register, so m_axis_tready never reaches s_axis_tready combinationally.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module hwcomp_pool #(
    parameter integer MODE = 0,            // 0: max, 1: sum then scale
    parameter integer WINDOW = 4,          // positions reduced per output pixel (K*K)
    parameter integer CF = 1,              // channel folds: beats per position
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

localparam integer MODE_SUM = 1;
// Inputs as signed values: unsigned ones gain a zero sign bit.
localparam integer X_W = IN_SIGNED != 0 ? IN_W : IN_W + 1;
// Element width of the running result: exact for a sum of WINDOW inputs.
localparam integer A_W = MODE == MODE_SUM ? X_W + $clog2(WINDOW) : X_W;
localparam integer WORD_W = LANES * A_W;

localparam integer POS_CW = WINDOW > 1 ? $clog2(WINDOW) : 1;
localparam integer CF_CW = CF > 1 ? $clog2(CF) : 1;
localparam integer POS_LAST_I = WINDOW - 1;
localparam integer CF_LAST_I = CF - 1;
localparam [POS_CW-1:0] POS_LAST = POS_LAST_I[POS_CW-1:0];
localparam [CF_CW-1:0] CF_LAST = CF_LAST_I[CF_CW-1:0];

// ---------------------------------------------------------------- parameter checks
// An illegal value instantiates a module that does not exist, named after the
// rule it breaks: Verilator, Icarus and Yosys (hierarchy -check) all stop at
// elaboration and print that name. The sum's scale parameters (MULT, SHIFT,
// ROUND, the bounds) are checked by hwcomp_scale.
generate
    if (MODE != 0 && MODE != 1) begin : g_check_mode
        hwcomp_pool_ILLEGAL_MODE_not_0_or_1 u_illegal ();
    end
    if (WINDOW < 1) begin : g_check_window
        hwcomp_pool_ILLEGAL_WINDOW_below_1 u_illegal ();
    end
    if (CF < 1) begin : g_check_cf
        hwcomp_pool_ILLEGAL_CF_below_1 u_illegal ();
    end
    if (LANES < 1) begin : g_check_lanes
        hwcomp_pool_ILLEGAL_LANES_below_1 u_illegal ();
    end
    if (IN_W < 1) begin : g_check_in_w
        hwcomp_pool_ILLEGAL_IN_W_below_1 u_illegal ();
    end
    if (IN_SIGNED != 0 && IN_SIGNED != 1) begin : g_check_in_signed
        hwcomp_pool_ILLEGAL_IN_SIGNED_not_0_or_1 u_illegal ();
    end
    if (OUT_W < 1) begin : g_check_out_w
        hwcomp_pool_ILLEGAL_OUT_W_below_1 u_illegal ();
    end
    if (MODE == 0 && IN_W >= 1 && OUT_W >= 1 && OUT_W != IN_W) begin : g_check_max_out_w
        hwcomp_pool_ILLEGAL_OUT_W_not_IN_W_for_max u_illegal ();
    end
endgenerate

// ---------------------------------------------------------------- S0: counters
wire en;                                   // pipeline advances this cycle
reg [POS_CW-1:0] pos;
reg [CF_CW-1:0] cf;

wire fire = en && s_axis_tvalid;
wire pos_first = pos == {POS_CW{1'b0}};
wire pos_last = pos == POS_LAST;
wire cf_last = cf == CF_LAST;

assign s_axis_tready = en;

always @(posedge clk) begin
    if (rst) begin
        pos <= {POS_CW{1'b0}};
        cf <= {CF_CW{1'b0}};
    end else if (fire) begin
        cf <= cf_last ? {CF_CW{1'b0}} : cf + 1'b1;
        if (cf_last) begin
            pos <= pos_last ? {POS_CW{1'b0}} : pos + 1'b1;
        end
    end
end

// ---------------------------------------------------------------- S0: combine
reg [WORD_W-1:0] acc_buf [0:CF-1];         // running result per channel fold
wire [WORD_W-1:0] prev = acc_buf[cf];
wire [WORD_W-1:0] comb;

genvar l;
generate
    for (l = 0; l < LANES; l = l + 1) begin : g_lane
        wire [IN_W-1:0] x_raw = s_axis_tdata[l*IN_W +: IN_W];
        wire signed [A_W-1:0] x;
        wire signed [A_W-1:0] p = prev[l*A_W +: A_W];

        if (IN_SIGNED != 0 && A_W > IN_W) begin : g_sext
            assign x = {{(A_W-IN_W){x_raw[IN_W-1]}}, x_raw};
        end else if (IN_SIGNED != 0) begin : g_same
            assign x = x_raw;
        end else begin : g_zext
            assign x = {{(A_W-IN_W){1'b0}}, x_raw};
        end

        if (MODE == MODE_SUM) begin : g_sum
            assign comb[l*A_W +: A_W] = pos_first ? x : p + x;
        end else begin : g_max
            assign comb[l*A_W +: A_W] = pos_first || x > p ? x : p;
        end
    end
endgenerate

always @(posedge clk) begin
    if (fire) begin
        acc_buf[cf] <= comb;
    end
end

// ---------------------------------------------------------------- S1
reg s1_valid;
reg [WORD_W-1:0] s1_word;

always @(posedge clk) begin
    if (rst) begin
        s1_valid <= 1'b0;
    end else if (en) begin
        s1_valid <= fire && pos_last;
    end
end

always @(posedge clk) begin
    if (en) begin
        s1_word <= comb;
    end
end

// ---------------------------------------------------------------- S2: output
wire [LANES*OUT_W-1:0] y_word;

generate
    for (l = 0; l < LANES; l = l + 1) begin : g_out
        wire [A_W-1:0] a = s1_word[l*A_W +: A_W];

        if (MODE == MODE_SUM) begin : g_scale
            hwcomp_scale #(
                .IN_W(A_W),
                .MULT(MULT),
                .SHIFT(SHIFT),
                .ROUND(ROUND),
                .RELU(0),
                .OUT_W(OUT_W),
                .OUT_MIN(OUT_MIN),
                .OUT_MAX(OUT_MAX)
            ) u_scale (
                .v(a),
                .y(y_word[l*OUT_W +: OUT_W])
            );
        end else begin : g_max
            // The maximum is one of the inputs: its low IN_W bits are that input.
            assign y_word[l*OUT_W +: OUT_W] = a[IN_W-1:0];
            if (A_W > IN_W) begin : g_unused
                wire unused_sign = &{1'b0, a[A_W-1:IN_W]};
            end
        end
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
