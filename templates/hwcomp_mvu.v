// hwcomp: folded matrix-vector unit, y = requant(relu(W x + b)), or with
// THRESH_K > 0 the threshold activation
//   y[r] = OUT_BASE + #{k : (acc[r] >= T[r][k]) XOR desc[r]},  acc = W x + b.
// W_BIPOLAR = 1 stores 1-bit weights meaning -1 / +1 (1 = +1); the datapath
// multiplies them as 2-bit signed values, and masks the padded columns
// COLS..SF*SIMD-1 of the last column fold to 0 (docs/numerics.md).
// ROW_SHIFT_W > 0 requantizes each row by its own shift, read from SHIFT_FILE,
// instead of SHIFT (weights with a format per row).
// CB_W > 0 shares the weights (Deep Compression): the weight ROM holds CB_W-bit
// indices into a codebook of 2^CB_W W_W-bit weights (CODEBOOK_FILE), looked up
// per lane in S1 before the multiply; the schedule and the latency are the same.
//
// Folding: PE rows and SIMD columns per cycle. A vector takes NF*SF steps
// (row fold nf outer, column fold sf inner), one per cycle, with no bubbles
// between vectors. During row fold 0 each step takes an input word from
// s_axis and stores it in the input buffer; later row folds replay the buffer.
// That schedule (steps, weight ROM, input buffer, pipeline control, output
// FIFO) is hwcomp_mvu_fold, shared with hwcomp_xnor_mvu; this module adds the
// lanes and the bias and threshold ROMs.
//
// Pipeline (every stage advances together on `en`); the register stages the
// clock needs are chosen by the compiler (hwcomp/hw/pipeline.py):
//   S0  step counters; issue ROM / buffer reads, accept the input word
//   S1  weight word and input word registered; OP_REG = 1 registers them
//       once more (S1b: the block RAM's clock-to-output ends in a flip-flop),
//       OP_REG = 2 twice (operands crossing the die to their multipliers)
//   ..  per PE lane: the SIMD products (registered PROD_REG times), summed by a
//       balanced adder tree with a register after every TREE_LEVELS levels
//   S2  per PE lane: the tree's sum (dot) registered
//   S3  per PE lane: accumulator; bias enters on the first column fold
//   S4  activation (ReLU, round, shift, saturate; or the threshold count),
//       registered if ACT_REG, written into a 2-word output FIFO, which
//       drives m_axis.
// The bias, threshold and shift ROMs are read with the row fold index carried
// along beside the lanes, so their words meet the accumulators and add no
// latency.
// `en` is the output FIFO's tready, decoded from its count register only: the
// pipeline stalls only while that FIFO is full, and m_axis_tready never
// reaches s_axis_tready combinationally. Latency: a row fold's output word
// can be taken 4 + OP_REG + PROD_REG + TREE_REGS + ACT_REG cycles after its
// last step fires, TREE_REGS = (clog2(SIMD) - 1) / TREE_LEVELS (0 for SIMD 1).
//
// Memory layouts (written by hwcomp.backends.verilog):
//   WEIGHT_FILE  NF*SF lines, line nf*SF+sf; weight W[nf*PE+p][sf*SIMD+s] at
//                bits [(p*SIMD+s)*W_W +: W_W] (two's complement; with
//                W_BIPOLAR one bit, 1 = +1, 0 = -1); with CB_W > 0 its
//                codebook index at bits [(p*SIMD+s)*CB_W +: CB_W] (unsigned)
//   CODEBOOK_FILE  2^CB_W lines (CB_W > 0 only); line i the weight of index i,
//                W_W bits, two's complement
//   BIAS_FILE    NF lines; bias b[nf*PE+p] at bits [p*ACC_W +: ACC_W]
//   THRESH_FILE  NF lines (THRESH_K > 0 only); for row r = nf*PE+p, threshold
//                T[r][k] at bits [(p*THRESH_K+k)*THR_W +: THR_W], THR_W =
//                ACC_W+1, two's complement, clamped to [-2^(ACC_W-1), 2^(ACC_W-1)]
//                (exact: every accumulator lies inside); the descending bit of
//                row r at bit PE*THRESH_K*THR_W + p.
//   SHIFT_FILE   NF lines (ROW_SHIFT_W > 0 only); the shift of row nf*PE+p at
//                bits [p*ROW_SHIFT_W +: ROW_SHIFT_W], unsigned, at most ACC_W
//                (the compiler checks: a ROM holds data, not parameters).
// Stream words: input element s at [s*IN_W +: IN_W], output element p at
// [p*OUT_W +: OUT_W].
//
// All arithmetic is modulo 2^ACC_W; the compiler picks ACC_W so the final
// sum never overflows, which makes every intermediate wrap harmless.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module hwcomp_mvu #(
    parameter integer PE = 2,              // output lanes: rows computed in parallel
    parameter integer SIMD = 2,            // input lanes: columns consumed per step
    parameter integer NF = 2,              // row folds: padded rows / PE
    parameter integer SF = 2,              // column folds: padded columns / SIMD
    parameter integer IN_W = 4,            // input element width
    parameter integer IN_SIGNED = 1,       // 1: inputs are two's complement, 0: unsigned
    parameter integer W_W = 4,             // weight width, two's complement
    parameter integer ACC_W = 16,          // accumulator width, chosen never to overflow
    parameter integer RELU = 0,            // 1: clamp the accumulator at zero
    parameter integer REQUANT = 1,         // 1: round, shift, saturate; 0: output the accumulator
    parameter integer SHIFT = 0,           // right shift, round half up (REQUANT only), <= ACC_W
    parameter [ACC_W:0] OUT_MIN = 0,       // lower saturation bound, two's complement in ACC_W+1 bits
    parameter [ACC_W:0] OUT_MAX = 0,       // upper saturation bound, two's complement in ACC_W+1 bits
    parameter integer OUT_W = 4,           // output element width (equals ACC_W when REQUANT = 0)
    parameter WEIGHT_FILE = "weights.mem", // $readmemh image of the weight ROM
    parameter BIAS_FILE = "bias.mem",      // $readmemh image of the bias ROM
    parameter integer W_BIPOLAR = 0,       // 1: 1-bit weights (W_W = 1), 1 = +1, 0 = -1
    parameter integer COLS = SF * SIMD,    // valid columns, > (SF-1)*SIMD (W_BIPOLAR only: the rest count 0)
    parameter integer THRESH_K = 0,        // thresholds per row; 0: ReLU / requant path
    parameter integer OUT_BASE = 0,        // signed output code below every threshold (THRESH_K > 0)
    parameter THRESH_FILE = "thresh.mem",  // $readmemh image of the threshold ROM (THRESH_K > 0)
    parameter integer ROW_SHIFT_W = 0,     // bits of a row's shift, <= clog2(ACC_W+1); 0: SHIFT for every row
    parameter SHIFT_FILE = "shift.mem",    // $readmemh image of the shift ROM (ROW_SHIFT_W > 0)
    parameter integer CB_W = 0,            // bits of a weight's codebook index, <= 8; 0: the ROM holds weights
    parameter CODEBOOK_FILE = "codebook.mem", // $readmemh image of the codebook (CB_W > 0)
    parameter integer OP_REG = 0,          // 1, 2: register the weight and input words once or twice more (S1b)
    parameter integer PROD_REG = 0,        // 1, 2: register the products once or twice
    parameter integer TREE_LEVELS = 8,     // adder tree levels per register stage, >= 1
    parameter integer ACT_REG = 0,         // 1: register the activation before the output FIFO
    parameter integer MUL_DSP18 = 0        // 1: a product fits one 18x18 DSP slice (hwcomp_mul.v)
) (
    input  wire                  clk,
    input  wire                  rst,      // synchronous, active high

    input  wire [SIMD*IN_W-1:0]  s_axis_tdata,
    input  wire                  s_axis_tvalid,
    output wire                  s_axis_tready,

    output wire [PE*OUT_W-1:0]   m_axis_tdata,
    output wire                  m_axis_tvalid,
    input  wire                  m_axis_tready
);

localparam integer IN_WORD_W = SIMD * IN_W;
localparam integer OUT_WORD_W = PE * OUT_W;
// Bits per weight in the weight ROM: the weight itself, or its codebook index.
localparam integer WI_W = CB_W > 0 ? CB_W : W_W;
localparam integer W_WORD_W = PE * SIMD * WI_W;
localparam integer B_WORD_W = PE * ACC_W;
// Inputs as signed values: unsigned ones gain a zero sign bit.
localparam integer X_W = IN_SIGNED != 0 ? IN_W : IN_W + 1;
// Weights as signed values: a bipolar bit becomes -1, 0 or +1 in two bits.
localparam integer WV_W = W_BIPOLAR != 0 ? 2 : W_W;
localparam integer PROD_W = WV_W + X_W;
// Valid lanes of the last column fold, 1..SIMD (W_BIPOLAR masks the others).
localparam integer LAST_COLS = COLS - (SF - 1) * SIMD;
// Thresholds are compared in ACC_W+1 bits, which hold 2^(ACC_W-1) ("never").
localparam integer THR_W = ACC_W + 1;
localparam integer T_WORD_W = THRESH_K > 0 ? PE * THRESH_K * THR_W + PE : 1;
localparam integer CNT_W = $clog2(THRESH_K + 1);     // threshold count, 0..THRESH_K
// Rounding adds up to 2^(SHIFT-1) <= 2^(ACC_W-1): one more bit holds it.
localparam integer RND_W = ACC_W + 1;
localparam integer NF_CW = NF > 1 ? $clog2(NF) : 1;
localparam integer SH_WORD_W = ROW_SHIFT_W > 0 ? PE * ROW_SHIFT_W : 1;
localparam integer SH_W = ROW_SHIFT_W > 0 ? ROW_SHIFT_W : 1;
// Adder tree (hwcomp_add_tree): LEVELS levels halve the SIMD terms of TERM_W
// bits (modulo 2^ACC_W is enough when the product is wider).
localparam integer LEVELS = $clog2(SIMD);
localparam integer TERM_W = PROD_W < ACC_W ? PROD_W : ACC_W;
localparam integer TREE_REGS = LEVELS > 0 && TREE_LEVELS > 0 ? (LEVELS - 1) / TREE_LEVELS : 0;
localparam integer LANE_DELAY = PROD_REG + TREE_REGS;
// With S1b, one copy of the input word register per PE lane (fan-out SIMD each).
localparam integer X_COPIES = OP_REG != 0 ? PE : 1;
// Stages from S0 to the accumulators' input (S2), which the row fold index travels.
localparam integer TO_S2 = 2 + OP_REG + LANE_DELAY;

// ---------------------------------------------------------------- parameter checks
// An illegal value instantiates a module that does not exist, named after the
// rule it breaks: Verilator, Icarus and Yosys (hierarchy -check) all stop at
// elaboration and print that name.
generate
    if (PE < 1) begin : g_check_pe
        hwcomp_mvu_ILLEGAL_PE_below_1 u_illegal ();
    end
    if (SIMD < 1) begin : g_check_simd
        hwcomp_mvu_ILLEGAL_SIMD_below_1 u_illegal ();
    end
    if (NF < 1) begin : g_check_nf
        hwcomp_mvu_ILLEGAL_NF_below_1 u_illegal ();
    end
    if (SF < 1) begin : g_check_sf
        hwcomp_mvu_ILLEGAL_SF_below_1 u_illegal ();
    end
    if (IN_W < 1) begin : g_check_in_w
        hwcomp_mvu_ILLEGAL_IN_W_below_1 u_illegal ();
    end
    if (IN_SIGNED != 0 && IN_SIGNED != 1) begin : g_check_in_signed
        hwcomp_mvu_ILLEGAL_IN_SIGNED_not_0_or_1 u_illegal ();
    end
    if (W_W < 1) begin : g_check_w_w
        hwcomp_mvu_ILLEGAL_W_W_below_1 u_illegal ();
    end
    if (ACC_W < 1) begin : g_check_acc_w
        hwcomp_mvu_ILLEGAL_ACC_W_below_1 u_illegal ();
    end
    if (RELU != 0 && RELU != 1) begin : g_check_relu
        hwcomp_mvu_ILLEGAL_RELU_not_0_or_1 u_illegal ();
    end
    if (REQUANT != 0 && REQUANT != 1) begin : g_check_requant
        hwcomp_mvu_ILLEGAL_REQUANT_not_0_or_1 u_illegal ();
    end
    if (SHIFT < 0 || SHIFT > ACC_W) begin : g_check_shift
        hwcomp_mvu_ILLEGAL_SHIFT_outside_0_to_ACC_W u_illegal ();
    end
    if (OUT_W < 1) begin : g_check_out_w
        hwcomp_mvu_ILLEGAL_OUT_W_below_1 u_illegal ();
    end
    if (W_BIPOLAR != 0 && W_BIPOLAR != 1) begin : g_check_w_bipolar
        hwcomp_mvu_ILLEGAL_W_BIPOLAR_not_0_or_1 u_illegal ();
    end
    if (W_BIPOLAR == 1 && W_W > 1) begin : g_check_bipolar_w
        hwcomp_mvu_ILLEGAL_W_W_not_1_for_bipolar u_illegal ();
    end
    if (SF >= 1 && SIMD >= 1 && (COLS <= (SF - 1) * SIMD || COLS > SF * SIMD)) begin : g_check_cols
        hwcomp_mvu_ILLEGAL_COLS_outside_last_column_fold u_illegal ();
    end
    if (THRESH_K < 0) begin : g_check_thresh_k
        hwcomp_mvu_ILLEGAL_THRESH_K_below_0 u_illegal ();
    end
    if (ROW_SHIFT_W < 0 || (ACC_W >= 1 && ROW_SHIFT_W > $clog2(ACC_W + 1))) begin : g_check_row_shift_w
        hwcomp_mvu_ILLEGAL_ROW_SHIFT_W_outside_0_to_clog2_ACC_W_plus_1 u_illegal ();
    end
    if (ROW_SHIFT_W > 0 && (REQUANT != 1 || THRESH_K != 0 || SHIFT != 0)) begin : g_check_row_shift_mode
        hwcomp_mvu_ILLEGAL_ROW_SHIFT_W_without_requant_or_with_SHIFT u_illegal ();
    end
    if (CB_W < 0 || CB_W > 8) begin : g_check_cb_w
        hwcomp_mvu_ILLEGAL_CB_W_outside_0_to_8 u_illegal ();
    end
    if (CB_W > 0 && W_BIPOLAR != 0) begin : g_check_cb_bipolar
        hwcomp_mvu_ILLEGAL_CB_W_with_W_BIPOLAR u_illegal ();
    end
    if (OP_REG < 0 || OP_REG > 2) begin : g_check_op_reg
        hwcomp_mvu_ILLEGAL_OP_REG_outside_0_to_2 u_illegal ();
    end
    if (PROD_REG < 0 || PROD_REG > 2) begin : g_check_prod_reg
        hwcomp_mvu_ILLEGAL_PROD_REG_outside_0_to_2 u_illegal ();
    end
    if (TREE_LEVELS < 1) begin : g_check_tree_levels
        hwcomp_mvu_ILLEGAL_TREE_LEVELS_below_1 u_illegal ();
    end
    if (ACT_REG != 0 && ACT_REG != 1) begin : g_check_act_reg
        hwcomp_mvu_ILLEGAL_ACT_REG_not_0_or_1 u_illegal ();
    end
    if (THRESH_K == 0 && REQUANT == 0 && ACC_W >= 1 && OUT_W >= 1 && OUT_W != ACC_W) begin : g_check_acc_out_w
        hwcomp_mvu_ILLEGAL_OUT_W_not_ACC_W_without_requant u_illegal ();
    end
    if (THRESH_K == 0 && REQUANT == 1 && $signed(OUT_MIN) > $signed(OUT_MAX)) begin : g_check_bounds
        hwcomp_mvu_ILLEGAL_OUT_MIN_above_OUT_MAX u_illegal ();
    end
    // A bound fits OUT_W bits, signed or unsigned: -2^(OUT_W-1) <= bound < 2^OUT_W.
    if (THRESH_K == 0 && REQUANT == 1 && OUT_W >= 1
            && ($signed(OUT_MIN) >>> (OUT_W - 1)) != -1 && (OUT_MIN >> OUT_W) != 0) begin : g_check_out_min_fit
        hwcomp_mvu_ILLEGAL_OUT_MIN_does_not_fit_OUT_W u_illegal ();
    end
    if (THRESH_K == 0 && REQUANT == 1 && OUT_W >= 1
            && ($signed(OUT_MAX) >>> (OUT_W - 1)) != -1 && (OUT_MAX >> OUT_W) != 0) begin : g_check_out_max_fit
        hwcomp_mvu_ILLEGAL_OUT_MAX_does_not_fit_OUT_W u_illegal ();
    end
endgenerate

// ---------------------------------------------------------------- S0, S1: schedule
// Steps, weight ROM, input buffer, pipeline control and the output FIFO.
wire en;                                   // pipeline advances this cycle
wire [NF_CW-1:0] nf;                       // row fold of the step issued in S0
wire [W_WORD_W-1:0] s1_weights;
wire [X_COPIES*IN_WORD_W-1:0] s1_x;        // the input word this step multiplies, per copy
wire s1_last;                              // last column fold (masks bipolar padding)
wire s2_valid;
wire s2_first;                             // first column fold: load the bias
wire s2_last;
wire [OUT_WORD_W-1:0] y_word;
wire [OUT_WORD_W-1:0] act_word;            // S4: the activation of the accumulators

hwcomp_mvu_fold #(
    .NF(NF),
    .SF(SF),
    .IN_WORD_W(IN_WORD_W),
    .W_WORD_W(W_WORD_W),
    .OUT_WORD_W(OUT_WORD_W),
    .OP_REG(OP_REG),
    .X_COPIES(X_COPIES),
    .LANE_DELAY(LANE_DELAY),
    .OUT_DELAY(ACT_REG),
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

// s2_last is only the schedule's; s1_last is read by padded bipolar lanes only.
wire unused_fold = &{1'b0, s1_last, s2_last};

// ---------------------------------------------------------------- row fold index
// nf_d[k]: the row fold index k stages after S0 (nf_d[0] = nf), carried to S2.
wire [(TO_S2+1)*NF_CW-1:0] nf_d;
assign nf_d[NF_CW-1:0] = nf;

genvar d;
generate
    for (d = 1; d <= TO_S2; d = d + 1) begin : g_nf_d
        reg [NF_CW-1:0] q;
        always @(posedge clk) begin
            if (en) begin
                q <= nf_d[(d-1)*NF_CW +: NF_CW];
            end
        end
        assign nf_d[d*NF_CW +: NF_CW] = q;
    end
endgenerate

// ---------------------------------------------------------------- bias
// Left to the tool: a few words, usually best as LUTs (Yosys cannot map a
// ROM onto LUTRAM, so "distributed" would fail there). Read one stage before
// S2 so the word meets the first column fold's dot.
reg [B_WORD_W-1:0] bias_rom [0:NF-1];
reg [B_WORD_W-1:0] s2_bias;

initial begin
    $readmemh(BIAS_FILE, bias_rom);
end

always @(posedge clk) begin
    if (en) begin
        s2_bias <= bias_rom[nf_d[(TO_S2-1)*NF_CW +: NF_CW]];
    end
end

// ---------------------------------------------------------------- thresholds, shifts
// The threshold or shift word of the row fold whose accumulators S3 holds: the
// ROM is read with the row fold index of S2, so the registered word and the
// accumulators change together and the latency stays as without.
wire [T_WORD_W-1:0] s3_thresh;
wire [SH_WORD_W-1:0] s3_shift;
wire [NF_CW-1:0] s2_nf = nf_d[TO_S2*NF_CW +: NF_CW];
// Without threshold and shift ROMs the index of S2 is not read (Yosys drops its registers).
wire unused_s2_nf = &{1'b0, s2_nf};

generate
    if (THRESH_K > 0) begin : g_thresh_rom
        reg [T_WORD_W-1:0] thresh_rom [0:NF-1];
        reg [T_WORD_W-1:0] thresh_q;

        initial begin
            $readmemh(THRESH_FILE, thresh_rom);
        end

        always @(posedge clk) begin
            if (en) begin
                thresh_q <= thresh_rom[s2_nf];
            end
        end

        assign s3_thresh = thresh_q;
    end else begin : g_no_thresh_rom
        assign s3_thresh = 1'b0;
        wire unused_thresh = &{1'b0, s3_thresh};
    end

    if (ROW_SHIFT_W > 0) begin : g_shift_rom
        reg [SH_WORD_W-1:0] shift_rom [0:NF-1];
        reg [SH_WORD_W-1:0] shift_q;

        initial begin
            $readmemh(SHIFT_FILE, shift_rom);
        end

        always @(posedge clk) begin
            if (en) begin
                shift_q <= shift_rom[s2_nf];
            end
        end

        assign s3_shift = shift_q;
    end else begin : g_no_shift_rom
        assign s3_shift = 1'b0;
        wire unused_shift = &{1'b0, s3_shift};
    end
endgenerate

// ---------------------------------------------------------------- lanes

genvar p, s, k;
generate
    for (p = 0; p < PE; p = p + 1) begin : g_pe
        // Products of this row with the input word, as TERM_W-bit terms,
        // summed by a balanced adder tree (registers every TREE_LEVELS levels).
        wire [SIMD*TERM_W-1:0] terms;

        for (s = 0; s < SIMD; s = s + 1) begin : g_simd
            wire [W_W-1:0] w_bits;
            wire signed [WV_W-1:0] w;
            wire [IN_W-1:0] x_raw = s1_x[((p % X_COPIES)*SIMD+s)*IN_W +: IN_W];
            wire signed [X_W-1:0] x;
            wire signed [PROD_W-1:0] prod;
            wire [TERM_W-1:0] term;

            if (CB_W > 0) begin : g_codebook_w
                // The lane's copy of the codebook: a 2^CB_W-word ROM, read without a clock.
                reg [W_W-1:0] codebook [0:(1<<CB_W)-1];
                initial begin
                    $readmemh(CODEBOOK_FILE, codebook);
                end
                assign w_bits = codebook[s1_weights[(p*SIMD+s)*CB_W +: CB_W]];
            end else begin : g_rom_w
                assign w_bits = s1_weights[(p*SIMD+s)*W_W +: W_W];
            end

            if (W_BIPOLAR == 0) begin : g_twos_w
                assign w = w_bits;
            end else if (s < LAST_COLS) begin : g_bipolar_w
                assign w = w_bits[0] ? 2'sb01 : 2'sb11;
            end else begin : g_bipolar_pad_w
                // A padded column in the last column fold counts 0.
                assign w = s1_last ? 2'sb00 : (w_bits[0] ? 2'sb01 : 2'sb11);
            end

            if (IN_SIGNED != 0) begin : g_signed_x
                assign x = x_raw;
            end else begin : g_unsigned_x
                assign x = {1'b0, x_raw};
            end

            // Exact product, registered here when PROD_REG >= 1 (on ECP5 in the
            // DSP slice's own output register: hwcomp_mul.v).
            hwcomp_mul #(
                .A_W(WV_W),
                .B_W(X_W),
                .OUT_REG(PROD_REG >= 1 ? 1 : 0),
                .DSP18(MUL_DSP18)
            ) u_mul (
                .clk(clk),
                .en(en),
                .a(w),
                .b(x),
                .p(prod)
            );

            if (ACC_W >= PROD_W) begin : g_whole
                assign term = prod;
            end else begin : g_wrap
                // Modulo 2^ACC_W is enough: the final sum fits in ACC_W bits.
                assign term = prod[ACC_W-1:0];
                wire unused_prod_msbs = &{1'b0, prod[PROD_W-1:ACC_W]};
            end

            // The second PROD_REG register sits beside the tree when the
            // multiplier and the tree lie far apart.
            wire [TERM_W-1:0] node;
            if (PROD_REG == 2) begin : g_prod_reg2
                reg [TERM_W-1:0] q2;
                always @(posedge clk) begin
                    if (en) begin
                        q2 <= term;
                    end
                end
                assign node = q2;
            end else begin : g_prod_once
                assign node = term;
            end

            assign terms[s*TERM_W +: TERM_W] = node;
        end

        wire [ACC_W-1:0] dot_sum;
        hwcomp_add_tree #(
            .N(SIMD),
            .IN_W(TERM_W),
            .ACC_W(ACC_W),
            .TREE_LEVELS(TREE_LEVELS)
        ) u_tree (
            .clk(clk),
            .en(en),
            .terms(terms),
            .sum(dot_sum)
        );

        reg [ACC_W-1:0] dot;
        always @(posedge clk) begin
            if (en) begin
                dot <= dot_sum;
            end
        end

        // S3: accumulate; the bias seeds the first column fold.
        reg [ACC_W-1:0] acc;
        always @(posedge clk) begin
            if (en && s2_valid) begin
                acc <= (s2_first ? s2_bias[p*ACC_W +: ACC_W] : acc) + dot;
            end
        end

        // S4: ReLU, requantize; or thresholds (into act_word).
        wire [ACC_W-1:0] act;
        if (RELU != 0) begin : g_relu
            assign act = acc[ACC_W-1] ? {ACC_W{1'b0}} : acc;
        end else begin : g_no_relu
            assign act = acc;
        end

        if (THRESH_K > 0) begin : g_thresh
            // Count the thresholds passed (each flipped on a descending row), add OUT_BASE.
            localparam integer ONE_I = 1;
            localparam [CNT_W-1:0] ONE = ONE_I[CNT_W-1:0];
            wire signed [THR_W-1:0] v = {act[ACC_W-1], act};
            wire desc = s3_thresh[PE*THRESH_K*THR_W + p];
            wire [THRESH_K-1:0] hit;
            for (k = 0; k < THRESH_K; k = k + 1) begin : g_k
                wire signed [THR_W-1:0] t = s3_thresh[(p*THRESH_K+k)*THR_W +: THR_W];
                assign hit[k] = (v >= t) ^ desc;
            end

            reg [CNT_W-1:0] cnt;
            integer j;
            always @* begin
                cnt = {CNT_W{1'b0}};
                for (j = 0; j < THRESH_K; j = j + 1) begin
                    cnt = cnt + (hit[j] ? ONE : {CNT_W{1'b0}});
                end
            end

            // OUT_BASE + cnt in 32 bits; the codes fit OUT_W bits, so the slice is exact.
            wire [31:0] code = OUT_BASE + {{(32-CNT_W){1'b0}}, cnt};
            if (OUT_W < 32) begin : g_narrow
                assign act_word[p*OUT_W +: OUT_W] = code[OUT_W-1:0];
                wire unused_code_msbs = &{1'b0, code[31:OUT_W]};
            end else if (OUT_W == 32) begin : g_same
                assign act_word[p*OUT_W +: OUT_W] = code;
            end else begin : g_wide
                assign act_word[p*OUT_W +: OUT_W] = {{(OUT_W-32){code[31]}}, code};
            end
        end else if (REQUANT != 0) begin : g_requant
            wire signed [RND_W-1:0] wide = {act[ACC_W-1], act};
            wire signed [RND_W-1:0] rounded;
            wire signed [RND_W-1:0] lo = OUT_MIN;
            wire signed [RND_W-1:0] hi = OUT_MAX;
            wire signed [RND_W-1:0] sat;

            if (ROW_SHIFT_W > 0) begin : g_row_shift
                // This row's shift sh <= ACC_W: add 2^(sh-1) (nothing when sh = 0), shift.
                localparam [SH_W-1:0] SH_ONE = {{(SH_W-1){1'b0}}, 1'b1};
                wire [SH_W-1:0] sh = s3_shift[p*SH_W +: SH_W];
                wire [RND_W-1:0] half = {{(RND_W-1){1'b0}}, sh != {SH_W{1'b0}}} << (sh - SH_ONE);
                wire signed [RND_W-1:0] biased = wide + $signed(half);
                assign rounded = biased >>> sh;
            end else if (SHIFT > 0) begin : g_shift
                localparam [RND_W-1:0] HALF = {{(RND_W-1){1'b0}}, 1'b1} << (SHIFT - 1);
                wire signed [RND_W-1:0] biased = wide + HALF;
                assign rounded = biased >>> SHIFT;
            end else begin : g_no_shift
                assign rounded = wide;
            end

            assign sat = rounded < lo ? lo : (rounded > hi ? hi : rounded);

            // The bounds fit OUT_W bits, so dropping or copying sign bits is exact.
            if (OUT_W < RND_W) begin : g_narrow
                assign act_word[p*OUT_W +: OUT_W] = sat[OUT_W-1:0];
                wire unused_sat_msbs = &{1'b0, sat[RND_W-1:OUT_W]};
            end else if (OUT_W == RND_W) begin : g_same
                assign act_word[p*OUT_W +: OUT_W] = sat;
            end else begin : g_wide
                assign act_word[p*OUT_W +: OUT_W] = {{(OUT_W-RND_W){sat[RND_W-1]}}, sat};
            end
        end else begin : g_acc_out
            assign act_word[p*OUT_W +: OUT_W] = act;
        end
    end
endgenerate

// ---------------------------------------------------------------- activation register
generate
    if (ACT_REG != 0) begin : g_act_reg
        reg [OUT_WORD_W-1:0] q;
        always @(posedge clk) begin
            if (en) begin
                q <= act_word;
            end
        end
        assign y_word = q;
    end else begin : g_act_comb
        assign y_word = act_word;
    end
endgenerate

endmodule

`resetall
