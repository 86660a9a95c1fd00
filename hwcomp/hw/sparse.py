"""The sparse matrix-vector unit (templates/hwcomp_sparse_mvu.v): storage format,
row balancing, golden model and cycle model.

The unit computes what the dense unit at PE = `lanes` computes (the same
MVULayer: padded weights, bias, widths, ReLU / requantization, row shifts;
docs/numerics.md), but stores only the non-zero weights and spends one cycle
per stored entry instead of one per weight.

Storage (row-wise, one entry stream per PE lane): rows are padded to NF*P and
cut into NF groups of P consecutive rows, group k being output word k. Each PE
computes exactly one row of every group (which one is the balancing choice,
`pe_rows[k, p]`), so a PE's k-th finished row always belongs to output word k
and the words leave in channel order through a P x P crossbar (`lane_map`).
A PE's rows are a sequence of entries (value, delta, last): the entry's column
is the previous entry's column + 1 + delta (the row starts at column -1), so
delta counts the zeros skipped; a gap longer than 2^IDX_W - 1 zeros is bridged
by padding entries (value 0, delta 2^IDX_W - 1) and an empty row is one entry
(value 0, delta 0, last). Columns are counted in the unit's buffer addressing:
input word c // SIMD in the bits above clog2(SIMD), lane c % SIMD below
(`buffer_columns`), so the hardware splits a column into address and lane
without dividing. Entry line t of the ROMs holds every PE's t-th entry; PEs
with fewer entries than the longest end in idle entries (value 0, no last).

Balancing: groups in decreasing order of the spread of their rows' entry
counts, and in each group the rows in decreasing entry count onto the PEs in
increasing load (ties by index: deterministic); a few swaps within groups then
lower the longest PE while they can.

Cycle model per vector: max(E, SF), E = ROM lines = the longest PE's entry count
(padding and empty rows included), SF = ceil(cols / SIMD) input beats; the output's
NF beats never exceed E (every row is at least one entry). The input vector is
double-buffered, so loading the next vector overlaps computing this one.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwcomp.hw.design import MVULayer
from hwcomp.numerics import ceil_div, int_range, relu_requant

# Cycles from the issue of a vector's last entry step to the handshake of its
# last output word when nothing stalls: entry ROM, input buffer read, the
# accumulate into the result FIFO, the FIFO pop, the activation into the output FIFO.
SPARSE_LATENCY = 5
# The smallest and largest relative index width the unit is built with.
IDX_WIDTHS = range(1, 9)
# An index width may cost this share more entry steps than the widest if it saves memory.
IDX_STEP_SLACK = 0.03


def lane_bits(simd: int) -> int:
    """clog2(SIMD): the bits of a column's lane in the buffer addressing."""
    return (simd - 1).bit_length()


def buffer_columns(cols_p: int, simd: int) -> np.ndarray:
    """Column c -> its buffer column: word c // SIMD above clog2(SIMD) bits, lane c % SIMD below."""
    c = np.arange(cols_p, dtype=np.int64)
    return ((c // simd) << lane_bits(simd)) + c % simd


def row_entry_counts(weights: np.ndarray, simd: int, idx_width: int) -> np.ndarray:
    """Entries per row (non-zeros + padding entries, at least 1) of a [rows, cols_p] matrix."""
    w = np.asarray(weights)
    rows = w.shape[0]
    r, c = np.nonzero(w)
    if r.size == 0:
        return np.ones(rows, dtype=np.int64)
    bc = buffer_columns(w.shape[1], simd)[c]
    prev = np.concatenate(([-1], bc[:-1]))
    prev[np.concatenate(([True], r[1:] != r[:-1]))] = -1
    pads = (bc - prev - 1) >> idx_width             # gap // 2^IDX_W: entries of 2^IDX_W - 1 zeros + 1
    counts = np.bincount(r, weights=1 + pads, minlength=rows).astype(np.int64)
    return np.maximum(counts, 1)


def balance_rows(counts: np.ndarray, pe: int) -> np.ndarray:
    """[NF, P]: the row PE p computes as its k-th, one row of each group of P rows per PE."""
    nf = ceil_div(len(counts), pe)
    c = np.ones(nf * pe, dtype=np.int64)     # padded rows are empty rows: one entry
    c[: len(counts)] = counts
    groups = c.reshape(nf, pe)
    assign = np.zeros((nf, pe), dtype=np.int64)
    load = np.zeros(pe, dtype=np.int64)
    spread = groups.max(axis=1) - groups.min(axis=1)
    for k in sorted(range(nf), key=lambda k: (-spread[k], k)):
        rows = sorted(range(pe), key=lambda j: (-groups[k, j], j))
        pes = sorted(range(pe), key=lambda p: (load[p], p))
        for j, p in zip(rows, pes):
            assign[k, p] = k * pe + j
            load[p] += groups[k, j]
    return _improve(assign, c, load)


def _improve(assign: np.ndarray, counts: np.ndarray, load: np.ndarray, rounds: int = 200) -> np.ndarray:
    """Swap two rows of a group between the longest PE and another while that shortens
    the longest without making the other longer than it was."""
    for _ in range(rounds):
        top = int(np.argmax(load))
        best = None
        for k in range(assign.shape[0]):
            a = counts[assign[k, top]]
            b = counts[assign[k]]
            gain = a - b                              # what the top PE would lose
            new_other = load + gain
            ok = (gain > 0) & (new_other < load[top])
            ok[top] = False
            if ok.any():
                p = int(np.argmin(np.where(ok, new_other, np.iinfo(np.int64).max)))
                cand = max(load[top] - gain[p], new_other[p])
                if best is None or cand < best[0]:
                    best = (cand, k, p, int(gain[p]))
        if best is None or best[0] >= load[top]:
            break
        _, k, p, gain = best
        assign[k, top], assign[k, p] = assign[k, p], assign[k, top]
        load[top] -= gain
        load[p] += gain
    return assign


def pe_entry_counts(counts: np.ndarray, assign: np.ndarray) -> np.ndarray:
    c = np.ones(assign.size, dtype=np.int64)
    c[: len(counts)] = counts
    return c[assign].sum(axis=0)


def steps_per_vector(weights: np.ndarray, pe: int, simd: int, idx_width: int) -> int:
    """E: the ROM lines (the longest PE's entries) of a [rows, cols_p] matrix at `pe` lanes."""
    counts = row_entry_counts(weights, simd, idx_width)
    return int(pe_entry_counts(counts, balance_rows(counts, pe)).max())


def choose_index_width(weights: np.ndarray, simd: int, weight_width: int) -> int:
    """The index width with the fewest entry bits among those within IDX_STEP_SLACK of the
    fewest entries (wide indices need no padding entries but cost bits on every entry).
    Judged on the total entries, so the choice does not depend on the lanes."""
    total = {i: int(row_entry_counts(weights, simd, i).sum()) for i in IDX_WIDTHS}
    fewest = min(total.values())
    ok = [i for i in IDX_WIDTHS if total[i] <= fewest + int(fewest * IDX_STEP_SLACK)]
    return min(ok, key=lambda i: (total[i] * (weight_width + i + 1), i))


def encode(weights: np.ndarray, assign: np.ndarray, simd: int, idx_width: int) -> tuple[np.ndarray, ...]:
    """Entry streams: values, deltas, lasts, each [E, P] int64 (idle entries at the end are 0)."""
    w = np.asarray(weights, dtype=np.int64)
    bc = buffer_columns(w.shape[1], simd)
    dmax = (1 << idx_width) - 1
    streams = []
    for p in range(assign.shape[1]):
        entries = []
        for row in assign[:, p]:
            nz = np.nonzero(w[row])[0] if row < w.shape[0] else np.zeros(0, dtype=np.int64)
            if nz.size == 0:
                entries.append((0, 0, 1))
                continue
            pos = -1
            for c in nz:
                gap = int(bc[c]) - pos - 1
                while gap > dmax:
                    entries.append((0, dmax, 0))
                    pos += dmax + 1
                    gap -= dmax + 1
                entries.append((int(w[row, c]), gap, 0))
                pos = int(bc[c])
            entries[-1] = entries[-1][:2] + (1,)
        streams.append(entries)
    e = max(len(s) for s in streams)
    out = np.zeros((3, e, len(streams)), dtype=np.int64)
    for p, s in enumerate(streams):
        out[:, : len(s), p] = np.asarray(s, dtype=np.int64).T
    return out[0], out[1], out[2]


@dataclass(frozen=True, eq=False)
class SparseLayer:
    """One sparse unit: the dense unit's numbers at PE = lanes (`dense`) and its entry streams."""
    dense: MVULayer          # weights [rows_p, cols_p], bias, widths, output stage; pe = lanes
    idx_width: int           # bits of a relative index
    pe_rows: np.ndarray      # int64 [NF, P]: row computed by PE p as its k-th
    values: np.ndarray       # int64 [E, P]: entry weights (0 for padding and idle entries)
    deltas: np.ndarray       # int64 [E, P]: zeros skipped before the entry
    lasts: np.ndarray        # int64 [E, P]: 1 on a row's last entry
    in_fifo_depth: int = 2

    name = property(lambda self: self.dense.name)
    rows = property(lambda self: self.dense.rows)
    cols = property(lambda self: self.dense.cols)
    pe = property(lambda self: self.dense.pe)
    simd = property(lambda self: self.dense.simd)
    nf = property(lambda self: self.dense.nf)
    sf = property(lambda self: self.dense.sf)
    in_width = property(lambda self: self.dense.in_width)
    out_width = property(lambda self: self.dense.out_width)

    @property
    def entries(self) -> int:
        """E: entry steps per vector (ROM lines)."""
        return int(self.values.shape[0])

    @property
    def busy_entries(self) -> int:
        """Steps up to the longest PE's last row end (E unless the ROM is padded with idle lines)."""
        ends = np.nonzero(self.lasts.any(axis=1))[0]
        return int(ends[-1]) + 1 if ends.size else 0

    @property
    def cycles(self) -> int:
        """Cycles per vector at full rate: the entry steps, or the input beats when slower."""
        return max(self.entries, self.sf)

    @property
    def nnz(self) -> int:
        return int(np.count_nonzero(self.dense.weights))

    @property
    def lane_map(self) -> np.ndarray:
        """[NF, P]: the PE whose result is lane l of output word k."""
        m = np.zeros_like(self.pe_rows)
        k = np.arange(self.nf)[:, None]
        m[k, self.pe_rows - k * self.pe] = np.arange(self.pe)[None, :]
        return m

    @property
    def pe_bias(self) -> np.ndarray:
        """[NF, P]: the bias of each PE's k-th row."""
        return np.asarray(self.dense.bias, dtype=np.int64)[self.pe_rows]

    @property
    def pe_shifts(self) -> np.ndarray | None:
        """[NF, P]: the requantization shift of each PE's k-th row (row shifts only)."""
        rs = self.dense.row_shifts
        return None if rs is None else np.asarray(rs, dtype=np.int64)[self.pe_rows]

    @property
    def result_addr_bits(self) -> int:
        """Result FIFO of 2^bits accumulators per PE: room for a whole vector's rows and the
        pipeline's few in flight, so a full-rate stream never stalls on it."""
        return max(1, (self.nf + 4 - 1).bit_length())


def sparse_layer(dense: MVULayer, idx_width: int | None = None, in_fifo_depth: int = 2,
                 entries: int | None = None) -> SparseLayer:
    """Encode the dense unit's padded weights at PE = dense.pe lanes; `entries` pads the
    entry ROMs with idle lines to that many steps (tests share one build across draws)."""
    w = np.asarray(dense.weights, dtype=np.int64)
    if idx_width is None:
        idx_width = choose_index_width(w, dense.simd, dense.weight_width)
    counts = row_entry_counts(w, dense.simd, idx_width)
    assign = balance_rows(counts, dense.pe)
    values, deltas, lasts = encode(w, assign, dense.simd, idx_width)
    if entries is not None:
        if entries < values.shape[0]:
            raise ValueError(f"sparse layer {dense.name}: {entries} entry lines hold less than {values.shape[0]}")
        values, deltas, lasts = (np.pad(a, ((0, entries - a.shape[0]), (0, 0))) for a in (values, deltas, lasts))
    return SparseLayer(dense, idx_width, assign, values, deltas, lasts, in_fifo_depth)


def check_sparse_layer(layer: SparseLayer) -> None:
    """Raise ValueError if the unit cannot compute its dense layer exactly as encoded."""
    d = layer.dense

    def fail(msg: str) -> None:
        raise ValueError(f"sparse layer {layer.name}: {msg}")

    if d.xnor or d.weight_bipolar or d.thresholds is not None:
        fail("supported: multi-bit weights with ReLU / requantization (no thresholds, bipolar or XNOR)")
    if not 1 <= layer.idx_width <= 30:
        fail(f"idx_width {layer.idx_width} outside 1..30")
    if layer.in_fifo_depth < 2:
        fail("in_fifo_depth must be >= 2 for full rate")
    if layer.entries < d.nf:
        fail(f"{layer.entries} entry lines for {d.nf} rows per PE")
    if sorted(layer.pe_rows.ravel().tolist()) != list(range(d.rows_p)) or \
            ((layer.pe_rows // d.pe) != np.arange(d.nf)[:, None]).any():
        fail("pe_rows must give each PE one row of every group of PE rows")
    if not np.array_equal(decode(layer), np.asarray(d.weights, dtype=np.int64)):
        fail("the entry streams do not decode to the weights")


def decode(layer: SparseLayer) -> np.ndarray:
    """The [rows_p, cols_p] weights the entry streams hold, walked as the hardware walks them."""
    d = layer.dense
    col_of = {int(b): c for c, b in enumerate(buffer_columns(d.cols_p, d.simd))}
    w = np.zeros((d.rows_p, d.cols_p), dtype=np.int64)
    for p in range(d.pe):
        k, pos = 0, -1
        for t in range(layer.entries):
            if k >= d.nf:            # idle entries after the PE's last row
                break
            pos += 1 + int(layer.deltas[t, p])
            v = int(layer.values[t, p])
            if v:
                if pos not in col_of:
                    raise ValueError(f"sparse layer {layer.name}: PE {p} entry {t} points at no column")
                w[layer.pe_rows[k, p], col_of[pos]] = v
            if layer.lasts[t, p]:
                k, pos = k + 1, -1
        if k != d.nf:
            raise ValueError(f"sparse layer {layer.name}: PE {p} ends {k} of {d.nf} rows")
    return w


def sparse_reference(layer: SparseLayer, x_int: np.ndarray) -> np.ndarray:
    """[samples, cols] -> [samples, rows_p] output words' elements, bit exact: each PE's
    rows from its decoded entries, its own bias and shift, then the crossbar."""
    d = layer.dense
    x = np.asarray(x_int)
    lo, hi = int_range(d.in_width, d.in_signed)
    if x.ndim != 2 or x.shape[1] not in (d.cols, d.cols_p) or (x.size and (x.min() < lo or x.max() > hi)):
        raise ValueError(f"{layer.name}: expected inputs [samples, {d.cols}] in [{lo}, {hi}]")
    xp = np.zeros((x.shape[0], d.cols_p), dtype=object)
    xp[:, : x.shape[1]] = x.astype(object)
    w = decode(layer).astype(object)[layer.pe_rows]          # [NF, P, cols_p]
    acc = np.einsum("sc,kpc->skp", xp, w) + layer.pe_bias.astype(object)
    shifts = layer.pe_shifts if layer.pe_shifts is not None else d.shift
    y = relu_requant(acc, d.relu, d.requant, shifts, d.out_min, d.out_max)
    lanes = np.take_along_axis(np.asarray(y), layer.lane_map[None].repeat(x.shape[0], axis=0), axis=2)
    return lanes.reshape(x.shape[0], d.rows_p).astype(np.int64)


def sparse_span(layer: SparseLayer, vectors: int) -> int:
    """Cycles from the first input handshake to the last output handshake, `vectors` back to
    back at full rate: the first vector's beats (its steps start with the last one), one
    vector per `cycles`, then the last vector's steps up to its last row end and the latency."""
    return layer.sf - 1 + (vectors - 1) * layer.cycles + layer.busy_entries - 1 + SPARSE_LATENCY
