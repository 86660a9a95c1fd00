// hwcomp: channel concatenation of two feature-map streams.
//
// Per pixel, the output carries CF0 beats taken from s0 and then CF1 beats
// taken from s1, and so on forever: the block counts beats, not pixels or
// images, so it needs no image size. Both inputs must carry the same number
// of pixels.
//
// Channel layout: the output pixel is s0's CF0*LANES lanes followed by s1's
// channels. When s0's channel count C0 is not a multiple of LANES, s0's zero
// tail lanes stay in the middle of the output pixel (channels C0 ..
// CF0*LANES-1 are zero), so the consumer must see CF0*LANES + C1 channels
// with those positions padding (zero weights), or C0 must be a multiple of
// LANES.
//
// The selected input feeds a 2-word output FIFO directly: one beat per cycle,
// (CF0 + CF1) cycles per pixel; a beat can be taken 1 cycle after it entered.
// The inputs' tready come from the FIFO's count register and the beat
// counter, so m_axis_tready never reaches them combinationally. The input
// not selected waits (tready low).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module hwcomp_concat #(
    parameter integer LANES = 2,           // elements per beat, both inputs and the output
    parameter integer ELEM_W = 8,          // element width, both inputs and the output
    parameter integer CF0 = 1,             // beats per pixel taken from s0, >= 1
    parameter integer CF1 = 1              // beats per pixel taken from s1, >= 1
) (
    input  wire                    clk,
    input  wire                    rst,    // synchronous, active high

    input  wire [LANES*ELEM_W-1:0] s0_axis_tdata,
    input  wire                    s0_axis_tvalid,
    output wire                    s0_axis_tready,

    input  wire [LANES*ELEM_W-1:0] s1_axis_tdata,
    input  wire                    s1_axis_tvalid,
    output wire                    s1_axis_tready,

    output wire [LANES*ELEM_W-1:0] m_axis_tdata,
    output wire                    m_axis_tvalid,
    input  wire                    m_axis_tready
);

localparam integer BEATS = CF0 + CF1;      // output beats per pixel
localparam integer BEAT_CW = $clog2(BEATS);
localparam integer LAST0_I = CF0 - 1;
localparam integer LAST_I = BEATS - 1;
localparam [BEAT_CW-1:0] LAST0 = LAST0_I[BEAT_CW-1:0];
localparam [BEAT_CW-1:0] LAST = LAST_I[BEAT_CW-1:0];

// ---------------------------------------------------------------- parameter checks
// An illegal value instantiates a module that does not exist, named after the
// rule it breaks: Verilator, Icarus and Yosys (hierarchy -check) all stop at
// elaboration and print that name.
generate
    if (LANES < 1) begin : g_check_lanes
        hwcomp_concat_ILLEGAL_LANES_below_1 u_illegal ();
    end
    if (ELEM_W < 1) begin : g_check_elem_w
        hwcomp_concat_ILLEGAL_ELEM_W_below_1 u_illegal ();
    end
    if (CF0 < 1) begin : g_check_cf0
        hwcomp_concat_ILLEGAL_CF0_below_1 u_illegal ();
    end
    if (CF1 < 1) begin : g_check_cf1
        hwcomp_concat_ILLEGAL_CF1_below_1 u_illegal ();
    end
endgenerate

wire en;                                   // the output FIFO has room
reg [BEAT_CW-1:0] beat;                    // output beat within the pixel
reg sel;                                   // 0: taking from s0, 1: from s1

wire in_valid = sel ? s1_axis_tvalid : s0_axis_tvalid;
wire [LANES*ELEM_W-1:0] in_data = sel ? s1_axis_tdata : s0_axis_tdata;
wire fire = en && in_valid;

assign s0_axis_tready = en && !sel;
assign s1_axis_tready = en && sel;

always @(posedge clk) begin
    if (rst) begin
        beat <= {BEAT_CW{1'b0}};
        sel <= 1'b0;
    end else if (fire) begin
        beat <= beat == LAST ? {BEAT_CW{1'b0}} : beat + 1'b1;
        if (beat == LAST0) begin
            sel <= 1'b1;
        end else if (beat == LAST) begin
            sel <= 1'b0;
        end
    end
end

hwcomp_fifo #(
    .WIDTH(LANES * ELEM_W),
    .DEPTH(2)
) u_out_fifo (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata(in_data),
    .s_axis_tvalid(in_valid),
    .s_axis_tready(en),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready)
);

endmodule

`resetall
