// hwcomp: sparse matrix-vector unit, y = requant(relu(W x + b)) with only the
// non-zero weights stored and one cycle per stored entry (hwcomp/hw/sparse.py
// encodes the weights and is the golden model; docs/architecture.md, "The
// sparse matrix-vector unit").
//
// PE lanes each walk their own rows' entries (value, delta, last): an entry's
// column is the previous one's + 1 + delta (a row starts at column -1); gaps
// wider than 2^IDX_W - 1 zeros hold padding entries (value 0), an empty row is
// one entry. Columns are buffer columns: input word above clog2(SIMD) bits,
// lane below. Entry line t of WEIGHT_FILE and INDEX_FILE holds every PE's t-th
// entry; a vector takes ENTRIES steps, one per cycle. Each PE computes exactly
// one row of every output word (group of PE rows), so its k-th finished row
// belongs to word k: results wait in a per-PE FIFO, and word k is popped from
// all of them at once, biased, activated and put into channel order by a
// crossbar (MAP_FILE: the PE of each lane).
//
// Processes:
//   load     s_axis words into one of two input banks (each PE has its copy of
//            both), SF words per vector; the next vector loads while this one
//            computes. s_axis_tready: that bank is free (a register).
//   compute  ENTRIES steps over a full bank (it may start in the cycle its last
//            word arrives), advancing on en_c = no result FIFO is full:
//              S0  step counter; entry ROM read
//              S1  entry: column = start ? delta : column + 1 + delta; input buffer read
//              S2  lane select, product, accumulate; a row's last entry pushes
//                  the sum into the PE's result FIFO
//            The bank is freed when S1 has read it for the last step.
//   emit     when every result FIFO holds a word and the output FIFO has room
//            (en_o, its registered tready): pop, bias, ReLU, round, shift,
//            saturate per PE (the dense unit's rules), crossbar, into the
//            2-word output FIFO driving m_axis.
// Cycles per vector at full rate: max(ENTRIES, SF); every PE's NF rows take at
// least one entry each, so the NF output words never limit it. Latency: the
// last output word of a vector can be taken SPARSE_LATENCY = 5 cycles after
// its last step issues. m_axis_tready never reaches s_axis_tready.
//
// Memory layouts (written by hwcomp.backends.verilog):
//   WEIGHT_FILE  ENTRIES lines; PE p's entry value at [p*W_W +: W_W], two's complement
//   INDEX_FILE   ENTRIES lines; PE p's delta at [p*(IDX_W+1) +: IDX_W], its
//                last flag at bit p*(IDX_W+1) + IDX_W
//   MAP_FILE     NF lines; the PE of lane l at [l*PE_IW +: PE_IW], PE_IW = max(1, clog2(PE))
//   BIAS_FILE    NF lines; the bias of PE p's k-th row at [p*ACC_W +: ACC_W]
//   SHIFT_FILE   NF lines (ROW_SHIFT_W > 0 only); the shift of PE p's k-th row
//                at [p*ROW_SHIFT_W +: ROW_SHIFT_W], unsigned, at most ACC_W
// Stream words: input element s at [s*IN_W +: IN_W], output element p (row
// k*PE + p of word k) at [p*OUT_W +: OUT_W].
//
// All arithmetic is modulo 2^ACC_W; the compiler picks ACC_W so the final sum
// never overflows. Saturation compares in ACC_W+1 bits.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module hwcomp_sparse_mvu #(
    parameter integer PE = 2,              // lanes: rows computed in parallel, output elements per word
    parameter integer SIMD = 2,            // input elements per word
    parameter integer NF = 2,              // output words per vector (padded rows / PE)
    parameter integer SF = 2,              // input words per vector
    parameter integer ENTRIES = 2,         // entry steps per vector (ROM lines), >= NF
    parameter integer IN_W = 4,            // input element width
    parameter integer IN_SIGNED = 1,       // 1: inputs are two's complement, 0: unsigned
    parameter integer W_W = 4,             // weight width, two's complement
    parameter integer IDX_W = 2,           // relative index width, >= 1
    parameter integer ACC_W = 16,          // accumulator width, chosen never to overflow
    parameter integer RELU = 0,            // 1: clamp the accumulator at zero
    parameter integer REQUANT = 1,         // 1: round, shift, saturate; 0: output the accumulator
    parameter integer SHIFT = 0,           // right shift, round half up (REQUANT only), <= ACC_W
    parameter [ACC_W:0] OUT_MIN = 0,       // lower saturation bound, two's complement in ACC_W+1 bits
    parameter [ACC_W:0] OUT_MAX = 0,       // upper saturation bound, two's complement in ACC_W+1 bits
    parameter integer OUT_W = 4,           // output element width (equals ACC_W when REQUANT = 0)
    parameter integer RES_AW = 2,          // result FIFO of 2^RES_AW words per PE, 2^RES_AW > NF
    parameter integer ROW_SHIFT_W = 0,     // bits of a row's shift, <= clog2(ACC_W+1); 0: SHIFT for every row
    parameter WEIGHT_FILE = "weights.mem", // $readmemh image of the entry values
    parameter INDEX_FILE = "index.mem",    // $readmemh image of the entry deltas and last flags
    parameter MAP_FILE = "map.mem",        // $readmemh image of the output crossbar
    parameter BIAS_FILE = "bias.mem",      // $readmemh image of the bias ROM (PE order)
    parameter SHIFT_FILE = "shift.mem"     // $readmemh image of the shift ROM (ROW_SHIFT_W > 0)
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
localparam integer ENT_W = IDX_W + 1;
localparam integer X_W = IN_SIGNED != 0 ? IN_W : IN_W + 1;
localparam integer PROD_W = W_W + X_W;
localparam integer RND_W = ACC_W + 1;
// Buffer columns: LOGS lane bits below SF_AW word bits.
localparam integer LOGS = SIMD > 1 ? $clog2(SIMD) : 0;
localparam integer SIMD_P = 1 << LOGS;
localparam integer SF_AW = SF > 1 ? $clog2(SF) : 1;
localparam integer COL_W = LOGS + SF_AW;
localparam integer SUM_W = (COL_W > IDX_W ? COL_W : IDX_W) + 1;
localparam integer BUF_WORDS = 2 << SF_AW;               // two banks
localparam integer E_CW = ENTRIES > 1 ? $clog2(ENTRIES) : 1;
localparam integer NF_CW = NF > 1 ? $clog2(NF) : 1;
localparam integer PE_IW = PE > 1 ? $clog2(PE) : 1;
localparam integer PE_P = 1 << PE_IW;
localparam integer RES_DEPTH = 1 << RES_AW;
localparam integer SH_W = ROW_SHIFT_W > 0 ? ROW_SHIFT_W : 1;
localparam integer SH_WORD_W = PE * SH_W;
localparam integer SF_LAST_I = SF - 1;
localparam integer E_LAST_I = ENTRIES - 1;
localparam integer NF_LAST_I = NF - 1;
localparam [SF_AW-1:0] SF_LAST = SF_LAST_I[SF_AW-1:0];
localparam [E_CW-1:0] E_LAST = E_LAST_I[E_CW-1:0];
localparam [NF_CW-1:0] NF_LAST = NF_LAST_I[NF_CW-1:0];

// ---------------------------------------------------------------- parameter checks
// An illegal value instantiates a module that does not exist, named after the
// rule it breaks: Verilator, Icarus and Yosys (hierarchy -check) all stop at
// elaboration and print that name.
generate
    if (PE < 1) begin : g_check_pe
        hwcomp_sparse_mvu_ILLEGAL_PE_below_1 u_illegal ();
    end
    if (SIMD < 1) begin : g_check_simd
        hwcomp_sparse_mvu_ILLEGAL_SIMD_below_1 u_illegal ();
    end
    if (NF < 1) begin : g_check_nf
        hwcomp_sparse_mvu_ILLEGAL_NF_below_1 u_illegal ();
    end
    if (SF < 1) begin : g_check_sf
        hwcomp_sparse_mvu_ILLEGAL_SF_below_1 u_illegal ();
    end
    if (NF >= 1 && ENTRIES < NF) begin : g_check_entries
        hwcomp_sparse_mvu_ILLEGAL_ENTRIES_below_NF u_illegal ();
    end
    if (IN_W < 1) begin : g_check_in_w
        hwcomp_sparse_mvu_ILLEGAL_IN_W_below_1 u_illegal ();
    end
    if (IN_SIGNED != 0 && IN_SIGNED != 1) begin : g_check_in_signed
        hwcomp_sparse_mvu_ILLEGAL_IN_SIGNED_not_0_or_1 u_illegal ();
    end
    if (W_W < 1) begin : g_check_w_w
        hwcomp_sparse_mvu_ILLEGAL_W_W_below_1 u_illegal ();
    end
    if (IDX_W < 1 || IDX_W > 30) begin : g_check_idx_w
        hwcomp_sparse_mvu_ILLEGAL_IDX_W_outside_1_to_30 u_illegal ();
    end
    if (ACC_W < 1) begin : g_check_acc_w
        hwcomp_sparse_mvu_ILLEGAL_ACC_W_below_1 u_illegal ();
    end
    if (RELU != 0 && RELU != 1) begin : g_check_relu
        hwcomp_sparse_mvu_ILLEGAL_RELU_not_0_or_1 u_illegal ();
    end
    if (REQUANT != 0 && REQUANT != 1) begin : g_check_requant
        hwcomp_sparse_mvu_ILLEGAL_REQUANT_not_0_or_1 u_illegal ();
    end
    if (SHIFT < 0 || SHIFT > ACC_W) begin : g_check_shift
        hwcomp_sparse_mvu_ILLEGAL_SHIFT_outside_0_to_ACC_W u_illegal ();
    end
    if (OUT_W < 1) begin : g_check_out_w
        hwcomp_sparse_mvu_ILLEGAL_OUT_W_below_1 u_illegal ();
    end
    if (RES_AW < 1 || (NF >= 1 && (1 << RES_AW) <= NF)) begin : g_check_res_aw
        // A PE may finish a whole vector's rows before another finishes its first.
        hwcomp_sparse_mvu_ILLEGAL_RES_AW_depth_not_above_NF u_illegal ();
    end
    if (ROW_SHIFT_W < 0 || (ACC_W >= 1 && ROW_SHIFT_W > $clog2(ACC_W + 1))) begin : g_check_row_shift_w
        hwcomp_sparse_mvu_ILLEGAL_ROW_SHIFT_W_outside_0_to_clog2_ACC_W_plus_1 u_illegal ();
    end
    if (ROW_SHIFT_W > 0 && (REQUANT != 1 || SHIFT != 0)) begin : g_check_row_shift_mode
        hwcomp_sparse_mvu_ILLEGAL_ROW_SHIFT_W_without_requant_or_with_SHIFT u_illegal ();
    end
    if (REQUANT == 0 && ACC_W >= 1 && OUT_W >= 1 && OUT_W != ACC_W) begin : g_check_acc_out_w
        hwcomp_sparse_mvu_ILLEGAL_OUT_W_not_ACC_W_without_requant u_illegal ();
    end
    if (REQUANT == 1 && $signed(OUT_MIN) > $signed(OUT_MAX)) begin : g_check_bounds
        hwcomp_sparse_mvu_ILLEGAL_OUT_MIN_above_OUT_MAX u_illegal ();
    end
    // A bound fits OUT_W bits, signed or unsigned: -2^(OUT_W-1) <= bound < 2^OUT_W.
    if (REQUANT == 1 && OUT_W >= 1
            && ($signed(OUT_MIN) >>> (OUT_W - 1)) != -1 && (OUT_MIN >> OUT_W) != 0) begin : g_check_out_min_fit
        hwcomp_sparse_mvu_ILLEGAL_OUT_MIN_does_not_fit_OUT_W u_illegal ();
    end
    if (REQUANT == 1 && OUT_W >= 1
            && ($signed(OUT_MAX) >>> (OUT_W - 1)) != -1 && (OUT_MAX >> OUT_W) != 0) begin : g_check_out_max_fit
        hwcomp_sparse_mvu_ILLEGAL_OUT_MAX_does_not_fit_OUT_W u_illegal ();
    end
endgenerate

// ---------------------------------------------------------------- load
reg [1:0] in_full;                         // bank holds a whole vector not yet computed
reg wb;                                    // bank being loaded
reg [SF_AW-1:0] wcnt;                      // word of the vector being loaded
wire load = s_axis_tvalid && !in_full[wb];
wire load_end = load && wcnt == SF_LAST;

assign s_axis_tready = !in_full[wb];

always @(posedge clk) begin
    if (rst) begin
        wb <= 1'b0;
        wcnt <= {SF_AW{1'b0}};
    end else if (load) begin
        wcnt <= load_end ? {SF_AW{1'b0}} : wcnt + 1'b1;
        if (load_end) begin
            wb <= !wb;
        end
    end
end

// ---------------------------------------------------------------- S0: steps
wire en_c;                                 // the compute pipeline advances
reg cb;                                    // bank being computed
reg [E_CW-1:0] t;                          // entry step
wire t_first = t == {E_CW{1'b0}};
wire t_last = t == E_LAST;
// A bank is ready when full, or in the cycle its last word is written (S1 reads it a cycle later).
wire bank_ready = in_full[cb] || (load_end && wb == cb);
wire fire = en_c && (!t_first || bank_ready);

always @(posedge clk) begin
    if (rst) begin
        t <= {E_CW{1'b0}};
        cb <= 1'b0;
    end else if (fire) begin
        t <= t_last ? {E_CW{1'b0}} : t + 1'b1;
        if (t_last) begin
            cb <= !cb;
        end
    end
end

(* rom_style = "block" *)
reg [PE*W_W-1:0] weight_rom [0:ENTRIES-1];
(* rom_style = "block" *)
reg [PE*ENT_W-1:0] index_rom [0:ENTRIES-1];

initial begin
    $readmemh(WEIGHT_FILE, weight_rom);
    $readmemh(INDEX_FILE, index_rom);
end

reg s1_valid;
reg s1_first;                              // first step of a vector: every PE starts a row
reg s1_end;                                // last step: the bank is read for the last time
reg s1_bank;
reg [PE*W_W-1:0] s1_w;
reg [PE*ENT_W-1:0] s1_i;

always @(posedge clk) begin
    if (rst) begin
        s1_valid <= 1'b0;
    end else if (en_c) begin
        s1_valid <= fire;
    end
end

always @(posedge clk) begin
    if (en_c) begin
        s1_first <= t_first;
        s1_end <= t_last;
        s1_bank <= cb;
        s1_w <= weight_rom[t];
        s1_i <= index_rom[t];
    end
end

// The bank is free once S1 has read it for the vector's last step.
wire bank_free = en_c && s1_valid && s1_end;
wire [1:0] set_full = {load_end && wb, load_end && !wb};
wire [1:0] clr_full = {bank_free && s1_bank, bank_free && !s1_bank};

always @(posedge clk) begin
    if (rst) begin
        in_full <= 2'b00;
    end else begin
        in_full <= (in_full | set_full) & ~clr_full;
    end
end

reg s2_valid;
always @(posedge clk) begin
    if (rst) begin
        s2_valid <= 1'b0;
    end else if (en_c) begin
        s2_valid <= s1_valid;
    end
end

// ---------------------------------------------------------------- emit control
wire en_o;                                 // output FIFO has room: the emit stage advances
wire [PE-1:0] res_full;
wire [PE-1:0] res_nonempty;
wire pop = en_o && (&res_nonempty);
reg [RES_AW:0] rptr;
reg [NF_CW-1:0] k;                         // output word being popped
reg e1_valid;

assign en_c = !(|res_full);

always @(posedge clk) begin
    if (rst) begin
        rptr <= {(RES_AW+1){1'b0}};
        k <= {NF_CW{1'b0}};
        e1_valid <= 1'b0;
    end else if (en_o) begin
        e1_valid <= pop;
        if (pop) begin
            rptr <= rptr + 1'b1;
            k <= k == NF_LAST ? {NF_CW{1'b0}} : k + 1'b1;
        end
    end
end

// Per-output-word ROMs, read with the pop.
reg [PE*PE_IW-1:0] map_rom [0:NF-1];
reg [PE*ACC_W-1:0] bias_rom [0:NF-1];
reg [PE*PE_IW-1:0] e1_map;
reg [PE*ACC_W-1:0] e1_bias;
wire [SH_WORD_W-1:0] e1_shift;

initial begin
    $readmemh(MAP_FILE, map_rom);
    $readmemh(BIAS_FILE, bias_rom);
end

always @(posedge clk) begin
    if (en_o) begin
        e1_map <= map_rom[k];
        e1_bias <= bias_rom[k];
    end
end

generate
    if (ROW_SHIFT_W > 0) begin : g_shift_rom
        reg [SH_WORD_W-1:0] shift_rom [0:NF-1];
        reg [SH_WORD_W-1:0] shift_q;

        initial begin
            $readmemh(SHIFT_FILE, shift_rom);
        end

        always @(posedge clk) begin
            if (en_o) begin
                shift_q <= shift_rom[k];
            end
        end

        assign e1_shift = shift_q;
    end else begin : g_no_shift_rom
        assign e1_shift = {SH_WORD_W{1'b0}};
        wire unused_shift = &{1'b0, e1_shift};
    end
endgenerate

// ---------------------------------------------------------------- lanes
// y_pe[p]: PE p's activated result for word k; the crossbar puts it in its lane.
wire [OUT_W-1:0] y_pe [0:PE_P-1];

genvar p, s;
generate
    for (p = 0; p < PE; p = p + 1) begin : g_pe
        wire [IDX_W-1:0] delta = s1_i[p*ENT_W +: IDX_W];
        wire lst = s1_i[p*ENT_W + IDX_W];
        wire [W_W-1:0] w_bits = s1_w[p*W_W +: W_W];

        // S1: the entry's column; read this PE's copy of the input buffer there.
        reg [COL_W-1:0] col;
        reg prev_last;
        wire row_start = s1_first || prev_last;
        wire [SUM_W-1:0] base = row_start ? {SUM_W{1'b1}} : {{(SUM_W-COL_W){1'b0}}, col};
        wire [SUM_W-1:0] col_sum = base + 1'b1 + {{(SUM_W-IDX_W){1'b0}}, delta};
        wire [COL_W-1:0] col_next = col_sum[COL_W-1:0];
        // Real entries lie below 2^COL_W; the sum's carry is only reached by idle entries.
        wire unused_col_msbs = &{1'b0, col_sum[SUM_W-1:COL_W]};

        always @(posedge clk) begin
            if (en_c && s1_valid) begin
                col <= col_next;
                prev_last <= lst;
            end
        end

        reg [IN_WORD_W-1:0] in_buf [0:BUF_WORDS-1];
        always @(posedge clk) begin
            if (load) begin
                in_buf[{wb, wcnt}] <= s_axis_tdata;
            end
        end

        reg [IN_WORD_W-1:0] s2_word;
        reg [W_W-1:0] s2_w;
        reg s2_last;
        reg s2_start;
        wire [IN_W-1:0] x_raw;

        always @(posedge clk) begin
            if (en_c) begin
                s2_word <= in_buf[{s1_bank, col_next[COL_W-1:LOGS]}];
                s2_w <= w_bits;
                s2_last <= lst;
                s2_start <= row_start;
            end
        end

        if (LOGS > 0) begin : g_lane
            reg [LOGS-1:0] s2_lane;
            wire [IN_W-1:0] lane_x [0:SIMD_P-1];
            always @(posedge clk) begin
                if (en_c) begin
                    s2_lane <= col_next[LOGS-1:0];
                end
            end
            for (s = 0; s < SIMD_P; s = s + 1) begin : g_s
                if (s < SIMD) begin : g_real
                    assign lane_x[s] = s2_word[s*IN_W +: IN_W];
                end else begin : g_hole
                    assign lane_x[s] = {IN_W{1'b0}};   // buffer columns no entry points at
                end
            end
            assign x_raw = lane_x[s2_lane];
        end else begin : g_one_lane
            assign x_raw = s2_word;
        end

        // S2: exact product, accumulated modulo 2^ACC_W.
        wire signed [X_W-1:0] x;
        if (IN_SIGNED != 0) begin : g_signed_x
            assign x = x_raw;
        end else begin : g_unsigned_x
            assign x = {1'b0, x_raw};
        end
        wire signed [W_W-1:0] w = s2_w;
        wire signed [PROD_W-1:0] prod = $signed({{X_W{w[W_W-1]}}, w}) * $signed({{W_W{x[X_W-1]}}, x});
        wire [ACC_W-1:0] term;
        if (ACC_W > PROD_W) begin : g_extend
            assign term = {{(ACC_W-PROD_W){prod[PROD_W-1]}}, prod};
        end else if (ACC_W == PROD_W) begin : g_whole
            assign term = prod;
        end else begin : g_wrap
            assign term = prod[ACC_W-1:0];
            wire unused_prod_msbs = &{1'b0, prod[PROD_W-1:ACC_W]};
        end

        reg [ACC_W-1:0] acc;
        wire [ACC_W-1:0] acc_sum = (s2_start ? {ACC_W{1'b0}} : acc) + term;
        wire push = en_c && s2_valid && s2_last;

        always @(posedge clk) begin
            if (en_c && s2_valid) begin
                acc <= acc_sum;
            end
        end

        // The PE's result FIFO: written at its rows' ends, popped with every other PE's.
        reg [ACC_W-1:0] res [0:RES_DEPTH-1];
        reg [RES_AW:0] wptr;
        wire [RES_AW:0] count = wptr - rptr;
        assign res_full[p] = count[RES_AW];
        assign res_nonempty[p] = count != {(RES_AW+1){1'b0}};

        always @(posedge clk) begin
            if (rst) begin
                wptr <= {(RES_AW+1){1'b0}};
            end else if (push) begin
                wptr <= wptr + 1'b1;
            end
        end

        always @(posedge clk) begin
            if (push) begin
                res[wptr[RES_AW-1:0]] <= acc_sum;
            end
        end

        // Emit: pop, bias, activation (as hwcomp_mvu's output stage).
        reg [ACC_W-1:0] e1_acc;
        always @(posedge clk) begin
            if (en_o) begin
                e1_acc <= res[rptr[RES_AW-1:0]];
            end
        end

        wire [ACC_W-1:0] biased = e1_acc + e1_bias[p*ACC_W +: ACC_W];
        wire [ACC_W-1:0] act;
        if (RELU != 0) begin : g_relu
            assign act = biased[ACC_W-1] ? {ACC_W{1'b0}} : biased;
        end else begin : g_no_relu
            assign act = biased;
        end

        if (REQUANT != 0) begin : g_requant
            wire signed [RND_W-1:0] wide = {act[ACC_W-1], act};
            wire signed [RND_W-1:0] rounded;
            wire signed [RND_W-1:0] lo = OUT_MIN;
            wire signed [RND_W-1:0] hi = OUT_MAX;
            wire signed [RND_W-1:0] sat;

            if (ROW_SHIFT_W > 0) begin : g_row_shift
                // This row's shift sh <= ACC_W: add 2^(sh-1) (nothing when sh = 0), shift.
                localparam [SH_W-1:0] SH_ONE = {{(SH_W-1){1'b0}}, 1'b1};
                wire [SH_W-1:0] sh = e1_shift[p*SH_W +: SH_W];
                wire [RND_W-1:0] half = {{(RND_W-1){1'b0}}, sh != {SH_W{1'b0}}} << (sh - SH_ONE);
                wire signed [RND_W-1:0] rbias = wide + $signed(half);
                assign rounded = rbias >>> sh;
            end else if (SHIFT > 0) begin : g_shift
                localparam [RND_W-1:0] HALF = {{(RND_W-1){1'b0}}, 1'b1} << (SHIFT - 1);
                wire signed [RND_W-1:0] rbias = wide + HALF;
                assign rounded = rbias >>> SHIFT;
            end else begin : g_no_shift
                assign rounded = wide;
            end

            assign sat = rounded < lo ? lo : (rounded > hi ? hi : rounded);

            // The bounds fit OUT_W bits, so dropping or copying sign bits is exact.
            if (OUT_W < RND_W) begin : g_narrow
                assign y_pe[p] = sat[OUT_W-1:0];
                wire unused_sat_msbs = &{1'b0, sat[RND_W-1:OUT_W]};
            end else if (OUT_W == RND_W) begin : g_same
                assign y_pe[p] = sat;
            end else begin : g_wide
                assign y_pe[p] = {{(OUT_W-RND_W){sat[RND_W-1]}}, sat};
            end
        end else begin : g_acc_out
            assign y_pe[p] = act;
        end
    end

    for (p = PE; p < PE_P; p = p + 1) begin : g_no_pe
        assign y_pe[p] = {OUT_W{1'b0}};    // crossbar inputs no lane selects
    end
endgenerate

// Crossbar: lane l of word k takes the PE MAP_FILE names.
wire [OUT_WORD_W-1:0] y_word;
generate
    for (p = 0; p < PE; p = p + 1) begin : g_lane_out
        assign y_word[p*OUT_W +: OUT_W] = y_pe[e1_map[p*PE_IW +: PE_IW]];
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
    .s_axis_tvalid(e1_valid),
    .s_axis_tready(en_o),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready)
);

endmodule

`resetall
