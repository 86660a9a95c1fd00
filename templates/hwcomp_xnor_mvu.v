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
// That schedule (steps, weight ROM, input buffer, pipeline control, output
// FIFO) is hwcomp_mvu_fold, shared with hwcomp_mvu; this module adds the
// lanes and the threshold ROM.
//
// Pipeline (every stage advances together on `en`):
//   S0  step counters; issue ROM / buffer reads, accept the input word
//   S1  weight word, input word and row fold index registered; OP_REG = 1
//       registers them once more (S1b: the block RAM's clock-to-output ends
//       in a flip-flop, one copy of the input word per PE lane)
//   S2  per PE lane: XNOR, mask, popcount of the SIMD agreements registered
//   S3  per PE lane: accumulated popcount; restarts on the first column fold
//   S4  compare with the threshold, read from its ROM by the row fold index
//       held in S3 (or pass the popcount), into a 2-word output FIFO, which
//       drives m_axis.
// `en` is the output FIFO's tready, decoded from its count register only: the
// pipeline stalls only while that FIFO is full, and m_axis_tready never
// reaches s_axis_tready combinationally. Latency: a row fold's output word
// can be taken 4 + OP_REG cycles after its last step fires (S1, [S1b], S2,
// S3, FIFO write).
// No multipliers: XNOR, adders and one comparator per lane.
//
// LUT cost (Yosys synth_xilinx, benchmarks/xnor_luts.py): the popcount is
// written for 6-input LUTs and carry chains, about 1.4 LUTs per lane with the
// accumulator. Chains of up to 12 lanes: 3 lanes counted in LUTs, then per
// stage a lane pair whose count folds into the 2 low LUTs of a carry-chain
// adder and one lane on its carry-in; a tree of adders, each with a lane on
// its carry-in, sums the chains. Every LUT takes its lanes' weight and input
// bits directly, so no XNOR has a LUT of its own except the carry-in lanes'.
// The threshold compare is one subtraction per lane whose LUTs also decode
// the threshold ROM from the row fold index (NF <= 32: one LUT per bit).
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
    parameter integer THRESH_W = 3,        // threshold width, unsigned, holds COLS+1 (POPCOUNT_OUT = 0)
    parameter integer POPCOUNT_OUT = 0,    // 0: 1-bit threshold outputs, 1: popcount outputs
    parameter WEIGHT_FILE = "weights.mem", // $readmemh image of the weight ROM
    parameter THRESH_FILE = "thresh.mem",  // $readmemh image of the threshold ROM
    parameter integer OP_REG = 0           // 1: register the weight and input words once more (S1b)
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
// Valid lanes of the last column fold, 1..SIMD.
localparam integer LAST_COLS = COLS - (SF - 1) * SIMD;
localparam integer SIMD_R = SIMD > 0 ? SIMD : 1;   // SIMD < 1 reaches its check, not a zero replication
localparam [SIMD-1:0] ALL_LANES = {SIMD_R{1'b1}};
localparam [SIMD-1:0] LAST_MASK = ALL_LANES >> (SIMD - LAST_COLS);
localparam integer NF_CW = NF > 1 ? $clog2(NF) : 1;
// With S1b, one copy of the input word register per PE lane (fan-out SIMD each).
localparam integer X_COPIES = OP_REG != 0 ? PE : 1;
// Popcount of a step (see the lanes): CHAINS chains of up to CHAIN_MAX lanes,
// added by a tree whose CHAINS-1 adders take TREE_CI more lanes as carry-ins.
localparam integer CHAIN_STAGES = 3;                 // pair + carry-in stages after a chain's first 3 lanes
localparam integer CHAIN_MAX = 3 + 3 * CHAIN_STAGES;
localparam integer CHAIN_W = $clog2(CHAIN_MAX + 1);  // bits of a chain's count
localparam integer CHAINS = (SIMD + CHAIN_MAX + 1) / (CHAIN_MAX + 1);
// As many carry-in lanes as adders, but the last chain keeps at least one lane.
localparam integer TREE_CI_ROOM = SIMD - CHAIN_MAX * (CHAINS - 1) - 1;
localparam integer TREE_CI = CHAINS - 1 < TREE_CI_ROOM ? CHAINS - 1 : TREE_CI_ROOM;
localparam integer CHAIN_LANES = SIMD - TREE_CI;     // lanes 0..CHAIN_LANES-1 are in chains
localparam integer LEVELS = $clog2(CHAINS);          // tree levels above the chains
// Threshold compare width: both operands and a sign bit.
localparam integer CMP_W = (THRESH_W > CNT_W ? THRESH_W : CNT_W) + 1;

// ---------------------------------------------------------------- parameter checks
// An illegal value instantiates a module that does not exist, named after the
// rule it breaks: Verilator, Icarus and Yosys (hierarchy -check) all stop at
// elaboration and print that name.
generate
    if (PE < 1) begin : g_check_pe
        hwcomp_xnor_mvu_ILLEGAL_PE_below_1 u_illegal ();
    end
    if (SIMD < 1) begin : g_check_simd
        hwcomp_xnor_mvu_ILLEGAL_SIMD_below_1 u_illegal ();
    end
    if (NF < 1) begin : g_check_nf
        hwcomp_xnor_mvu_ILLEGAL_NF_below_1 u_illegal ();
    end
    if (SF < 1) begin : g_check_sf
        hwcomp_xnor_mvu_ILLEGAL_SF_below_1 u_illegal ();
    end
    if (SF >= 1 && SIMD >= 1 && (COLS <= (SF - 1) * SIMD || COLS > SF * SIMD)) begin : g_check_cols
        hwcomp_xnor_mvu_ILLEGAL_COLS_outside_last_column_fold u_illegal ();
    end
    if (THRESH_W < 1) begin : g_check_thresh_w
        hwcomp_xnor_mvu_ILLEGAL_THRESH_W_below_1 u_illegal ();
    end
    if (POPCOUNT_OUT != 0 && POPCOUNT_OUT != 1) begin : g_check_popcount_out
        hwcomp_xnor_mvu_ILLEGAL_POPCOUNT_OUT_not_0_or_1 u_illegal ();
    end
    if (OP_REG != 0 && OP_REG != 1) begin : g_check_op_reg  // OP_REG = 2 is hwcomp_mvu's alone
        hwcomp_xnor_mvu_ILLEGAL_OP_REG_not_0_or_1 u_illegal ();
    end
    if (POPCOUNT_OUT == 0 && THRESH_W >= 1 && THRESH_W < $clog2(COLS + 2)) begin : g_check_thresh_w_range
        hwcomp_xnor_mvu_ILLEGAL_THRESH_W_below_clog2_COLS_plus_2 u_illegal ();
    end
endgenerate

// ---------------------------------------------------------------- S0, S1: schedule
// Steps, weight ROM, input buffer, pipeline control and the output FIFO.
wire en;                                   // pipeline advances this cycle
wire [NF_CW-1:0] nf;                       // row fold of the step issued in S0
wire [W_WORD_W-1:0] s1_weights;
wire [X_COPIES*SIMD-1:0] s1_x;             // the input word this step compares, per copy
wire s1_last;                              // last column fold: mask the padded lanes
wire s2_valid;
wire s2_first;                             // first column fold: restart the count
wire s2_last;                              // last column fold: row fold complete
wire [OUT_WORD_W-1:0] y_word;

hwcomp_mvu_fold #(
    .NF(NF),
    .SF(SF),
    .IN_WORD_W(SIMD),
    .W_WORD_W(W_WORD_W),
    .OUT_WORD_W(OUT_WORD_W),
    .OP_REG(OP_REG),
    .X_COPIES(X_COPIES),
    .WEIGHT_FILE(WEIGHT_FILE)
) u_fold (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata(s_axis_tdata),
    .s_axis_tvalid(s_axis_tvalid),
    .s_axis_tready(s_axis_tready),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready),
    .en(en),
    .s0_nf(nf),
    .s1_weights(s1_weights),
    .s1_x(s1_x),
    .s1_last(s1_last),
    .s2_valid(s2_valid),
    .s2_first(s2_first),
    .s2_last(s2_last),
    .y_word(y_word)
);

// Thresholds of the row fold whose counts sit in S3. The ROM is read at S3
// from the row fold's index, carried along with the counts, rather than read
// at S0 and carried as PE thresholds: each threshold bit is then a function of
// NF_CW register bits that LUT mapping merges into the comparator's LUTs.
wire [T_WORD_W-1:0] s3_thresh;

generate
    if (POPCOUNT_OUT == 0) begin : g_thresh
        (* rom_style = "logic" *)
        reg [T_WORD_W-1:0] thresh_rom [0:NF-1];
        reg [NF_CW-1:0] s1_nf;
        wire [NF_CW-1:0] m_nf;             // the index beside the operands that reach S2
        reg [NF_CW-1:0] s2_nf;
        reg [NF_CW-1:0] s3_nf;

        initial begin
            $readmemh(THRESH_FILE, thresh_rom);
        end

        if (OP_REG != 0) begin : g_op_nf
            reg [NF_CW-1:0] q;             // S1b
            always @(posedge clk) begin
                if (en) begin
                    q <= s1_nf;
                end
            end
            assign m_nf = q;
        end else begin : g_nf
            assign m_nf = s1_nf;
        end

        always @(posedge clk) begin
            if (en) begin
                s1_nf <= nf;
                s2_nf <= m_nf;
            end
            if (en && s2_valid && s2_last) begin
                s3_nf <= s2_nf;
            end
        end

        // Constant-index reads: a memory read at a registered address would
        // become a read port that takes the register in (Yosys memory_dff).
        wire [NF*T_WORD_W-1:0] rom_words;
        genvar w;
        for (w = 0; w < NF; w = w + 1) begin : g_word
            assign rom_words[w*T_WORD_W +: T_WORD_W] = thresh_rom[w];
        end
        assign s3_thresh = rom_words[s3_nf*T_WORD_W +: T_WORD_W];
    end else begin : g_no_thresh
        assign s3_thresh = {T_WORD_W{1'b0}};
        wire unused_thresh = &{1'b0, s3_thresh, nf, s2_last};
    end
endgenerate

// ---------------------------------------------------------------- lanes
// Agreements of the padded tail lanes never count.
wire [SIMD-1:0] lane_mask = s1_last ? LAST_MASK : ALL_LANES;

genvar p, k, c, l, j;
generate
    for (p = 0; p < PE; p = p + 1) begin : g_pe
        // S2: XNOR of this row's weight bits with the input word, popcount.
        wire [SIMD-1:0] agree = ~(s1_weights[p*SIMD +: SIMD] ^ s1_x[(p % X_COPIES)*SIMD +: SIMD]) & lane_mask;

        // Written for LUT mapping (Yosys synth_xilinx: carry chains, and ABC,
        // which prefers LUTs of up to 5 inputs): every LUT takes the XNOR of
        // its own weight and input bits. A chain counts its first 3 lanes in 2
        // LUTs of 6 inputs (or 3 smaller ones), then each stage adds 3 lanes
        // on a carry chain: a pair, whose 2-bit count folds into the adder's
        // 2 low LUTs (the higher bits add 0 and need none), and a carry-in.
        // `keep` on every sum: else Yosys merges the adders into one
        // multi-operand sum ($macc) built from full adders in LUTs.
        for (k = 0; k < CHAINS; k = k + 1) begin : g_chain
            localparam integer LANES = CHAIN_LANES - k * CHAIN_MAX < CHAIN_MAX ? CHAIN_LANES - k * CHAIN_MAX : CHAIN_MAX;
            localparam integer STAGES = LANES > 3 ? (LANES - 1) / 3 : 0;
            localparam integer SLOTS = 3 * STAGES + 3;            // LANES rounded up to stages
            wire [SLOTS-1:0] a;                                   // the chain's lanes, zeros above
            if (SLOTS > LANES) begin : g_pad
                assign a = {{(SLOTS-LANES){1'b0}}, agree[k*CHAIN_MAX +: LANES]};
            end else begin : g_full
                assign a = agree[k*CHAIN_MAX +: LANES];
            end
            for (c = 0; c <= STAGES; c = c + 1) begin : g_stage
                (* keep *)
                wire [CHAIN_W-1:0] sum;
                if (c == 0) begin : g_first
                    assign sum = {{(CHAIN_W-2){1'b0}}, (a[0] & a[1]) | (a[0] & a[2]) | (a[1] & a[2]), a[0] ^ a[1] ^ a[2]};
                end else begin : g_add
                    wire [CHAIN_W-1:0] prev = g_stage[c-1].sum;
                    wire [1:0] pair = {a[3*c] & a[3*c+1], a[3*c] ^ a[3*c+1]};
                    // prev + pair, written as {prev's high bits, pair} + prev's low
                    // bits: Yosys makes the narrower operand the carry chain's DI
                    // input, which must be a signal (prev's), so the pair's count
                    // only feeds the XOR inputs and folds into their LUTs.
                    assign sum = {prev[CHAIN_W-1:2], pair} + {{(CHAIN_W-2){1'b0}}, prev[1:0]}
                               + {{(CHAIN_W-1){1'b0}}, a[3*c+2]};
                end
            end
            wire [CHAIN_W-1:0] total = g_stage[STAGES].sum;
        end

        // The tree: level 0 holds the chains' counts; node j of level l adds
        // nodes 2j and 2j+1 of level l-1 and one lane from CHAIN_LANES up as
        // its carry-in (adders numbered level by level); an odd last node
        // passes through. A node of level l is below 2^(CHAIN_W+l).
        for (l = 0; l <= LEVELS; l = l + 1) begin : g_lvl
            localparam integer N = (CHAINS + (1 << l) - 1) >> l;   // nodes of this level
            localparam integer W = CHAIN_W + l;                      // bits per node
            (* keep *)
            wire [N*W-1:0] node;
            for (j = 0; j < N; j = j + 1) begin : g_node
                if (l == 0) begin : g_chain_sum
                    assign node[j*W +: W] = g_chain[j].total;
                end else if (2 * j + 1 < ((CHAINS + (1 << (l - 1)) - 1) >> (l - 1))) begin : g_add
                    // Adder number CHAINS - (nodes of level l-1) + j takes that carry-in lane.
                    localparam integer CI = CHAINS - ((CHAINS + (1 << (l - 1)) - 1) >> (l - 1)) + j;
                    wire ci;
                    if (CI < TREE_CI) begin : g_ci
                        assign ci = agree[CHAIN_LANES + CI];
                    end else begin : g_no_ci
                        assign ci = 1'b0;
                    end
                    assign node[j*W +: W] = {1'b0, g_lvl[l-1].node[2*j*(W-1) +: W-1]}
                                          + {1'b0, g_lvl[l-1].node[(2*j+1)*(W-1) +: W-1]}
                                          + {{(W-1){1'b0}}, ci};
                end else begin : g_pass
                    assign node[j*W +: W] = {1'b0, g_lvl[l-1].node[2*j*(W-1) +: W-1]};
                end
            end
        end

        // The root holds the step's count, at most SIMD: its low SC_W bits.
        wire [CHAIN_W+LEVELS-1:0] root = g_lvl[LEVELS].node;
        wire [SC_W-1:0] step_cnt = root[SC_W-1:0];
        if (CHAIN_W + LEVELS > SC_W) begin : g_root_high
            wire unused_root = &{1'b0, root[CHAIN_W+LEVELS-1:SC_W]};
        end

        reg [SC_W-1:0] dot;
        always @(posedge clk) begin
            if (en) begin
                dot <= step_cnt;
            end
        end

        // S3: accumulate; the first column fold restarts the count (every
        // step is a first one when SF = 1).
        wire [CNT_W-1:0] dot_ext;
        if (CNT_W > SC_W) begin : g_extend
            assign dot_ext = {{(CNT_W-SC_W){1'b0}}, dot};
        end else begin : g_same
            assign dot_ext = dot;
        end

        reg [CNT_W-1:0] cnt;
        if (SF > 1) begin : g_acc
            always @(posedge clk) begin
                if (en && s2_valid) begin
                    cnt <= (s2_first ? {CNT_W{1'b0}} : cnt) + dot_ext;
                end
            end
        end else begin : g_no_acc
            wire unused_first = &{1'b0, s2_first};
            always @(posedge clk) begin
                if (en && s2_valid) begin
                    cnt <= dot_ext;
                end
            end
        end

        // S4 (combinational into the output FIFO).
        if (POPCOUNT_OUT != 0) begin : g_count_out
            assign y_word[p*OUT_W +: OUT_W] = cnt;
        end else begin : g_bit_out
            // cnt >= t as the sign of cnt - t on one carry chain: a subtraction
            // keeps cnt as the chain's DI input, so each LUT takes a count bit
            // and the NF_CW row fold bits its threshold bit comes from.
            wire [THRESH_W-1:0] t = s3_thresh[p*THRESH_W +: THRESH_W];
            wire [CMP_W-1:0] diff = {{(CMP_W-CNT_W){1'b0}}, cnt} - {{(CMP_W-THRESH_W){1'b0}}, t};
            assign y_word[p] = ~diff[CMP_W-1];
            wire unused_diff = &{1'b0, diff[CMP_W-2:0]};
        end
    end
endgenerate

endmodule

`resetall
