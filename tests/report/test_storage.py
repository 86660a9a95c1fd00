"""The storage report: exact bit counts of small layers by hand, every memory role and
HDL constant counted, the Huffman code optimal and prefix-free, float32 from the ONNX."""
from dataclasses import dataclass
from itertools import combinations_with_replacement

import numpy as np
import onnx
from hypothesis import given, settings, strategies as st
from onnx import TensorProto, helper

from conftest import make_dense_layer
from hwcomp.hw.blocks.base import MEMORY_ROLES, Block, Constant, MemoryImage, register, value_bits
from hwcomp.hw.design import Stage
from hwcomp.report.storage import (canonical_code, huffman_lengths, huffman_size, onnx_float_parameters,
                                   stage_storage)


def optimal_cost(counts: list[int]) -> int:
    """Brute force: the cheapest sum(count * length) over every length multiset of a complete
    prefix code (Kraft sum exactly 1), the largest counts on the shortest lengths."""
    n = len(counts)
    if n == 1:
        return counts[0]
    best = None
    for lengths in combinations_with_replacement(range(1, n), n):
        if sum(2.0 ** -l for l in lengths) == 1.0:
            cost = sum(c * l for c, l in zip(sorted(counts, reverse=True), lengths))
            best = cost if best is None else min(best, cost)
    return best


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 1000), min_size=1, max_size=7))
def test_huffman_is_optimal_against_brute_force(counts):
    lengths = huffman_lengths(dict(enumerate(counts)))
    assert sum(counts[s] * l for s, l in lengths.items()) == optimal_cost(counts)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.integers(-128, 127), st.integers(0, 10_000), min_size=1, max_size=60))
def test_canonical_code_is_prefix_free_and_complete(counts):
    lengths = huffman_lengths(counts)
    assert set(lengths) == {s for s, c in counts.items() if c > 0}
    code = canonical_code(lengths)
    words = [format(c, f"0{l}b") for c, l in code.values()]
    assert all(len(w) == l for w, (_, l) in zip(words, code.values()))
    for a in words:
        assert not any(b != a and b.startswith(a) for b in words)
    assert len(set(words)) == len(words)
    if len(words) > 1:   # a complete code: Kraft's sum is exactly one
        assert sum(2.0 ** -len(w) for w in words) == 1.0
    # a rarer symbol never gets a shorter codeword
    present = [s for s in counts if counts[s] > 0]
    for a in present:
        for b in present:
            if counts[a] < counts[b]:
                assert lengths[a] >= lengths[b]


def test_single_symbol_stream_takes_one_bit_per_symbol_and_its_table():
    c = huffman_size(np.full((3, 5), -7), 8)
    assert (c.data_bits, c.table_bits) == (15, 8 + 1)   # value 8 bits, length 1 in 1 bit
    assert huffman_size(np.zeros((0,), np.int64), 4).bits == 0


def test_huffman_size_by_hand():
    # counts 0:5, 1:2, 3:1 -> lengths 1, 2, 2: 5 + 4 + 2 = 11 bits; table 3 x (4 + 2)
    c = huffman_size(np.array([0, 0, 1, 0, 3, 0, 1, 0]), 4)
    assert (c.data_bits, c.table_bits) == (11, 18)
    assert canonical_code(huffman_lengths({0: 5, 1: 2, 3: 1})) == {0: (0, 1), 1: (2, 2), 3: (3, 2)}


def test_layer_bits_by_hand_padding_included():
    # 3 rows x 5 cols at PE 2, SIMD 2: the ROM holds 4 x 6 four-bit weights, 4 twelve-bit biases;
    # requantization adds its one shift (0..12: 4 bits) and two 6-bit saturation bounds.
    w = np.arange(15).reshape(3, 5) % 7 - 3
    layer = make_dense_layer("l", w, [1, 2, 3], pe=2, simd=2, weight_width=4, acc_width=12,
                             requant=True, shift=3, out_width=6, out_signed=True, out_min=-32, out_max=31)
    e = stage_storage(Stage("mvu0", layer, ("a",), ("b",)))
    assert e["bits"] == {"weights": 4 * 6 * 4, "indices": 0, "codebook": 0, "pointers": 0, "bias": 4 * 12,
                         "thresholds": 2 * 6, "shifts": 4}
    assert e["total_bits"] == 96 + 48 + 12 + 4
    padded = np.zeros((4, 6), np.int64)
    padded[:3, :5] = w
    coded = huffman_size(padded, 4)
    assert e["huffman"]["weights"] == {"data_bits": coded.data_bits, "table_bits": coded.table_bits}
    assert e["huffman_total_bits"] == e["total_bits"] - 96 + coded.bits


def test_accumulator_out_layer_has_no_constants():
    layer = make_dense_layer("l", np.ones((2, 3)), pe=1, simd=3, weight_width=2, acc_width=7)
    assert stage_storage(Stage("mvu0", layer, ("a",), ("b",)))["bits"] == {
        "weights": 2 * 3 * 2, "indices": 0, "codebook": 0, "pointers": 0, "bias": 2 * 7, "thresholds": 0,
        "shifts": 0}


@dataclass(frozen=True)
class EveryRole:
    """A test unit storing one image per role (two fields in one of them) and constants."""
    n: int


@register
class EveryRoleBlock(Block):
    unit = EveryRole
    prefix = "roles"

    @classmethod
    def memories(cls, unit, name):
        images = tuple(MemoryImage(f"{name}_{r}.mem", ((np.arange(unit.n * (i + 1)).reshape(unit.n, -1), i + 1),),
                                   role=r) for i, r in enumerate(MEMORY_ROLES))
        return images + (MemoryImage(f"{name}_two.mem", ((np.zeros((unit.n, 2)), 3), (np.ones((unit.n, 1)), 5)),
                                     role="indices"),)

    @classmethod
    def constants(cls, unit):
        return (Constant("A", 9, "shifts"), Constant("B", 2, "codebook"))


def test_every_role_is_counted():
    e = stage_storage(Stage("roles0", EveryRole(3), ("a",), ("b",)))
    want = {r: 3 * (i + 1) * (i + 1) for i, r in enumerate(MEMORY_ROLES)}
    want["indices"] += 3 * 2 * 3 + 3 * 5
    want["shifts"] += 9
    want["codebook"] += 2
    assert e["bits"] == want and e["total_bits"] == sum(want.values())
    # each field of the index stream is coded on its own: 0 (x6) at 3 bits, 1 (x3) at 5 bits
    idx = MEMORY_ROLES.index("indices")
    first = huffman_size(np.arange(3 * (idx + 1)), idx + 1)
    assert e["huffman"]["indices"]["table_bits"] == first.table_bits + (3 + 1) + (5 + 1)
    assert e["huffman"]["indices"]["data_bits"] == first.data_bits + 6 + 3


def test_value_bits():
    assert [value_bits(v) for v in (0, 1, 2, 3, 4, -1, -2, -3, -128, 127)] == [1, 1, 2, 2, 3, 1, 2, 3, 8, 7]


def test_float_parameters_of_the_onnx_model(tmp_path):
    """Weights, biases and BatchNorm's four vectors count; int64 shapes and a quantizer's
    own scale, zero point and bit width do not."""
    f = lambda name, shape: helper.make_tensor(name, TensorProto.FLOAT, shape, np.ones(shape, np.float32).ravel())
    inits = [f("w", [4, 2, 3, 3]), f("b", [4]), f("g", [4]), f("beta", [4]), f("m", [4]), f("v", [4]),
             f("s", [4, 1, 1, 1]), f("z", []), f("bits", []),
             helper.make_tensor("shape", TensorProto.INT64, [2], [1, -1])]
    nodes = [helper.make_node("Quant", ["w", "s", "z", "bits"], ["wq"], domain="qonnx.custom_op.general"),
             helper.make_node("Conv", ["x", "wq", "b"], ["c"]),
             helper.make_node("BatchNormalization", ["c", "g", "beta", "m", "v"], ["n"]),
             helper.make_node("Constant", [], ["k"], value=f("kv", [3])),
             helper.make_node("Reshape", ["n", "shape"], ["y"])]
    g = helper.make_graph(nodes, "m", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 5, 5])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 36])], inits)
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(g, ir_version=10), path)
    assert onnx_float_parameters(path) == 72 + 4 + 16 + 3


def test_shared_layer_stores_indices_and_its_codebook():
    # 3 rows x 5 cols of 8-bit weights from 5 values (0 included) at PE 2, SIMD 2: the ROM
    # holds 4 x 6 three-bit indices, the codebook 2^3 eight-bit lines (three of them unused).
    from dataclasses import replace

    from hwcomp.hw.blocks.mvu import check_layer, codebook_image, mvu_parameters, weight_image

    cb = np.array([-100, -3, 0, 7, 90])
    w = cb[np.arange(15).reshape(3, 5) % 5]
    plain = make_dense_layer("l", w, [1, 2, 3], pe=2, simd=2, weight_width=8, acc_width=16)
    layer = replace(plain, codebook=cb)
    check_layer(layer)
    assert layer.codebook_width == 3
    assert dict(mvu_parameters(layer))["CB_W"] == 3 and "CB_W" not in dict(mvu_parameters(plain))
    index = weight_image(layer, "l").fields[0][0]
    assert np.array_equal(cb[index], weight_image(plain, "l").fields[0][0])   # weight = codebook[index]
    assert codebook_image(layer, "l").fields[0][0].ravel().tolist() == [-100, -3, 0, 7, 90, 0, 0, 0]
    e = stage_storage(Stage("mvu0", layer, ("a",), ("b",)))
    assert e["bits"] == {"weights": 0, "indices": 4 * 6 * 3, "codebook": 8 * 8, "pointers": 0, "bias": 4 * 16,
                         "thresholds": 0, "shifts": 0}
    coded = huffman_size(index, 3)
    assert e["huffman"]["indices"] == {"data_bits": coded.data_bits, "table_bits": coded.table_bits}
    assert e["huffman"]["weights"] == {"data_bits": 0, "table_bits": 0}
    import pytest
    for bad, msg in ((np.array([-100, 0, 7, 90]), "a weight is not in the codebook"),
                     (np.array([0, -3, 7, 90, -100]), "sorted and distinct"),
                     (np.array([-300, -100, -3, 0, 7, 90]), "outside int8")):
        with pytest.raises(ValueError, match=msg):
            check_layer(replace(plain, codebook=bad))


def test_density_is_against_the_layer_before_structured_pruning(tmp_path):
    from hwcomp import compile_model
    from inline_models import mlp

    x = np.random.default_rng(0).uniform(-1, 1, (16, 6)).astype(np.float32)
    res = compile_model(mlp(tmp_path, [6, 8, 3]), tmp_path / "b", calib=x, prune_structured=0.5)
    per = {e["name"]: e for e in res.report["storage"]["per_layer"] if "density" in e}
    hw = {n.name: n.params["weight"] for n in res.hw_graph.nodes() if "weight" in n.params}
    assert sorted(e["weights"] for e in per.values()) == [3 * 8, 8 * 6]   # the layers as the model has them
    assert sum(w.size for w in hw.values()) < 3 * 8 + 8 * 6              # pruning removed some
    for name, e in per.items():
        assert e["nonzero"] == np.count_nonzero(hw[name]) and e["density"] == round(e["nonzero"] / e["weights"], 4)


def test_conv_density_is_against_the_conv_before_pruning(tmp_path):
    from hwcomp import compile_model
    from inline_models import residual_cnn

    x = np.random.default_rng(1).uniform(0, 1, (16, 1, 8, 8)).astype(np.float32)
    full = compile_model(residual_cnn(tmp_path), tmp_path / "a", calib=x).report["storage"]["per_layer"]
    pruned = compile_model(residual_cnn(tmp_path), tmp_path / "b", calib=x, prune_structured=0.4)
    # the model's own weight counts (w0 6x1x3x3, w1 6x6x3x3, w2 5x6x1x1, w3 4x11), pruned or not
    for per in (full, pruned.report["storage"]["per_layer"]):
        assert [e["weights"] for e in per if "weights" in e] == [54, 324, 30, 44]
    hw = sum(n.params["weight"].size for n in pruned.hw_graph.nodes() if "weight" in n.params)
    assert hw < 54 + 324 + 30 + 44
