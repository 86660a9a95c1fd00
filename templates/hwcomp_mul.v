// hwcomp: one exact signed multiplier, its product registered (OUT_REG = 1) or not.
//
// p = a * b, both operands two's complement, p wide enough for every product.
// With OUT_REG = 1 the product is registered on `en`.
//
// ECP5: Yosys maps a plain multiply onto MULT18X18D with every register of
// the slice off, so the register after it sits in the fabric and the
// product's net from the DSP to it is part of the multiplier's path; with
// most of a device's DSPs in use those nets were the critical path. hwcomp's
// ECP5 synthesis defines HWCOMP_ECP5_DSP: a registered product that fits one
// slice (DSP18 = 1, decided by the generator from the widths) is then the
// MULT18X18D primitive with its own output register, so that net starts at a
// register. Simulation never defines it and reads the behavioural model; the
// primitive's connections are those of Yosys' own ECP5 mapping
// (share/lattice/dsp_map_18x18.v) plus REG_OUTPUT on CLK0 / CE0.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module hwcomp_mul #(
    parameter integer A_W = 8,      // bits of a (signed)
    parameter integer B_W = 8,      // bits of b (signed)
    parameter integer OUT_REG = 0,  // 1: p registered on en
    parameter integer DSP18 = 0     // 1: the product fits one 18x18 DSP slice (A_W, B_W <= 18)
) (
    input  wire                        clk,
    input  wire                        en,
    input  wire signed [A_W-1:0]       a,
    input  wire signed [B_W-1:0]       b,
    output wire signed [A_W+B_W-1:0]   p
);

localparam integer P_W = A_W + B_W;

// ---------------------------------------------------------------- parameter checks
// An illegal value instantiates a module that does not exist, named after the
// rule it breaks: Verilator, Icarus and Yosys (hierarchy -check) all stop at
// elaboration and print that name.
generate
    if (A_W < 1) begin : g_check_a_w
        hwcomp_mul_ILLEGAL_A_W_below_1 u_illegal ();
    end
    if (B_W < 1) begin : g_check_b_w
        hwcomp_mul_ILLEGAL_B_W_below_1 u_illegal ();
    end
    if (OUT_REG != 0 && OUT_REG != 1) begin : g_check_out_reg
        hwcomp_mul_ILLEGAL_OUT_REG_not_0_or_1 u_illegal ();
    end
    if (DSP18 != 0 && DSP18 != 1) begin : g_check_dsp18
        hwcomp_mul_ILLEGAL_DSP18_not_0_or_1 u_illegal ();
    end
    if (DSP18 == 1 && (A_W > 18 || B_W > 18)) begin : g_check_dsp18_widths
        hwcomp_mul_ILLEGAL_DSP18_with_operands_over_18_bits u_illegal ();
    end
endgenerate

generate
`ifdef HWCOMP_ECP5_DSP
    if (OUT_REG == 1 && DSP18 == 1) begin : g_mult18
        wire [17:0] a18 = {{(18-A_W){a[A_W-1]}}, a};
        wire [17:0] b18 = {{(18-B_W){b[B_W-1]}}, b};
        wire [35:0] p36;
        MULT18X18D #(
            .REG_OUTPUT_CLK("CLK0"),
            .REG_OUTPUT_CE("CE0"),
            .REG_OUTPUT_RST("RST0")
        ) u_mult (
            .A0(a18[0]), .A1(a18[1]), .A2(a18[2]), .A3(a18[3]), .A4(a18[4]), .A5(a18[5]),
            .A6(a18[6]), .A7(a18[7]), .A8(a18[8]), .A9(a18[9]), .A10(a18[10]), .A11(a18[11]),
            .A12(a18[12]), .A13(a18[13]), .A14(a18[14]), .A15(a18[15]), .A16(a18[16]), .A17(a18[17]),
            .B0(b18[0]), .B1(b18[1]), .B2(b18[2]), .B3(b18[3]), .B4(b18[4]), .B5(b18[5]),
            .B6(b18[6]), .B7(b18[7]), .B8(b18[8]), .B9(b18[9]), .B10(b18[10]), .B11(b18[11]),
            .B12(b18[12]), .B13(b18[13]), .B14(b18[14]), .B15(b18[15]), .B16(b18[16]), .B17(b18[17]),
            .C0(1'b0), .C1(1'b0), .C2(1'b0), .C3(1'b0), .C4(1'b0), .C5(1'b0), .C6(1'b0), .C7(1'b0),
            .C8(1'b0), .C9(1'b0), .C10(1'b0), .C11(1'b0), .C12(1'b0), .C13(1'b0), .C14(1'b0),
            .C15(1'b0), .C16(1'b0), .C17(1'b0),
            .SIGNEDA(1'b1), .SIGNEDB(1'b1), .SOURCEA(1'b0), .SOURCEB(1'b0),
            .CLK0(clk), .CLK1(1'b0), .CLK2(1'b0), .CLK3(1'b0),
            .CE0(en), .CE1(1'b0), .CE2(1'b0), .CE3(1'b0),
            .RST0(1'b0), .RST1(1'b0), .RST2(1'b0), .RST3(1'b0),
            .P0(p36[0]), .P1(p36[1]), .P2(p36[2]), .P3(p36[3]), .P4(p36[4]), .P5(p36[5]),
            .P6(p36[6]), .P7(p36[7]), .P8(p36[8]), .P9(p36[9]), .P10(p36[10]), .P11(p36[11]),
            .P12(p36[12]), .P13(p36[13]), .P14(p36[14]), .P15(p36[15]), .P16(p36[16]), .P17(p36[17]),
            .P18(p36[18]), .P19(p36[19]), .P20(p36[20]), .P21(p36[21]), .P22(p36[22]), .P23(p36[23]),
            .P24(p36[24]), .P25(p36[25]), .P26(p36[26]), .P27(p36[27]), .P28(p36[28]), .P29(p36[29]),
            .P30(p36[30]), .P31(p36[31]), .P32(p36[32]), .P33(p36[33]), .P34(p36[34]), .P35(p36[35])
        );
        assign p = p36[P_W-1:0];
    end else
`endif
    if (OUT_REG == 1) begin : g_reg
        reg signed [P_W-1:0] q;
        always @(posedge clk) begin
            if (en) begin
                q <= a * b;
            end
        end
        assign p = q;
    end else begin : g_comb
        assign p = a * b;
        wire unused_comb = &{1'b0, clk, en};
    end
endgenerate

wire unused_dsp18 = &{1'b0, DSP18[0]};

endmodule

`resetall
