// hwcomp: broadcast one stream to two outputs (the branch point of a residual
// block or of a concat).
//
// Every input beat is delivered exactly once to each output. Each output has
// its own FIFO (hwcomp_fifo), so the outputs stall independently: a stalled
// output holds the input back only once its FIFO is full. The input beat is
// taken when both FIFOs have room, and then written into both in the same
// cycle; nothing is lost or duplicated.
//
// s_axis_tready is the AND of the two FIFOs' tready, which they decode from
// their count registers: m0/m1_axis_tready never reach s_axis_tready
// combinationally. One beat per cycle with DEPTH0, DEPTH1 >= 2 (a one-word
// FIFO with registered tready takes a word only every other cycle); a beat
// can be taken at either output 1 cycle after it entered.
//
// A deeper FIFO on one output buffers that branch against the other's
// latency: in a residual block, the skip branch must hold every beat that
// enters the fork before the long branch delivers its first result.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module hwcomp_fork #(
    parameter integer WIDTH = 8,           // bits per beat (lanes * element width)
    parameter integer DEPTH0 = 2,          // words buffered for output 0, >= 2 for full rate
    parameter integer DEPTH1 = 2           // words buffered for output 1, >= 2 for full rate
) (
    input  wire             clk,
    input  wire             rst,           // synchronous, active high

    input  wire [WIDTH-1:0] s_axis_tdata,
    input  wire             s_axis_tvalid,
    output wire             s_axis_tready,

    output wire [WIDTH-1:0] m0_axis_tdata,
    output wire             m0_axis_tvalid,
    input  wire             m0_axis_tready,

    output wire [WIDTH-1:0] m1_axis_tdata,
    output wire             m1_axis_tvalid,
    input  wire             m1_axis_tready
);

// ---------------------------------------------------------------- parameter checks
// An illegal value instantiates a module that does not exist, named after the
// rule it breaks: Verilator, Icarus and Yosys (hierarchy -check) all stop at
// elaboration and print that name.
generate
    if (WIDTH < 1) begin : g_check_width
        hwcomp_fork_ILLEGAL_WIDTH_below_1 u_illegal ();
    end
    if (DEPTH0 < 1) begin : g_check_depth0
        hwcomp_fork_ILLEGAL_DEPTH0_below_1 u_illegal ();
    end
    if (DEPTH1 < 1) begin : g_check_depth1
        hwcomp_fork_ILLEGAL_DEPTH1_below_1 u_illegal ();
    end
endgenerate

wire ready0;                               // FIFO 0 has room (registered)
wire ready1;                               // FIFO 1 has room (registered)

assign s_axis_tready = ready0 && ready1;

hwcomp_fifo #(
    .WIDTH(WIDTH),
    .DEPTH(DEPTH0)
) u_fifo0 (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata(s_axis_tdata),
    .s_axis_tvalid(s_axis_tvalid && ready1),
    .s_axis_tready(ready0),
    .m_axis_tdata(m0_axis_tdata),
    .m_axis_tvalid(m0_axis_tvalid),
    .m_axis_tready(m0_axis_tready)
);

hwcomp_fifo #(
    .WIDTH(WIDTH),
    .DEPTH(DEPTH1)
) u_fifo1 (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata(s_axis_tdata),
    .s_axis_tvalid(s_axis_tvalid && ready0),
    .s_axis_tready(ready1),
    .m_axis_tdata(m1_axis_tdata),
    .m_axis_tvalid(m1_axis_tvalid),
    .m_axis_tready(m1_axis_tready)
);

endmodule

`resetall
