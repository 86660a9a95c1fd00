// hwcomp: sliding-window unit (line buffer) feeding a matrix-vector unit.
//
// Input: images of IFM_H x IFM_W pixels, row-major, CF beats per pixel.
// Output: for each output pixel (oy, ox), row-major, its window as
// K_H*K_W*CF beats, ky outer, then kx, then cf: the cf-th beat of input pixel
// (oy*STRIDE_H + ky - PAD_T, ox*STRIDE_W + kx - PAD_L), or PAD_VALUE in every
// lane where that pixel is outside the image. Images follow each other with
// no gap; the golden model is hwcomp.hw.window.swu_reference.
//
// Line buffer: a circular buffer of BUF_DEPTH beats; input beat number p (of
// the whole stream) lives at address p mod BUF_DEPTH. Two counters relate
// the writer and the reader, both in beats of the input stream:
//   lag = written - free   free: the first beat the current or any later
//                          window still needs (the current window's top-left
//                          pixel clamped into the image; column 0 while the
//                          next output row also starts in row 0)
//   gap = written - need   need: the beat the reader emits next (its position
//                          is affine in the loop counters, so padding beats
//                          have one too; they are never read)
// The writer accepts a beat while lag < BUF_DEPTH, so it never overwrites a
// beat still needed; the reader emits a beat when it is padding or gap > 0.
// Both update by constant steps chosen by which loop counter wraps; free
// never moves back.
// BUF_DEPTH is computed by hwcomp.hw.window.SwuParams.buffer_beats so that
// neither side waits for the other: an image takes max(in, out) beats of
// cycles (swu_cycles). It must hold at least one window span,
// ((K_H-1)*IFM_W + K_W)*CF beats, or the unit deadlocks.
//
// Pipeline: S0 loop counters, issue the buffer read; S1 registered read
// (block-RAM style, enable = en) and the padding flag; then a 2-word output
// FIFO (hwcomp_fifo) driving m_axis. Everything advances on `en`, that FIFO's
// tready, decoded from its count register. s_axis_tready comes from the lag
// register only, so m_axis_tready never reaches s_axis_tready
// combinationally. Latency: a beat can leave 3 cycles after the input beat
// it shows was accepted.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module hwcomp_swu #(
    parameter integer ELEM_W = 8,          // bits per element
    parameter integer LANES = 1,           // elements per beat
    parameter integer CF = 1,              // beats per pixel: ceil(channels / LANES)
    parameter integer IFM_H = 4,           // input image height, pixels
    parameter integer IFM_W = 4,           // input image width, pixels
    parameter integer K_H = 3,             // window height
    parameter integer K_W = 3,             // window width
    parameter integer STRIDE_H = 1,        // vertical stride
    parameter integer STRIDE_W = 1,        // horizontal stride
    parameter integer PAD_T = 0,           // padding rows above, < K_H
    parameter integer PAD_L = 0,           // padding columns left, < K_W
    parameter integer PAD_B = 0,           // padding rows below, < K_H
    parameter integer PAD_R = 0,           // padding columns right, < K_W
    parameter [ELEM_W-1:0] PAD_VALUE = 0,  // element at padded positions (raw bits)
    parameter integer OFM_H = 2,           // (IFM_H + PAD_T + PAD_B - K_H) / STRIDE_H + 1
    parameter integer OFM_W = 2,           // (IFM_W + PAD_L + PAD_R - K_W) / STRIDE_W + 1
    parameter integer BUF_DEPTH = 23       // line buffer words, SwuParams.buffer_beats
) (
    input  wire                    clk,
    input  wire                    rst,    // synchronous, active high

    input  wire [LANES*ELEM_W-1:0] s_axis_tdata,
    input  wire                    s_axis_tvalid,
    output wire                    s_axis_tready,

    output wire [LANES*ELEM_W-1:0] m_axis_tdata,
    output wire                    m_axis_tvalid,
    input  wire                    m_axis_tready
);

localparam integer WORD_W = LANES * ELEM_W;
localparam integer ROW = IFM_W * CF;                   // beats per input row
localparam integer IMG = IFM_H * ROW;                  // beats per input image

// Steps of `need` (virtual input position of the beat emitted next) when the
// loop counter named last wraps or advances; kx and cf steps are +1.
localparam integer NS_KY = (IFM_W - K_W) * CF + 1;
localparam integer NS_OX = (STRIDE_W - K_W) * CF + 1 - (K_H - 1) * ROW;
localparam integer NS_OY = (STRIDE_H - K_H + 1) * ROW - ((OFM_W - 1) * STRIDE_W + K_W) * CF + 1;
localparam integer NS_IMG = IMG - ((OFM_H - 1) * STRIDE_H + K_H - 1) * ROW
                          - ((OFM_W - 1) * STRIDE_W + K_W) * CF + 1;

// Steps of `free`, the first beat the current or any later window needs:
// max(0, oy*STRIDE_H - PAD_T) rows plus max(0, ox*STRIDE_W - PAD_L) columns,
// except that the columns count as 0 while the next output row's windows
// also start in row 0 (oy < OY_Z), since they need row 0 from column 0.
// OX_C / OY_C: the first ox / oy whose window starts inside the image.
// Strides as divisors, kept >= 1 so that a stride < 1 reaches its check.
localparam integer SW_D = STRIDE_W > 0 ? STRIDE_W : 1;
localparam integer SH_D = STRIDE_H > 0 ? STRIDE_H : 1;
localparam integer OX_C0 = (PAD_L + STRIDE_W - 1) / SW_D;
localparam integer OY_C0 = (PAD_T + STRIDE_H - 1) / SH_D;
localparam integer OY_Z0 = PAD_T / SH_D;
localparam integer OX_C = OX_C0 < OFM_W ? OX_C0 : OFM_W;
localparam integer OY_C = OY_C0 < OFM_H ? OY_C0 : OFM_H;
localparam integer OY_Z = OY_Z0 < OFM_H ? OY_Z0 : OFM_H;
localparam integer COL_LAST = ((OFM_W - 1) * STRIDE_W > PAD_L ? (OFM_W - 1) * STRIDE_W - PAD_L : 0) * CF;
localparam integer COL_END = OFM_H - 1 < OY_Z ? 0 : COL_LAST;  // column part at the image's last window
localparam integer ROW_LAST = ((OFM_H - 1) * STRIDE_H > PAD_T ? (OFM_H - 1) * STRIDE_H - PAD_T : 0) * ROW;
localparam integer FS_OX = STRIDE_W * CF;              // ox -> ox+1, both windows start inside
localparam integer FS_OX_C = (OX_C * STRIDE_W - PAD_L) * CF;   // ox+1 == OX_C
localparam integer FS_OY = STRIDE_H * ROW - COL_LAST;  // next output row, ox back to 0
localparam integer FS_OY_C = (OY_C * STRIDE_H - PAD_T) * ROW - COL_LAST;   // oy+1 == OY_C
localparam integer FS_IMG = IMG - ROW_LAST - COL_END;

// lag and gap are signed; they stay within +-(BUF_DEPTH + IMG + a window).
localparam integer BOUND = BUF_DEPTH + 2 * IMG + 2 * (K_H + PAD_T + STRIDE_H) * ROW + 2 * (K_W + PAD_L) * CF;
localparam integer G_W = $clog2(BOUND + 1) + 2;
localparam integer GAP0 = PAD_T * ROW + PAD_L * CF;    // at reset: written 0, need -GAP0, free 0

// need modulo BUF_DEPTH: the buffer address of the beat emitted next.
localparam integer A_W = BUF_DEPTH > 1 ? $clog2(BUF_DEPTH) : 1;
localparam integer AS_KY = ((NS_KY % BUF_DEPTH) + BUF_DEPTH) % BUF_DEPTH;
localparam integer AS_OX = ((NS_OX % BUF_DEPTH) + BUF_DEPTH) % BUF_DEPTH;
localparam integer AS_OY = ((NS_OY % BUF_DEPTH) + BUF_DEPTH) % BUF_DEPTH;
localparam integer AS_IMG = ((NS_IMG % BUF_DEPTH) + BUF_DEPTH) % BUF_DEPTH;
localparam integer ADDR0 = (((-GAP0) % BUF_DEPTH) + BUF_DEPTH) % BUF_DEPTH;
localparam integer AS_ONE = 1 % BUF_DEPTH;
localparam integer ADDR_LAST_I = BUF_DEPTH - 1;
localparam integer ONE_I = 1;

// Counter widths and last values.
localparam integer CF_CW = CF > 1 ? $clog2(CF) : 1;
localparam integer KX_CW = K_W > 1 ? $clog2(K_W) : 1;
localparam integer KY_CW = K_H > 1 ? $clog2(K_H) : 1;
localparam integer OX_CW = $clog2(OFM_W + 1);           // holds ox + 1 and OX_C
localparam integer OY_CW = $clog2(OFM_H + 1);
localparam integer PX_W = $clog2(IFM_W + PAD_L + PAD_R + 1);
localparam integer PY_W = $clog2(IFM_H + PAD_T + PAD_B + 1);
localparam integer CF_LAST_I = CF - 1;
localparam integer KX_LAST_I = K_W - 1;
localparam integer KY_LAST_I = K_H - 1;
localparam integer OX_LAST_I = OFM_W - 1;
localparam integer OY_LAST_I = OFM_H - 1;
localparam integer PX_END_I = PAD_L + IFM_W;
localparam integer PY_END_I = PAD_T + IFM_H;
localparam [CF_CW-1:0] CF_LAST = CF_LAST_I[CF_CW-1:0];
localparam [KX_CW-1:0] KX_LAST = KX_LAST_I[KX_CW-1:0];
localparam [KY_CW-1:0] KY_LAST = KY_LAST_I[KY_CW-1:0];
localparam [OX_CW-1:0] OX_LAST = OX_LAST_I[OX_CW-1:0];
localparam [OY_CW-1:0] OY_LAST = OY_LAST_I[OY_CW-1:0];
localparam [OX_CW-1:0] OX_CV = OX_C[OX_CW-1:0];
localparam [OY_CW-1:0] OY_CV = OY_C[OY_CW-1:0];
localparam [OY_CW-1:0] OY_ZV = OY_Z[OY_CW-1:0];
localparam [PX_W-1:0] PX_BEGIN = PAD_L[PX_W-1:0];
localparam [PY_W-1:0] PY_BEGIN = PAD_T[PY_W-1:0];
localparam [PX_W-1:0] PX_END = PX_END_I[PX_W-1:0];
localparam [PY_W-1:0] PY_END = PY_END_I[PY_W-1:0];
localparam [PX_W-1:0] SW_V = STRIDE_W[PX_W-1:0];
localparam [PY_W-1:0] SH_V = STRIDE_H[PY_W-1:0];

localparam signed [G_W-1:0] DEPTH_G = BUF_DEPTH[G_W-1:0];
localparam signed [G_W-1:0] GAP0_G = GAP0[G_W-1:0];
localparam signed [G_W-1:0] ONE_G = ONE_I[G_W-1:0];
localparam signed [G_W-1:0] NS_KY_G = NS_KY[G_W-1:0];
localparam signed [G_W-1:0] NS_OX_G = NS_OX[G_W-1:0];
localparam signed [G_W-1:0] NS_OY_G = NS_OY[G_W-1:0];
localparam signed [G_W-1:0] NS_IMG_G = NS_IMG[G_W-1:0];
localparam signed [G_W-1:0] FS_OX_G = FS_OX[G_W-1:0];
localparam signed [G_W-1:0] FS_OX_C_G = FS_OX_C[G_W-1:0];
localparam signed [G_W-1:0] FS_OY_G = FS_OY[G_W-1:0];
localparam signed [G_W-1:0] FS_OY_C_G = FS_OY_C[G_W-1:0];
localparam signed [G_W-1:0] FS_IMG_G = FS_IMG[G_W-1:0];
localparam [A_W:0] DEPTH_A = BUF_DEPTH[A_W:0];
localparam [A_W-1:0] ADDR_LAST = ADDR_LAST_I[A_W-1:0];
localparam [A_W-1:0] ADDR0_A = ADDR0[A_W-1:0];
localparam [A_W-1:0] AS_KY_A = AS_KY[A_W-1:0];
localparam [A_W-1:0] AS_OX_A = AS_OX[A_W-1:0];
localparam [A_W-1:0] AS_OY_A = AS_OY[A_W-1:0];
localparam [A_W-1:0] AS_IMG_A = AS_IMG[A_W-1:0];
localparam [A_W-1:0] AS_ONE_A = AS_ONE[A_W-1:0];

// ---------------------------------------------------------------- parameter checks
// An illegal value instantiates a module that does not exist, named after the
// rule it breaks: Verilator, Icarus and Yosys (hierarchy -check) all stop at
// elaboration and print that name.
// The shape rules below apply once the sizes and padding are legal.
localparam [0:0] SIZES_OK = IFM_H >= 1 && IFM_W >= 1 && K_H >= 1 && K_W >= 1 && STRIDE_H >= 1 && STRIDE_W >= 1
                           && PAD_T >= 0 && PAD_B >= 0 && PAD_L >= 0 && PAD_R >= 0
                           && PAD_T < K_H && PAD_B < K_H && PAD_L < K_W && PAD_R < K_W;
localparam [0:0] FITS_H = SIZES_OK && K_H <= IFM_H + PAD_T + PAD_B;
localparam [0:0] FITS_W = SIZES_OK && K_W <= IFM_W + PAD_L + PAD_R;

generate
    if (ELEM_W < 1) begin : g_check_elem_w
        hwcomp_swu_ILLEGAL_ELEM_W_below_1 u_illegal ();
    end
    if (LANES < 1) begin : g_check_lanes
        hwcomp_swu_ILLEGAL_LANES_below_1 u_illegal ();
    end
    if (CF < 1) begin : g_check_cf
        hwcomp_swu_ILLEGAL_CF_below_1 u_illegal ();
    end
    if (IFM_H < 1) begin : g_check_ifm_h
        hwcomp_swu_ILLEGAL_IFM_H_below_1 u_illegal ();
    end
    if (IFM_W < 1) begin : g_check_ifm_w
        hwcomp_swu_ILLEGAL_IFM_W_below_1 u_illegal ();
    end
    if (K_H < 1) begin : g_check_k_h
        hwcomp_swu_ILLEGAL_K_H_below_1 u_illegal ();
    end
    if (K_W < 1) begin : g_check_k_w
        hwcomp_swu_ILLEGAL_K_W_below_1 u_illegal ();
    end
    if (STRIDE_H < 1) begin : g_check_stride_h
        hwcomp_swu_ILLEGAL_STRIDE_H_below_1 u_illegal ();
    end
    if (STRIDE_W < 1) begin : g_check_stride_w
        hwcomp_swu_ILLEGAL_STRIDE_W_below_1 u_illegal ();
    end
    if (PAD_T < 0 || (K_H >= 1 && PAD_T >= K_H)) begin : g_check_pad_t
        hwcomp_swu_ILLEGAL_PAD_T_outside_0_to_K_H_minus_1 u_illegal ();
    end
    if (PAD_B < 0 || (K_H >= 1 && PAD_B >= K_H)) begin : g_check_pad_b
        hwcomp_swu_ILLEGAL_PAD_B_outside_0_to_K_H_minus_1 u_illegal ();
    end
    if (PAD_L < 0 || (K_W >= 1 && PAD_L >= K_W)) begin : g_check_pad_l
        hwcomp_swu_ILLEGAL_PAD_L_outside_0_to_K_W_minus_1 u_illegal ();
    end
    if (PAD_R < 0 || (K_W >= 1 && PAD_R >= K_W)) begin : g_check_pad_r
        hwcomp_swu_ILLEGAL_PAD_R_outside_0_to_K_W_minus_1 u_illegal ();
    end
    if (SIZES_OK && !FITS_H) begin : g_check_k_h_fits
        hwcomp_swu_ILLEGAL_K_H_above_padded_IFM_H u_illegal ();
    end
    if (SIZES_OK && !FITS_W) begin : g_check_k_w_fits
        hwcomp_swu_ILLEGAL_K_W_above_padded_IFM_W u_illegal ();
    end
    if (FITS_H && OFM_H != (IFM_H + PAD_T + PAD_B - K_H) / SH_D + 1) begin : g_check_ofm_h
        hwcomp_swu_ILLEGAL_OFM_H_inconsistent u_illegal ();
    end
    if (FITS_W && OFM_W != (IFM_W + PAD_L + PAD_R - K_W) / SW_D + 1) begin : g_check_ofm_w
        hwcomp_swu_ILLEGAL_OFM_W_inconsistent u_illegal ();
    end
    if (SIZES_OK && BUF_DEPTH < ((K_H - 1) * IFM_W + K_W) * CF) begin : g_check_buf_depth
        hwcomp_swu_ILLEGAL_BUF_DEPTH_below_window_span u_illegal ();
    end
endgenerate

// ---------------------------------------------------------------- writer
reg signed [G_W-1:0] lag;                  // beats written - free
reg signed [G_W-1:0] gap;                  // beats written - need
reg [A_W-1:0] wr_addr;
// One write port, one registered read port with enable: block or distributed
// RAM, left to the tool (small buffers are better as LUT RAM).
reg [WORD_W-1:0] mem [0:BUF_DEPTH-1];

assign s_axis_tready = lag < DEPTH_G;
wire push = s_axis_tvalid && s_axis_tready;

always @(posedge clk) begin
    if (push) begin
        mem[wr_addr] <= s_axis_tdata;
    end
end

// ---------------------------------------------------------------- S0: reader loops
wire en;                                   // pipeline advances this cycle
reg [CF_CW-1:0] cf;
reg [KX_CW-1:0] kx;
reg [KY_CW-1:0] ky;
reg [OX_CW-1:0] ox;
reg [OY_CW-1:0] oy;
reg [PX_W-1:0] wx;                         // ox * STRIDE_W: window's left column, padded coordinates
reg [PY_W-1:0] wy;                         // oy * STRIDE_H: window's top row, padded coordinates
reg [PX_W-1:0] px;                         // wx + kx
reg [PY_W-1:0] py;                         // wy + ky
reg [A_W-1:0] rd_addr;                     // need mod BUF_DEPTH

wire cf_last = cf == CF_LAST;
wire kx_last = kx == KX_LAST;
wire ky_last = ky == KY_LAST;
wire ox_last = ox == OX_LAST;
wire oy_last = oy == OY_LAST;
wire [OX_CW-1:0] ox_next = ox + 1'b1;
wire [OY_CW-1:0] oy_next = oy + 1'b1;
wire [PX_W-1:0] wx_next = wx + SW_V;
wire [PY_W-1:0] wy_next = wy + SH_V;

wire row_in;                               // py inside the image rows
wire col_in;                               // px inside the image columns
generate
    if (PAD_T > 0 && PAD_B > 0) begin : g_row_tb
        assign row_in = py >= PY_BEGIN && py < PY_END;
    end else if (PAD_T > 0) begin : g_row_t
        assign row_in = py >= PY_BEGIN;
    end else if (PAD_B > 0) begin : g_row_b
        assign row_in = py < PY_END;
    end else begin : g_row_none
        assign row_in = 1'b1;
        wire unused_py = &{1'b0, py, PY_BEGIN, PY_END};
    end
    if (PAD_L > 0 && PAD_R > 0) begin : g_col_lr
        assign col_in = px >= PX_BEGIN && px < PX_END;
    end else if (PAD_L > 0) begin : g_col_l
        assign col_in = px >= PX_BEGIN;
    end else if (PAD_R > 0) begin : g_col_r
        assign col_in = px < PX_END;
    end else begin : g_col_none
        assign col_in = 1'b1;
        wire unused_px = &{1'b0, px, PX_BEGIN, PX_END};
    end
endgenerate

wire pad = !(row_in && col_in);
wire fire = en && (pad || gap > 0);

// Steps of need (and its address) and of free, by the counter that advances.
reg signed [G_W-1:0] need_step;
reg signed [G_W-1:0] free_step;
reg [A_W-1:0] addr_step;
wire signed [G_W-1:0] fs_ox;               // free step when ox advances
wire signed [G_W-1:0] fs_oy;               // free step when oy advances

wire top;                                  // oy < OY_Z: free stays at the image start
generate
    if (OY_Z > 0) begin : g_top
        assign top = oy < OY_ZV;
    end else begin : g_no_top
        assign top = 1'b0;
        wire unused_oy_zv = &{1'b0, OY_ZV};
    end
    if (OX_C > 0) begin : g_fs_ox_pad
        assign fs_ox = top || ox_next < OX_CV ? {G_W{1'b0}} : (ox_next == OX_CV ? FS_OX_C_G : FS_OX_G);
    end else begin : g_fs_ox
        assign fs_ox = top ? {G_W{1'b0}} : FS_OX_G;
        wire unused_ox_cv = &{1'b0, OX_CV, FS_OX_C_G};
    end
    if (OY_C > 0) begin : g_fs_oy_pad
        // OY_Z <= OY_C <= OY_Z + 1
        assign fs_oy = top ? {G_W{1'b0}} : (oy_next == OY_CV ? FS_OY_C_G : FS_OY_G);
    end else begin : g_fs_oy
        assign fs_oy = FS_OY_G;
        wire unused_oy_cv = &{1'b0, OY_CV, FS_OY_C_G};
    end
endgenerate

always @* begin
    free_step = {G_W{1'b0}};
    if (!cf_last || !kx_last) begin
        need_step = ONE_G;
        addr_step = AS_ONE_A;
    end else if (!ky_last) begin
        need_step = NS_KY_G;
        addr_step = AS_KY_A;
    end else if (!ox_last) begin
        need_step = NS_OX_G;
        addr_step = AS_OX_A;
        free_step = fs_ox;
    end else if (!oy_last) begin
        need_step = NS_OY_G;
        addr_step = AS_OY_A;
        free_step = fs_oy;
    end else begin
        need_step = NS_IMG_G;
        addr_step = AS_IMG_A;
        free_step = FS_IMG_G;
    end
end

wire [A_W:0] addr_sum = {1'b0, rd_addr} + {1'b0, addr_step};
wire signed [G_W-1:0] push_g = {{(G_W-1){1'b0}}, push};

always @(posedge clk) begin
    if (rst) begin
        lag <= {G_W{1'b0}};
        gap <= GAP0_G;
        wr_addr <= {A_W{1'b0}};
        rd_addr <= ADDR0_A;
        cf <= {CF_CW{1'b0}};
        kx <= {KX_CW{1'b0}};
        ky <= {KY_CW{1'b0}};
        ox <= {OX_CW{1'b0}};
        oy <= {OY_CW{1'b0}};
        wx <= {PX_W{1'b0}};
        wy <= {PY_W{1'b0}};
        px <= {PX_W{1'b0}};
        py <= {PY_W{1'b0}};
    end else begin
        lag <= lag + push_g - (fire ? free_step : {G_W{1'b0}});
        gap <= gap + push_g - (fire ? need_step : {G_W{1'b0}});
        if (push) begin
            wr_addr <= wr_addr == ADDR_LAST ? {A_W{1'b0}} : wr_addr + 1'b1;
        end
        if (fire) begin
            rd_addr <= addr_sum >= DEPTH_A ? addr_sum[A_W-1:0] - DEPTH_A[A_W-1:0] : addr_sum[A_W-1:0];
            cf <= cf_last ? {CF_CW{1'b0}} : cf + 1'b1;
            if (cf_last) begin
                if (!kx_last) begin
                    kx <= kx + 1'b1;
                    px <= px + 1'b1;
                end else begin
                    kx <= {KX_CW{1'b0}};
                    if (!ky_last) begin
                        ky <= ky + 1'b1;
                        py <= py + 1'b1;
                        px <= wx;
                    end else begin
                        ky <= {KY_CW{1'b0}};
                        if (!ox_last) begin
                            ox <= ox_next;
                            wx <= wx_next;
                            px <= wx_next;
                            py <= wy;
                        end else begin
                            ox <= {OX_CW{1'b0}};
                            wx <= {PX_W{1'b0}};
                            px <= {PX_W{1'b0}};
                            if (!oy_last) begin
                                oy <= oy_next;
                                wy <= wy_next;
                                py <= wy_next;
                            end else begin
                                oy <= {OY_CW{1'b0}};
                                wy <= {PY_W{1'b0}};
                                py <= {PY_W{1'b0}};
                            end
                        end
                    end
                end
            end
        end
    end
end

// ---------------------------------------------------------------- S1: buffer read
reg s1_valid;
reg s1_pad;
reg [WORD_W-1:0] s1_data;

always @(posedge clk) begin
    if (rst) begin
        s1_valid <= 1'b0;
    end else if (en) begin
        s1_valid <= fire;
    end
end

always @(posedge clk) begin
    if (en) begin
        s1_pad <= pad;
        s1_data <= mem[rd_addr];
    end
end

wire [WORD_W-1:0] s1_word = s1_pad ? {LANES{PAD_VALUE}} : s1_data;

// ---------------------------------------------------------------- output
hwcomp_fifo #(
    .WIDTH(WORD_W),
    .DEPTH(2)
) u_out_fifo (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata(s1_word),
    .s_axis_tvalid(s1_valid),
    .s_axis_tready(en),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready)
);

endmodule

`resetall
