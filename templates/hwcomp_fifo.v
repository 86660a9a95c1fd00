// hwcomp: synchronous first-word-fall-through FIFO with valid/ready ports.
//
// Used between layers and as the output buffer of each MVU. tready and tvalid
// are decoded from registers only, so no combinational path crosses the FIFO:
// a chain of blocks joined by FIFOs has no long ready chains. The memory is
// read asynchronously (distributed RAM / registers), which suits the small
// depths used between layers.
//
// OUT_REG = 1 (deep FIFOs, for the clock target): the memory is read
// synchronously into a register (block RAM's own read register) and from
// there into an output register, so the RAM's slow clock-to-output ends in a
// flip-flop instead of in the consumer's logic. Capacity DEPTH + 2 words; a
// pushed word can be popped 3 cycles later instead of 1; still one word per
// cycle.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module hwcomp_fifo #(
    parameter integer WIDTH = 8,   // bits per word
    parameter integer DEPTH = 4,   // words held, any value >= 1 (OUT_REG: in the memory)
    parameter integer OUT_REG = 0  // 1: registered memory read and output (two more words)
) (
    input  wire             clk,
    input  wire             rst,            // synchronous, active high

    input  wire [WIDTH-1:0] s_axis_tdata,
    input  wire             s_axis_tvalid,
    output wire             s_axis_tready,

    output wire [WIDTH-1:0] m_axis_tdata,
    output wire             m_axis_tvalid,
    input  wire             m_axis_tready
);

localparam integer ADDR_W = DEPTH > 1 ? $clog2(DEPTH) : 1;
localparam integer COUNT_W = $clog2(DEPTH + 1);
localparam integer LAST_I = DEPTH - 1;
localparam [ADDR_W-1:0] LAST = LAST_I[ADDR_W-1:0];
localparam [COUNT_W-1:0] FULL = DEPTH[COUNT_W-1:0];

// ---------------------------------------------------------------- parameter checks
// An illegal value instantiates a module that does not exist, named after the
// rule it breaks: Verilator, Icarus and Yosys (hierarchy -check) all stop at
// elaboration and print that name.
generate
    if (WIDTH < 1) begin : g_check_width
        hwcomp_fifo_ILLEGAL_WIDTH_below_1 u_illegal ();
    end
    if (DEPTH < 1) begin : g_check_depth
        hwcomp_fifo_ILLEGAL_DEPTH_below_1 u_illegal ();
    end
    if (OUT_REG != 0 && OUT_REG != 1) begin : g_check_out_reg
        hwcomp_fifo_ILLEGAL_OUT_REG_not_0_or_1 u_illegal ();
    end
endgenerate

generate
    if (OUT_REG == 0) begin : g_async
        // The memory's head word is the output.
        reg [WIDTH-1:0] mem [0:DEPTH-1];
        reg [ADDR_W-1:0] wr_ptr;
        reg [ADDR_W-1:0] rd_ptr;
        reg [COUNT_W-1:0] count;

        wire push = s_axis_tvalid && s_axis_tready;
        wire pop = m_axis_tvalid && m_axis_tready;

        assign s_axis_tready = count != FULL;
        assign m_axis_tvalid = count != {COUNT_W{1'b0}};
        assign m_axis_tdata = mem[rd_ptr];

        always @(posedge clk) begin
            if (push) begin
                mem[wr_ptr] <= s_axis_tdata;
            end
        end

        always @(posedge clk) begin
            if (rst) begin
                wr_ptr <= {ADDR_W{1'b0}};
                rd_ptr <= {ADDR_W{1'b0}};
                count <= {COUNT_W{1'b0}};
            end else begin
                if (push) begin
                    wr_ptr <= wr_ptr == LAST ? {ADDR_W{1'b0}} : wr_ptr + 1'b1;
                end
                if (pop) begin
                    rd_ptr <= rd_ptr == LAST ? {ADDR_W{1'b0}} : rd_ptr + 1'b1;
                end
                if (push && !pop) begin
                    count <= count + 1'b1;
                end else if (pop && !push) begin
                    count <= count - 1'b1;
                end
            end
        end
    end else begin : g_registered
        // a: the memory's read register; b: the output register; count: words in the memory.
        reg [WIDTH-1:0] mem [0:DEPTH-1];
        reg [ADDR_W-1:0] wr_ptr;
        reg [ADDR_W-1:0] rd_ptr;
        reg [COUNT_W-1:0] count;
        reg [WIDTH-1:0] a_data;
        reg [WIDTH-1:0] b_data;
        reg a_valid;
        reg b_valid;

        wire push = s_axis_tvalid && s_axis_tready;
        wire pop = b_valid && m_axis_tready;
        wire b_load = a_valid && (!b_valid || pop);
        wire take = count != {COUNT_W{1'b0}} && (!a_valid || b_load);

        assign s_axis_tready = count != FULL;
        assign m_axis_tvalid = b_valid;
        assign m_axis_tdata = b_data;

        always @(posedge clk) begin
            if (push) begin
                mem[wr_ptr] <= s_axis_tdata;
            end
            if (take) begin
                a_data <= mem[rd_ptr];
            end
            if (b_load) begin
                b_data <= a_data;
            end
        end

        always @(posedge clk) begin
            if (rst) begin
                wr_ptr <= {ADDR_W{1'b0}};
                rd_ptr <= {ADDR_W{1'b0}};
                count <= {COUNT_W{1'b0}};
                a_valid <= 1'b0;
                b_valid <= 1'b0;
            end else begin
                if (push) begin
                    wr_ptr <= wr_ptr == LAST ? {ADDR_W{1'b0}} : wr_ptr + 1'b1;
                end
                if (take) begin
                    rd_ptr <= rd_ptr == LAST ? {ADDR_W{1'b0}} : rd_ptr + 1'b1;
                end
                if (push && !take) begin
                    count <= count + 1'b1;
                end else if (take && !push) begin
                    count <= count - 1'b1;
                end
                if (take) begin
                    a_valid <= 1'b1;
                end else if (b_load) begin
                    a_valid <= 1'b0;
                end
                if (b_load) begin
                    b_valid <= 1'b1;
                end else if (pop) begin
                    b_valid <= 1'b0;
                end
            end
        end
    end
endgenerate

endmodule

`resetall
