// hwcomp: the folded schedule shared by the matrix-vector units (hwcomp_mvu,
// hwcomp_xnor_mvu): step counters, weight ROM, input buffer, pipeline control
// and the output FIFO. The instantiating unit supplies the lanes: it combines
// s1_weights with s1_x into per-row accumulators (S2, S3) and returns the
// finished row fold's result as y_word.
//
// Folding: a vector takes NF*SF steps (row fold nf outer, column fold sf
// inner), one per cycle, with no bubbles between vectors. During row fold 0
// each step takes an input word from s_axis and stores it in the input buffer;
// later row folds replay the buffer (left out when NF = 1).
//
// Pipeline (every stage advances together on `en`):
//   S0  step counters; issue the weight ROM / buffer reads, accept the input
//       word; s0_nf lets the unit read its own per-row-fold ROMs
//   S1  weight word and input word registered (the ROM's read register);
//       with OP_REG = 1 registered once more (S1b; OP_REG = 2: twice, for
//       operands that travel far to their multipliers), so the ROM's slow
//       clock-to-output ends in a flip-flop: s1_weights, s1_x, s1_last are
//       the operands the lanes use, after S1b if present; X_COPIES copies of
//       the input word register share its fan-out to the lanes
//   ..  LANE_DELAY register stages inside the unit's lanes (products, adder
//       tree levels); the flags are delayed with them
//   S2  the unit's per-lane step results; s2_first, s2_last mark the column fold
//   S3  the unit's accumulators; a row fold is done after its last column fold
//   ..  OUT_DELAY register stages of the unit's activation (y_word registered)
//   S4  y_word written into a 2-word output FIFO, which drives m_axis.
// `en` is the output FIFO's tready, decoded from its count register only: the
// pipeline stalls only while that FIFO is full, and m_axis_tready never
// reaches s_axis_tready combinationally. A stalled pipeline holds every stage,
// so the added stages lose no throughput. Latency: a row fold's output word
// can be taken 4 + OP_REG + LANE_DELAY + OUT_DELAY cycles after its last step
// fires (S1, [S1b], lane stages, S2, S3, activation stages, FIFO write).
//
// WEIGHT_FILE: NF*SF lines of W_WORD_W bits, line nf*SF+sf read at that step.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module hwcomp_mvu_fold #(
    parameter integer NF = 2,              // row folds per vector
    parameter integer SF = 2,              // column folds per row fold
    parameter integer IN_WORD_W = 4,       // bits per input word (SIMD elements)
    parameter integer W_WORD_W = 8,        // bits per weight ROM word (one step's weights)
    parameter integer OUT_WORD_W = 4,      // bits per output word (PE elements)
    parameter integer OP_REG = 0,          // 1, 2: register the ROM word and input word once or twice more (S1b)
    parameter integer X_COPIES = 1,        // copies of the S1b input word register (OP_REG only), >= 1
    parameter integer LANE_DELAY = 0,      // register stages the unit's lanes add before S2
    parameter integer OUT_DELAY = 0,       // register stages the unit adds between S3 and y_word
    parameter WEIGHT_FILE = "weights.mem"  // $readmemh image of the weight ROM
) (
    input  wire                   clk,
    input  wire                   rst,     // synchronous, active high

    input  wire [IN_WORD_W-1:0]   s_axis_tdata,
    input  wire                   s_axis_tvalid,
    output wire                   s_axis_tready,

    output wire [OUT_WORD_W-1:0]  m_axis_tdata,
    output wire                   m_axis_tvalid,
    input  wire                   m_axis_tready,

    // The unit's lanes.
    output wire                   en,      // the pipeline advances this cycle
    output wire [(NF > 1 ? $clog2(NF) : 1)-1:0] s0_nf,  // row fold of the step S0 issues
    output wire [W_WORD_W-1:0]    s1_weights,  // the lanes' operands (after S1b if OP_REG)
    output wire [X_COPIES*IN_WORD_W-1:0] s1_x,  // the input word this step uses, X_COPIES times
    output wire                   s1_last, // last column fold
    output reg                    s2_valid,
    output reg                    s2_first,  // first column fold: restart the accumulator
    output reg                    s2_last,   // last column fold: the row fold completes
    input  wire [OUT_WORD_W-1:0]  y_word     // result of the row fold S3 held OUT_DELAY cycles ago
);

localparam integer STEPS = NF * SF;
localparam integer NF_CW = NF > 1 ? $clog2(NF) : 1;
localparam integer SF_CW = SF > 1 ? $clog2(SF) : 1;
localparam integer STEP_CW = STEPS > 1 ? $clog2(STEPS) : 1;
localparam integer NF_LAST_I = NF - 1;
localparam integer SF_LAST_I = SF - 1;
localparam [NF_CW-1:0] NF_LAST = NF_LAST_I[NF_CW-1:0];
localparam [SF_CW-1:0] SF_LAST = SF_LAST_I[SF_CW-1:0];

// ---------------------------------------------------------------- parameter checks
// An illegal value instantiates a module that does not exist, named after the
// rule it breaks: Verilator, Icarus and Yosys (hierarchy -check) all stop at
// elaboration and print that name.
generate
    if (NF < 1) begin : g_check_nf
        hwcomp_mvu_fold_ILLEGAL_NF_below_1 u_illegal ();
    end
    if (SF < 1) begin : g_check_sf
        hwcomp_mvu_fold_ILLEGAL_SF_below_1 u_illegal ();
    end
    if (IN_WORD_W < 1) begin : g_check_in_word_w
        hwcomp_mvu_fold_ILLEGAL_IN_WORD_W_below_1 u_illegal ();
    end
    if (W_WORD_W < 1) begin : g_check_w_word_w
        hwcomp_mvu_fold_ILLEGAL_W_WORD_W_below_1 u_illegal ();
    end
    if (OUT_WORD_W < 1) begin : g_check_out_word_w
        hwcomp_mvu_fold_ILLEGAL_OUT_WORD_W_below_1 u_illegal ();
    end
    if (OP_REG < 0 || OP_REG > 2) begin : g_check_op_reg
        hwcomp_mvu_fold_ILLEGAL_OP_REG_outside_0_to_2 u_illegal ();
    end
    if (X_COPIES < 1) begin : g_check_x_copies
        hwcomp_mvu_fold_ILLEGAL_X_COPIES_below_1 u_illegal ();
    end
    if (LANE_DELAY < 0) begin : g_check_lane_delay
        hwcomp_mvu_fold_ILLEGAL_LANE_DELAY_below_0 u_illegal ();
    end
    if (OUT_DELAY < 0) begin : g_check_out_delay
        hwcomp_mvu_fold_ILLEGAL_OUT_DELAY_below_0 u_illegal ();
    end
endgenerate

// ---------------------------------------------------------------- S0: steps
reg [NF_CW-1:0] nf;
reg [SF_CW-1:0] sf;
reg [STEP_CW-1:0] step;                    // nf*SF + sf: weight ROM address

wire nf_last = nf == NF_LAST;
wire sf_last = sf == SF_LAST;
wire in_step = nf == {NF_CW{1'b0}};        // row fold 0 takes words from s_axis
wire fire = en && (s_axis_tvalid || !in_step);

assign s_axis_tready = en && in_step;
assign s0_nf = nf;

always @(posedge clk) begin
    if (rst) begin
        nf <= {NF_CW{1'b0}};
        sf <= {SF_CW{1'b0}};
        step <= {STEP_CW{1'b0}};
    end else if (fire) begin
        sf <= sf_last ? {SF_CW{1'b0}} : sf + 1'b1;
        if (sf_last) begin
            nf <= nf_last ? {NF_CW{1'b0}} : nf + 1'b1;
        end
        step <= sf_last && nf_last ? {STEP_CW{1'b0}} : step + 1'b1;
    end
end

// ---------------------------------------------------------------- S1: operands
(* rom_style = "block" *)
reg [W_WORD_W-1:0] weight_rom [0:STEPS-1];

initial begin
    $readmemh(WEIGHT_FILE, weight_rom);
end

reg s1_valid;
reg s1_first;
reg s1_last_q;
reg [W_WORD_W-1:0] s1_rom;
reg [IN_WORD_W-1:0] s1_in;
wire [IN_WORD_W-1:0] s1_word;              // the input word of the step in S1

always @(posedge clk) begin
    if (rst) begin
        s1_valid <= 1'b0;
    end else if (en) begin
        s1_valid <= fire;
    end
end

// Registered ROM reads (enable = en) map onto block / distributed RAM.
always @(posedge clk) begin
    if (en) begin
        s1_first <= sf == {SF_CW{1'b0}};
        s1_last_q <= sf_last;
        s1_rom <= weight_rom[step];
        s1_in <= s_axis_tdata;
    end
end

generate
    if (NF > 1) begin : g_in_buf
        // Words of row fold 0, replayed for row folds 1..NF-1.
        reg [IN_WORD_W-1:0] in_buf [0:SF-1];
        reg [IN_WORD_W-1:0] s1_buf;
        reg s1_replay;

        always @(posedge clk) begin
            if (fire && in_step) begin
                in_buf[sf] <= s_axis_tdata;
            end
        end

        always @(posedge clk) begin
            if (en) begin
                s1_buf <= in_buf[sf];
                s1_replay <= !in_step;
            end
        end

        assign s1_word = s1_replay ? s1_buf : s1_in;
    end else begin : g_no_in_buf
        assign s1_word = s1_in;
    end
endgenerate

// ---------------------------------------------------------------- S1b, lane stages
// m_*: the step whose operands the lanes use; l_*: the step entering S2.
wire m_valid;
wire m_first;
wire l_valid;
wire l_first;
wire l_last;

// o_*: the operands entering the last S1b register (after the first one with OP_REG = 2).
wire [W_WORD_W-1:0] o_w;
wire [IN_WORD_W-1:0] o_x;
wire o_valid;
wire o_first;
wire o_last;

genvar c;
generate
    if (OP_REG == 2) begin : g_op_reg2
        reg [W_WORD_W-1:0] w_q;
        reg [IN_WORD_W-1:0] x_q;
        reg valid_q;
        reg first_q;
        reg last_q;

        always @(posedge clk) begin
            if (rst) begin
                valid_q <= 1'b0;
            end else if (en) begin
                valid_q <= s1_valid;
            end
        end

        always @(posedge clk) begin
            if (en) begin
                w_q <= s1_rom;
                x_q <= s1_word;
                first_q <= s1_first;
                last_q <= s1_last_q;
            end
        end

        assign o_w = w_q;
        assign o_x = x_q;
        assign o_valid = valid_q;
        assign o_first = first_q;
        assign o_last = last_q;
    end else begin : g_op_reg1
        assign o_w = s1_rom;
        assign o_x = s1_word;
        assign o_valid = s1_valid;
        assign o_first = s1_first;
        assign o_last = s1_last_q;
    end

    if (OP_REG != 0) begin : g_op_reg
        reg [W_WORD_W-1:0] w_q;
        reg valid_q;
        reg first_q;
        reg last_q;

        always @(posedge clk) begin
            if (rst) begin
                valid_q <= 1'b0;
            end else if (en) begin
                valid_q <= o_valid;
            end
        end

        always @(posedge clk) begin
            if (en) begin
                w_q <= o_w;
                first_q <= o_first;
                last_q <= o_last;
            end
        end

        // The input word goes to every lane: copies (kept apart by `keep`, else
        // Yosys merges them) let each sit beside its group of lanes.
        for (c = 0; c < X_COPIES; c = c + 1) begin : g_x_copy
            reg [IN_WORD_W-1:0] x_q;
            (* keep *)
            always @(posedge clk) begin
                if (en) begin
                    x_q <= o_x;
                end
            end
            assign s1_x[c*IN_WORD_W +: IN_WORD_W] = x_q;
        end

        assign s1_weights = w_q;
        assign m_valid = valid_q;
        assign m_first = first_q;
        assign s1_last = last_q;
    end else begin : g_no_op_reg
        // Without S1b, o_* (equal to the S1 signals) are not read.
        wire unused_o = &{1'b0, o_w, o_x, o_valid, o_first, o_last};
        assign s1_weights = s1_rom;
        assign s1_x = {X_COPIES{s1_word}};
        assign m_valid = s1_valid;
        assign m_first = s1_first;
        assign s1_last = s1_last_q;
    end

    if (LANE_DELAY > 0) begin : g_lane_delay
        // The flags travel beside the lanes' LANE_DELAY register stages.
        reg [LANE_DELAY-1:0] valid_d;
        reg [LANE_DELAY-1:0] first_d;
        reg [LANE_DELAY-1:0] last_d;
        integer i;
        integer j;   // one loop variable per always block: a shared one has two drivers

        always @(posedge clk) begin
            if (rst) begin
                valid_d <= {LANE_DELAY{1'b0}};
            end else if (en) begin
                valid_d[0] <= m_valid;
                for (i = 1; i < LANE_DELAY; i = i + 1) begin
                    valid_d[i] <= valid_d[i-1];
                end
            end
        end

        always @(posedge clk) begin
            if (en) begin
                first_d[0] <= m_first;
                last_d[0] <= s1_last;
                for (j = 1; j < LANE_DELAY; j = j + 1) begin
                    first_d[j] <= first_d[j-1];
                    last_d[j] <= last_d[j-1];
                end
            end
        end

        assign l_valid = valid_d[LANE_DELAY-1];
        assign l_first = first_d[LANE_DELAY-1];
        assign l_last = last_d[LANE_DELAY-1];
    end else begin : g_no_lane_delay
        assign l_valid = m_valid;
        assign l_first = m_first;
        assign l_last = s1_last;
    end
endgenerate

// ---------------------------------------------------------------- S2, S3 control
reg s3_done;                               // the accumulators hold a finished row fold

always @(posedge clk) begin
    if (rst) begin
        s2_valid <= 1'b0;
        s3_done <= 1'b0;
    end else if (en) begin
        s2_valid <= l_valid;
        s3_done <= s2_valid && s2_last;
    end
end

always @(posedge clk) begin
    if (en) begin
        s2_first <= l_first;
        s2_last <= l_last;
    end
end

// The activation stages: y_word belongs to the row fold S3 held OUT_DELAY cycles ago.
wire y_valid;

generate
    if (OUT_DELAY > 0) begin : g_out_delay
        reg [OUT_DELAY-1:0] done_d;
        integer j;

        always @(posedge clk) begin
            if (rst) begin
                done_d <= {OUT_DELAY{1'b0}};
            end else if (en) begin
                done_d[0] <= s3_done;
                for (j = 1; j < OUT_DELAY; j = j + 1) begin
                    done_d[j] <= done_d[j-1];
                end
            end
        end

        assign y_valid = done_d[OUT_DELAY-1];
    end else begin : g_no_out_delay
        assign y_valid = s3_done;
    end
endgenerate

// ---------------------------------------------------------------- output
hwcomp_fifo #(
    .WIDTH(OUT_WORD_W),
    .DEPTH(2)
) u_out_fifo (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata(y_word),
    .s_axis_tvalid(y_valid),
    .s_axis_tready(en),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready)
);

endmodule

`resetall
