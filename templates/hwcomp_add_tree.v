// hwcomp: balanced adder tree of N signed terms, one level per instance: it
// adds neighbouring pairs (an odd last term passes on) and instantiates
// itself on the ceil(N/2) sums, until one is left. The sums of level l are
// exact in IN_W + 1 bits up to ACC_W; beyond ACC_W the sum wraps modulo
// 2^ACC_W, which the unit allows (its final sum fits ACC_W bits).
//
// Pipeline: a register after every TREE_LEVELS levels (level LEVEL+1 of the
// whole tree registered when (LEVEL+1) % TREE_LEVELS == 0), except after the
// last level, which the instantiating unit registers. The registers advance
// on `en`. Latency: (clog2(N) - 1) / TREE_LEVELS cycles (0 when N = 1) for
// the tree at LEVEL 0.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module hwcomp_add_tree #(
    parameter integer N = 4,               // terms
    parameter integer IN_W = 8,            // bits per term, two's complement
    parameter integer ACC_W = 16,          // width of the sum, >= IN_W
    parameter integer TREE_LEVELS = 1,     // levels per register stage, >= 1
    parameter integer LEVEL = 0            // levels above this one (0 at the root call)
) (
    input  wire               clk,
    input  wire               en,          // the pipeline advances
    input  wire [N*IN_W-1:0]  terms,       // term i at [i*IN_W +: IN_W]
    output wire [ACC_W-1:0]   sum          // their sum, sign-extended to ACC_W bits
);

// Sums of a pair: one bit wider, up to ACC_W.
localparam integer LW = IN_W < ACC_W ? IN_W + 1 : ACC_W;
localparam integer PAIRS = (N + 1) / 2;
// This level ends a register stage unless it is the tree's last.
localparam integer REG = PAIRS > 1 && (LEVEL + 1) % TREE_LEVELS == 0 ? 1 : 0;

// ---------------------------------------------------------------- parameter checks
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

genvar i;
generate
    if (N == 1) begin : g_leaf
        if (ACC_W > IN_W) begin : g_ext
            assign sum = {{(ACC_W-IN_W){terms[IN_W-1]}}, terms};
        end else begin : g_fit
            assign sum = terms;
        end
        wire unused_leaf = &{1'b0, clk, en};
    end else begin : g_level
        wire [PAIRS*LW-1:0] sums;

        for (i = 0; i < PAIRS; i = i + 1) begin : g_pair
            wire [IN_W-1:0] a = terms[2*i*IN_W +: IN_W];
            wire [LW-1:0] a_ext;
            wire [LW-1:0] b_ext;
            if (LW > IN_W) begin : g_ext_a
                assign a_ext = {a[IN_W-1], a};
            end else begin : g_fit_a
                assign a_ext = a;
            end
            if (2 * i + 1 < N) begin : g_b
                wire [IN_W-1:0] b = terms[(2*i+1)*IN_W +: IN_W];
                if (LW > IN_W) begin : g_ext_b
                    assign b_ext = {b[IN_W-1], b};
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
                assign sums[i*LW +: LW] = q;
            end else begin : g_comb
                assign sums[i*LW +: LW] = s;
            end
        end

        hwcomp_add_tree #(
            .N(PAIRS),
            .IN_W(LW),
            .ACC_W(ACC_W),
            .TREE_LEVELS(TREE_LEVELS),
            .LEVEL(LEVEL + 1)
        ) u_next (
            .clk(clk),
            .en(en),
            .terms(sums),
            .sum(sum)
        );
    end
endgenerate

endmodule

`resetall
