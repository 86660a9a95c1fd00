// hwcomp: stream width converter for vectors of N elements.
//
// Input: ceil(N/IN_LANES) beats per vector, the tail lanes of the last beat
// ignored. Output: ceil(N/OUT_LANES) beats per vector, the tail lanes of the
// last beat zero. Element i of a beat sits at tdata[i*ELEM_W +: ELEM_W]. The
// golden model is hwcomp.hw.window.dwc_reference.
//
// IN_LANES = K * OUT_LANES (K >= 2): each input beat waits in a 2-word FIFO
// and leaves as its K slices of OUT_LANES (fewer on a vector's last beat),
// picked by a counter: one K-way mux per output bit. Latency 1 cycle.
//
// IN_LANES == OUT_LANES: beats map one to one; the last beat of each vector
// has its tail lanes cleared and every beat passes a 2-word hwcomp_fifo.
// Latency 1 cycle.
//
// Otherwise (IN_LANES not a multiple of OUT_LANES): an element buffer of BUF
// lanes, filled from lane 0 up; `count` lanes hold elements. A beat leaves
// from lanes 0.. when the buffer holds the elements it carries (OUT_LANES, or
// the vector's tail); the rest shift down. An input beat lands right after the
// elements held, then shifts with them, so the wide input mux is selected by
// the count register only (a short clock path). Elements of consecutive
// vectors sit side by side, so a vector's tail never waits for the next
// vector. s_axis_tready and m_axis_tvalid come from the count and beat-counter
// registers only (no combinational path between the two ports; m_axis_tdata
// is the buffer's first lanes, tail masked). Because s_axis_tready does not
// count an output leaving in the same cycle, BUF = IN_LANES + OUT_LANES +
// min(IN_LANES, OUT_LANES) - 1 lanes: the smallest size that keeps the busier
// side at one beat per cycle for every N (DwcParams.buffer_lanes). Cost:
// BUF*ELEM_W flip-flops and, per buffer lane, an IN_LANES-way input mux and a
// 3-way shift mux.
// Latency 1 cycle (input beat accepted -> first output beat valid).
//
// Throughput in every case: max(in beats, out beats) cycles per vector
// (dwc_cycles).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module hwcomp_dwc #(
    parameter integer ELEM_W = 8,          // bits per element
    parameter integer N = 8,               // elements per vector
    parameter integer IN_LANES = 4,        // elements per input beat
    parameter integer OUT_LANES = 2        // elements per output beat
) (
    input  wire                        clk,
    input  wire                        rst,    // synchronous, active high

    input  wire [IN_LANES*ELEM_W-1:0]  s_axis_tdata,
    input  wire                        s_axis_tvalid,
    output wire                        s_axis_tready,

    output wire [OUT_LANES*ELEM_W-1:0] m_axis_tdata,
    output wire                        m_axis_tvalid,
    input  wire                        m_axis_tready
);

// Divisors kept >= 1, so that lanes < 1 reach their check, not a division by zero.
localparam integer IN_D = IN_LANES > 0 ? IN_LANES : 1;
localparam integer OUT_D = OUT_LANES > 0 ? OUT_LANES : 1;
localparam integer IN_BEATS = (N + IN_LANES - 1) / IN_D;
localparam integer OUT_BEATS = (N + OUT_LANES - 1) / OUT_D;
localparam integer IN_TAIL = N - (IN_BEATS - 1) * IN_LANES;     // elements in a vector's last input beat
localparam integer OUT_TAIL = N - (OUT_BEATS - 1) * OUT_LANES;  // elements in a vector's last output beat
localparam integer MIN_LANES = IN_LANES < OUT_LANES ? IN_LANES : OUT_LANES;
localparam integer BUF = IN_LANES + OUT_LANES + MIN_LANES - 1;  // element buffer lanes (general case)

localparam integer IB_W = IN_BEATS > 1 ? $clog2(IN_BEATS) : 1;
localparam integer OB_W = OUT_BEATS > 1 ? $clog2(OUT_BEATS) : 1;
localparam integer IN_LAST_I = IN_BEATS - 1;
localparam integer OUT_LAST_I = OUT_BEATS - 1;
localparam [IB_W-1:0] IN_LAST = IN_LAST_I[IB_W-1:0];
localparam [OB_W-1:0] OUT_LAST = OUT_LAST_I[OB_W-1:0];

// ---------------------------------------------------------------- parameter checks
// An illegal value instantiates a module that does not exist, named after the
// rule it breaks: Verilator, Icarus and Yosys (hierarchy -check) all stop at
// elaboration and print that name.
generate
    if (ELEM_W < 1) begin : g_check_elem_w
        hwcomp_dwc_ILLEGAL_ELEM_W_below_1 u_illegal ();
    end
    if (N < 1) begin : g_check_n
        hwcomp_dwc_ILLEGAL_N_below_1 u_illegal ();
    end
    if (IN_LANES < 1) begin : g_check_in_lanes
        hwcomp_dwc_ILLEGAL_IN_LANES_below_1 u_illegal ();
    end
    if (OUT_LANES < 1) begin : g_check_out_lanes
        hwcomp_dwc_ILLEGAL_OUT_LANES_below_1 u_illegal ();
    end
endgenerate

generate
    if (IN_LANES == OUT_LANES) begin : g_pass
        // ------------------------------------------------------------ one to one
        localparam integer W = IN_LANES * ELEM_W;
        localparam integer TAIL_W = IN_TAIL * ELEM_W;

        reg [IB_W-1:0] in_beat;
        wire in_last = in_beat == IN_LAST;
        wire [W-1:0] word;
        wire push = s_axis_tvalid && s_axis_tready;

        if (TAIL_W < W) begin : g_mask
            assign word = in_last ? {{(W-TAIL_W){1'b0}}, s_axis_tdata[TAIL_W-1:0]} : s_axis_tdata;
        end else begin : g_full
            assign word = s_axis_tdata;
        end

        always @(posedge clk) begin
            if (rst) begin
                in_beat <= {IB_W{1'b0}};
            end else if (push) begin
                in_beat <= in_last ? {IB_W{1'b0}} : in_beat + 1'b1;
            end
        end

        hwcomp_fifo #(
            .WIDTH(W),
            .DEPTH(2)
        ) u_fifo (
            .clk(clk),
            .rst(rst),
            .s_axis_tdata(word),
            .s_axis_tvalid(s_axis_tvalid),
            .s_axis_tready(s_axis_tready),
            .m_axis_tdata(m_axis_tdata),
            .m_axis_tvalid(m_axis_tvalid),
            .m_axis_tready(m_axis_tready)
        );

        wire unused_out_last = &{1'b0, OUT_LAST, BUF};
    end else if (IN_LANES % OUT_D == 0) begin : g_slice
        // ------------------------------------------------------------ whole slices
        // IN_LANES = K * OUT_LANES: every output beat lies inside one input beat
        // (both sequences restart at each vector's first element), so an input
        // beat waits in a 2-word FIFO and leaves as K slices (fewer on the
        // vector's last beat), picked by the slice counter: a K-way mux per
        // output bit instead of the general buffer's landing and shift muxes.
        localparam integer K = IN_LANES / OUT_D;
        localparam integer SW = OUT_LANES * ELEM_W;      // bits per slice
        localparam integer TAIL_SLICES = (IN_TAIL + OUT_LANES - 1) / OUT_D;
        localparam integer SL_W = K > 1 ? $clog2(K) : 1;
        localparam integer K_LAST_I = K - 1;
        localparam integer T_LAST_I = TAIL_SLICES - 1;
        localparam [SL_W-1:0] K_LAST = K_LAST_I[SL_W-1:0];
        localparam [SL_W-1:0] T_LAST = T_LAST_I[SL_W-1:0];
        localparam integer TAIL_W = OUT_TAIL * ELEM_W;

        wire [IN_LANES*ELEM_W-1:0] held;
        wire held_valid;
        reg [SL_W-1:0] slice;
        reg [IB_W-1:0] in_beat;      // which beat of its vector `held` is
        wire in_last = in_beat == IN_LAST;
        wire slice_last = slice == (in_last ? T_LAST : K_LAST);
        wire pop = held_valid && m_axis_tready;
        wire [SW-1:0] picked = held[slice*SW +: SW];

        hwcomp_fifo #(
            .WIDTH(IN_LANES * ELEM_W),
            .DEPTH(2)
        ) u_fifo (
            .clk(clk),
            .rst(rst),
            .s_axis_tdata(s_axis_tdata),
            .s_axis_tvalid(s_axis_tvalid),
            .s_axis_tready(s_axis_tready),
            .m_axis_tdata(held),
            .m_axis_tvalid(held_valid),
            .m_axis_tready(pop && slice_last)
        );

        always @(posedge clk) begin
            if (rst) begin
                slice <= {SL_W{1'b0}};
                in_beat <= {IB_W{1'b0}};
            end else if (pop) begin
                slice <= slice_last ? {SL_W{1'b0}} : slice + 1'b1;
                if (slice_last) begin
                    in_beat <= in_last ? {IB_W{1'b0}} : in_beat + 1'b1;
                end
            end
        end

        assign m_axis_tvalid = held_valid;
        // The vector's last output beat (the last slice of its last input beat):
        // lanes past its tail cleared.
        if (TAIL_W < SW) begin : g_mask
            assign m_axis_tdata = in_last && slice_last ? {{(SW-TAIL_W){1'b0}}, picked[TAIL_W-1:0]} : picked;
        end else begin : g_full
            assign m_axis_tdata = picked;
        end

        wire unused_slice = &{1'b0, BUF, OUT_LAST};
    end else begin : g_convert
        // ------------------------------------------------------------ element buffer
        localparam integer CNT_W = $clog2(BUF + IN_LANES + 1);  // holds count + an input beat
        localparam [CNT_W-1:0] BUF_C = BUF[CNT_W-1:0];
        localparam [CNT_W-1:0] IN_FULL = IN_LANES[CNT_W-1:0];
        localparam [CNT_W-1:0] IN_PART = IN_TAIL[CNT_W-1:0];
        localparam [CNT_W-1:0] OUT_FULL = OUT_LANES[CNT_W-1:0];
        localparam [CNT_W-1:0] OUT_PART = OUT_TAIL[CNT_W-1:0];

        reg [BUF*ELEM_W-1:0] store;
        reg [CNT_W-1:0] count;                 // lanes of `store` holding elements
        reg [IB_W-1:0] in_beat;
        reg [OB_W-1:0] out_beat;

        wire in_last = in_beat == IN_LAST;
        wire out_last = out_beat == OUT_LAST;
        wire [CNT_W-1:0] in_n = in_last ? IN_PART : IN_FULL;     // elements the input beat brings
        wire [CNT_W-1:0] out_n = out_last ? OUT_PART : OUT_FULL; // elements the output beat takes

        assign s_axis_tready = count + in_n <= BUF_C;
        assign m_axis_tvalid = count >= out_n;
        wire push = s_axis_tvalid && s_axis_tready;
        wire pop = m_axis_tvalid && m_axis_tready;

        wire [CNT_W-1:0] take = pop ? out_n : {CNT_W{1'b0}};
        wire [CNT_W-1:0] base = count - take;  // elements that stay
        // The input beat lands right after the elements held (lane count + j),
        // then everything shifts down by the elements leaving: the same place as
        // landing at base after the shift, but the wide input mux is selected by
        // the count register alone, not by the output handshake.
        wire [BUF:0] at_count = {{BUF{1'b0}}, 1'b1} << count;
        wire [BUF*ELEM_W-1:0] merged;
        wire [BUF*ELEM_W-1:0] store_next;

        genvar l, j;
        for (l = 0; l < BUF; l = l + 1) begin : g_lane
            // Input lane j lands here when count == l - j (at most one j).
            wire [IN_LANES-1:0] hit;
            for (j = 0; j < IN_LANES; j = j + 1) begin : g_in
                if (j <= l) begin : g_reach
                    assign hit[j] = at_count[l-j];
                end else begin : g_far
                    assign hit[j] = 1'b0;
                end
            end
            reg [ELEM_W-1:0] landed;
            integer k;
            always @* begin
                landed = {ELEM_W{1'b0}};
                for (k = 0; k < IN_LANES; k = k + 1) begin
                    if (hit[k]) begin
                        landed = landed | s_axis_tdata[k*ELEM_W +: ELEM_W];
                    end
                end
            end
            assign merged[l*ELEM_W +: ELEM_W] = push && |hit ? landed : store[l*ELEM_W +: ELEM_W];
        end

        for (l = 0; l < BUF; l = l + 1) begin : g_shift
            // Shift down by the elements leaving.
            wire [ELEM_W-1:0] keep = merged[l*ELEM_W +: ELEM_W];
            wire [ELEM_W-1:0] after_full;
            wire [ELEM_W-1:0] after_tail;
            if (l + OUT_LANES < BUF) begin : g_full
                assign after_full = merged[(l+OUT_LANES)*ELEM_W +: ELEM_W];
            end else begin : g_full_empty
                assign after_full = {ELEM_W{1'b0}};
            end
            if (l + OUT_TAIL < BUF) begin : g_tail
                assign after_tail = merged[(l+OUT_TAIL)*ELEM_W +: ELEM_W];
            end else begin : g_tail_empty
                assign after_tail = {ELEM_W{1'b0}};
            end
            assign store_next[l*ELEM_W +: ELEM_W] = !pop ? keep : (out_last ? after_tail : after_full);
        end

        always @(posedge clk) begin
            store <= store_next;
        end

        always @(posedge clk) begin
            if (rst) begin
                count <= {CNT_W{1'b0}};
                in_beat <= {IB_W{1'b0}};
                out_beat <= {OB_W{1'b0}};
            end else begin
                count <= base + (push ? in_n : {CNT_W{1'b0}});
                if (push) begin
                    in_beat <= in_last ? {IB_W{1'b0}} : in_beat + 1'b1;
                end
                if (pop) begin
                    out_beat <= out_last ? {OB_W{1'b0}} : out_beat + 1'b1;
                end
            end
        end

        // Output lanes past the tail are cleared on a vector's last beat.
        genvar o;
        for (o = 0; o < OUT_LANES; o = o + 1) begin : g_out
            if (o < OUT_TAIL) begin : g_always
                assign m_axis_tdata[o*ELEM_W +: ELEM_W] = store[o*ELEM_W +: ELEM_W];
            end else begin : g_masked
                assign m_axis_tdata[o*ELEM_W +: ELEM_W] = out_last ? {ELEM_W{1'b0}} : store[o*ELEM_W +: ELEM_W];
            end
        end

        wire unused_at_count = &{1'b0, at_count[BUF]};
    end
endgenerate

endmodule

`resetall
