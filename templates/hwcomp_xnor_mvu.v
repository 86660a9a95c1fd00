// hwcomp: folded binary (XNOR-popcount) matrix-vector unit with a per-row
// threshold activation, y[r] = popcount(XNOR(W[r], x)) >= T[r].
//
// Bipolar values +1 / -1 travel as bits, 1 = +1 (docs/numerics_binary.md).
// For row r, p = number of valid columns j < COLS where W[r][j] == x[j]; the
// bipolar dot product is 2p - COLS. POPCOUNT_OUT = 0 outputs the bit
// p >= T[r]; POPCOUNT_OUT = 1 outputs p itself (CNT_W bits, for a last layer).
//
// Padding: columns COLS..SF*SIMD-1 (the tail lanes of the last column fold)
// are masked in hardware, so padded weight bits and padded input lanes never
// count, whatever they hold.
//
// Folding: PE rows and SIMD columns per cycle. A vector takes NF*SF steps
// (row fold nf outer, column fold sf inner), one per cycle, with no bubbles
// between vectors. During row fold 0 each step takes an input word from
// s_axis and stores it in the input buffer; later row folds replay the buffer.
//
// Pipeline (every stage advances together on `en`):
//   S0  step counters; issue ROM / buffer reads, accept the input word
//   S1  weight word, threshold word and input word registered
//   S2  per PE lane: XNOR, mask, popcount of the SIMD agreements registered
//   S3  per PE lane: accumulated popcount; restarts on the first column fold
//   S4  compare with the threshold (or pass the popcount) into a 2-word
//       output FIFO, which drives m_axis.
// `en` is the output FIFO's tready, decoded from its count register only: the
// pipeline stalls only while that FIFO is full, and m_axis_tready never
// reaches s_axis_tready combinationally. Latency: a row fold's output word
// can be taken 4 cycles after its last step fires (S1, S2, S3, FIFO write).
// No multipliers: XNOR, adders and one comparator per lane.
//
// Memory layouts (written by hwcomp.hw.binary):
//   WEIGHT_FILE  NF*SF lines, line nf*SF+sf; weight bit W[nf*PE+p][sf*SIMD+s]
//                at bit p*SIMD+s
//   THRESH_FILE  NF lines; threshold T[nf*PE+p] at bits [p*THRESH_W +: THRESH_W],
//                unsigned, clamped to [0, COLS+1] (exact: 0 <= p <= COLS).
//                Not read when POPCOUNT_OUT = 1.
// Stream words: input bit s at s_axis_tdata[s], output element p at
// [p*OUT_W +: OUT_W], OUT_W = 1 or CNT_W = clog2(SF*SIMD+1).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module hwcomp_xnor_mvu #(
    parameter integer PE = 2,              // output lanes: rows computed in parallel
    parameter integer SIMD = 2,            // input lanes: columns consumed per step
    parameter integer NF = 2,              // row folds: padded rows / PE
    parameter integer SF = 2,              // column folds: padded columns / SIMD
    parameter integer COLS = 4,            // valid columns, (SF-1)*SIMD < COLS <= SF*SIMD
    parameter integer THRESH_W = 3,        // threshold width, unsigned
    parameter integer POPCOUNT_OUT = 0,    // 0: 1-bit threshold outputs, 1: popcount outputs
    parameter WEIGHT_FILE = "weights.mem", // $readmemh image of the weight ROM
    parameter THRESH_FILE = "thresh.mem"   // $readmemh image of the threshold ROM
) (
    input  wire                  clk,
    input  wire                  rst,      // synchronous, active high

    input  wire [SIMD-1:0]       s_axis_tdata,
    input  wire                  s_axis_tvalid,
    output wire                  s_axis_tready,

    output wire [PE*(POPCOUNT_OUT != 0 ? $clog2(SF*SIMD+1) : 1)-1:0] m_axis_tdata,
    output wire                  m_axis_tvalid,
    input  wire                  m_axis_tready
);

localparam integer CNT_W = $clog2(SF * SIMD + 1);   // popcount of a whole row
localparam integer SC_W = $clog2(SIMD + 1);         // popcount of one step
localparam integer OUT_W = POPCOUNT_OUT != 0 ? CNT_W : 1;
localparam integer OUT_WORD_W = PE * OUT_W;
localparam integer W_WORD_W = PE * SIMD;
localparam integer T_WORD_W = PE * THRESH_W;
localparam integer STEPS = NF * SF;
// Valid lanes of the last column fold, 1..SIMD.
localparam integer LAST_COLS = COLS - (SF - 1) * SIMD;
localparam [SIMD-1:0] ALL_LANES = {SIMD{1'b1}};
localparam [SIMD-1:0] LAST_MASK = ALL_LANES >> (SIMD - LAST_COLS);

localparam integer NF_CW = NF > 1 ? $clog2(NF) : 1;
localparam integer SF_CW = SF > 1 ? $clog2(SF) : 1;
localparam integer STEP_CW = STEPS > 1 ? $clog2(STEPS) : 1;
localparam integer NF_LAST_I = NF - 1;
localparam integer SF_LAST_I = SF - 1;
localparam [NF_CW-1:0] NF_LAST = NF_LAST_I[NF_CW-1:0];
localparam [SF_CW-1:0] SF_LAST = SF_LAST_I[SF_CW-1:0];

// ---------------------------------------------------------------- S0: steps
wire en;                                   // pipeline advances this cycle
reg [NF_CW-1:0] nf;
reg [SF_CW-1:0] sf;
reg [STEP_CW-1:0] step;                    // nf*SF + sf: weight ROM address

wire nf_last = nf == NF_LAST;
wire sf_last = sf == SF_LAST;
wire in_step = nf == {NF_CW{1'b0}};        // row fold 0 takes words from s_axis
wire fire = en && (s_axis_tvalid || !in_step);

assign s_axis_tready = en && in_step;

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
reg s1_first;                              // first column fold: restart the count
reg s1_last;                               // last column fold: mask, row fold complete
reg [W_WORD_W-1:0] s1_weights;
reg [SIMD-1:0] s1_in;
wire [SIMD-1:0] s1_x;                      // the input word this step compares

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
        s1_last <= sf_last;
        s1_weights <= weight_rom[step];
        s1_in <= s_axis_tdata;
    end
end

generate
    if (NF > 1) begin : g_in_buf
        // Words of row fold 0, replayed for row folds 1..NF-1.
        reg [SIMD-1:0] in_buf [0:SF-1];
        reg [SIMD-1:0] s1_buf;
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

        assign s1_x = s1_replay ? s1_buf : s1_in;
    end else begin : g_no_in_buf
        assign s1_x = s1_in;
    end
endgenerate

// ---------------------------------------------------------------- S2..S4 control
reg s2_valid;
reg s2_first;
reg s2_last;
reg s3_done;                               // counters hold a finished row fold

always @(posedge clk) begin
    if (rst) begin
        s2_valid <= 1'b0;
        s3_done <= 1'b0;
    end else if (en) begin
        s2_valid <= s1_valid;
        s3_done <= s2_valid && s2_last;
    end
end

always @(posedge clk) begin
    if (en) begin
        s2_first <= s1_first;
        s2_last <= s1_last;
    end
end

// Thresholds of the row fold whose counts sit in S3.
wire [T_WORD_W-1:0] s3_thresh;

generate
    if (POPCOUNT_OUT == 0) begin : g_thresh
        // Left to the tool: a few words, usually best as LUTs.
        reg [T_WORD_W-1:0] thresh_rom [0:NF-1];
        reg [T_WORD_W-1:0] s1_t;
        reg [T_WORD_W-1:0] s2_t;
        reg [T_WORD_W-1:0] s3_t;

        initial begin
            $readmemh(THRESH_FILE, thresh_rom);
        end

        always @(posedge clk) begin
            if (en) begin
                s1_t <= thresh_rom[nf];
                s2_t <= s1_t;
            end
            if (en && s2_valid && s2_last) begin
                s3_t <= s2_t;
            end
        end

        assign s3_thresh = s3_t;
    end else begin : g_no_thresh
        assign s3_thresh = {T_WORD_W{1'b0}};
        wire unused_thresh = &{1'b0, s3_thresh};
    end
endgenerate

// ---------------------------------------------------------------- lanes
wire [OUT_WORD_W-1:0] y_word;
// Agreements of the padded tail lanes never count.
wire [SIMD-1:0] lane_mask = s1_last ? LAST_MASK : ALL_LANES;

genvar p;
generate
    for (p = 0; p < PE; p = p + 1) begin : g_pe
        // S2: XNOR of this row's weight bits with the input word, popcount.
        wire [SIMD-1:0] agree = ~(s1_weights[p*SIMD +: SIMD] ^ s1_x) & lane_mask;
        reg [SC_W-1:0] step_cnt;

        if (SIMD > 1) begin : g_popcount
            integer i;
            always @* begin
                step_cnt = {SC_W{1'b0}};
                for (i = 0; i < SIMD; i = i + 1) begin
                    step_cnt = step_cnt + {{(SC_W-1){1'b0}}, agree[i]};
                end
            end
        end else begin : g_one_lane
            always @* begin
                step_cnt = agree;
            end
        end

        reg [SC_W-1:0] dot;
        always @(posedge clk) begin
            if (en) begin
                dot <= step_cnt;
            end
        end

        // S3: accumulate; the first column fold restarts the count.
        wire [CNT_W-1:0] dot_ext;
        if (CNT_W > SC_W) begin : g_extend
            assign dot_ext = {{(CNT_W-SC_W){1'b0}}, dot};
        end else begin : g_same
            assign dot_ext = dot;
        end

        reg [CNT_W-1:0] cnt;
        always @(posedge clk) begin
            if (en && s2_valid) begin
                cnt <= (s2_first ? {CNT_W{1'b0}} : cnt) + dot_ext;
            end
        end

        // S4 (combinational into the output FIFO).
        if (POPCOUNT_OUT != 0) begin : g_count_out
            assign y_word[p*OUT_W +: OUT_W] = cnt;
        end else begin : g_bit_out
            wire [THRESH_W-1:0] t = s3_thresh[p*THRESH_W +: THRESH_W];
            if (THRESH_W > CNT_W) begin : g_wide_t
                assign y_word[p] = {{(THRESH_W-CNT_W){1'b0}}, cnt} >= t;
            end else if (THRESH_W == CNT_W) begin : g_same_t
                assign y_word[p] = cnt >= t;
            end else begin : g_narrow_t
                assign y_word[p] = cnt >= {{(CNT_W-THRESH_W){1'b0}}, t};
            end
        end
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
    .s_axis_tvalid(s3_done),
    .s_axis_tready(en),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready)
);

endmodule

`resetall
