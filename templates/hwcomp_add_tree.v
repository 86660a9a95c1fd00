// hwcomp: balanced adder tree of N signed terms. Level l (1..LEVELS,
// LEVELS = clog2(N)) adds neighbouring pairs of level l-1 (an odd last node
// passes on), ceil(N/2^l) nodes of min(IN_W + l, ACC_W) bits: exact up to
// ACC_W; beyond, the sum wraps modulo 2^ACC_W, which the unit allows (its
// final sum fits ACC_W bits). Each level is its own signal (g_lvl[l].v), so
// no tool sees a false combinational loop.
//
// Without any register (REGS = 0) the tree is written as one running sum.
// Pipeline: a register after every TREE_LEVELS levels (level l registered
// when l % TREE_LEVELS == 0), except after the last level, which the
// instantiating unit registers. The registers advance on `en`. Latency:
// (LEVELS - 1) / TREE_LEVELS cycles (0 when N = 1).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module hwcomp_add_tree #(
    parameter integer N = 4,               // terms
    parameter integer IN_W = 8,            // bits per term, two's complement
    parameter integer ACC_W = 16,          // width of the sum, >= IN_W
    parameter integer TREE_LEVELS = 1      // levels per register stage, >= 1
) (
    input  wire               clk,
    input  wire               en,          // the pipeline advances
    input  wire [N*IN_W-1:0]  terms,       // term i at [i*IN_W +: IN_W]
    output wire [ACC_W-1:0]   sum          // their sum, sign-extended to ACC_W bits
);

localparam integer LEVELS = N > 1 ? $clog2(N) : 0;
localparam integer TOP_W = IN_W + LEVELS < ACC_W ? IN_W + LEVELS : ACC_W;
localparam integer TL = TREE_LEVELS > 0 ? TREE_LEVELS : 1;   // < 1 reaches its check, not a division by zero
localparam integer REGS = LEVELS > 0 ? (LEVELS - 1) / TL : 0;

// ---------------------------------------------------------------- parameter checks
// An illegal value instantiates a module that does not exist, named after the
// rule it breaks: Verilator, Icarus and Yosys (hierarchy -check) all stop at
// elaboration and print that name.
generate
    if (N < 1) begin : g_check_n
        hwcomp_add_tree_ILLEGAL_N_below_1 u_illegal ();
    end
    if (IN_W < 1 || IN_W > ACC_W) begin : g_check_in_w
        hwcomp_add_tree_ILLEGAL_IN_W_outside_1_to_ACC_W u_illegal ();
    end
    if (TREE_LEVELS < 1) begin : g_check_tree_levels
        hwcomp_add_tree_ILLEGAL_TREE_LEVELS_below_1 u_illegal ();
    end
endgenerate

genvar l, i;
generate
  if (REGS == 0) begin : g_flat
    // No register inside: one sum of all terms in ACC_W bits, which synthesis
    // may fold into multiplier cascades (DSP48 post-adders) like a dot product.
    wire [N*ACC_W-1:0] ext;                // the terms sign-extended to ACC_W bits
    for (i = 0; i < N; i = i + 1) begin : g_ext
        if (ACC_W > IN_W) begin : g_wide
            assign ext[i*ACC_W +: ACC_W] = {{(ACC_W-IN_W){terms[i*IN_W+IN_W-1]}}, terms[i*IN_W +: IN_W]};
        end else begin : g_fit
            assign ext[i*ACC_W +: ACC_W] = terms[i*IN_W +: IN_W];
        end
    end
    reg [ACC_W-1:0] acc;
    integer k;
    always @* begin
        acc = {ACC_W{1'b0}};
        for (k = 0; k < N; k = k + 1) begin
            acc = acc + ext[k*ACC_W +: ACC_W];
        end
    end
    assign sum = acc;
    // No level registered: the clock and enable are not read.
    wire unused_clk = &{1'b0, clk, en};
  end else begin : g_tree
    for (l = 0; l <= LEVELS; l = l + 1) begin : g_lvl
        localparam integer NODES = (N + (1 << l) - 1) >> l;
        localparam integer LW = IN_W + l < ACC_W ? IN_W + l : ACC_W;
        wire [NODES*LW-1:0] v;             // node i at [i*LW +: LW]

        if (l == 0) begin : g_terms
            assign v = terms;
        end else begin : g_sums
            localparam integer PREV = (N + (1 << (l - 1)) - 1) >> (l - 1);
            localparam integer PW = IN_W + l - 1 < ACC_W ? IN_W + l - 1 : ACC_W;
            localparam integer REG = (l % TL == 0 && l < LEVELS) ? 1 : 0;

            for (i = 0; i < NODES; i = i + 1) begin : g_node
                wire [PW-1:0] a = g_lvl[l-1].v[2*i*PW +: PW];
                wire [LW-1:0] a_ext;
                wire [LW-1:0] b_ext;
                if (LW > PW) begin : g_ext_a
                    assign a_ext = {a[PW-1], a};
                end else begin : g_fit_a
                    assign a_ext = a;
                end
                if (2 * i + 1 < PREV) begin : g_b
                    wire [PW-1:0] b = g_lvl[l-1].v[(2*i+1)*PW +: PW];
                    if (LW > PW) begin : g_ext_b
                        assign b_ext = {b[PW-1], b};
                    end else begin : g_fit_b
                        assign b_ext = b;
                    end
                end else begin : g_odd
                    assign b_ext = {LW{1'b0}};
                end

                wire [LW-1:0] s = a_ext + b_ext;
                if (REG != 0) begin : g_reg
                    reg [LW-1:0] q;
                    always @(posedge clk) begin
                        if (en) begin
                            q <= s;
                        end
                    end
                    assign v[i*LW +: LW] = q;
                end else begin : g_comb
                    assign v[i*LW +: LW] = s;
                end
            end
        end
    end

    // The root, sign-extended to ACC_W bits.
    wire [TOP_W-1:0] root = g_lvl[LEVELS].v;
    if (ACC_W > TOP_W) begin : g_root_ext
        assign sum = {{(ACC_W-TOP_W){root[TOP_W-1]}}, root};
    end else begin : g_root_fit
        assign sum = root;
    end
  end
endgenerate

endmodule

`resetall
