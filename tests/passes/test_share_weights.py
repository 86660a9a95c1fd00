"""Weight sharing: k-means with linear initialization, at most 2^K non-zero values per layer,
zeros kept, layers already within 2^K left exactly as they are, and the compiled integer layers
(one weight format per layer) holding at most 2^K non-zero codes."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from hwcomp import compile_model
from hwcomp.compile import float_pipeline
from hwcomp.errors import HwcompError
from hwcomp.passes.share_weights import check_shared, kmeans_1d, share_weights, shared_values
from inline_models import mlp, residual_cnn


def test_kmeans_by_hand():
    # linear initialization over [0, 10]: 0, 5, 10; Lloyd converges to the three groups' means
    v = np.array([0.0, 1.0, 2.0, 9.0, 10.0, 4.0, 6.0])
    c, idx = kmeans_1d(v, 3)
    assert np.allclose(c, [1.0, 5.0, 9.5]) and idx.tolist() == [0, 0, 0, 2, 2, 1, 1]
    # a weight moves: from 0, 5, 10, 2.4 first joins 0 (means 1.2, 3.5, 10), then 3 and 4
    c, idx = kmeans_1d(np.array([0.0, 2.4, 3.0, 4.0, 10.0]), 3)
    assert np.allclose(c, [0.0, 9.4 / 3, 10.0]) and idx.tolist() == [0, 1, 1, 1, 2]


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 5), st.integers(1, 400), st.floats(0.0, 0.9), st.integers(0, 2**32 - 1))
def test_shared_layer_holds_2k_values_keeps_zeros_and_is_a_lloyd_fixed_point(bits, n, sparsity, seed):
    rng = np.random.default_rng(seed)
    w = rng.normal(0, 1, n).astype(np.float32)
    w[rng.random(n) < sparsity] = 0
    s = shared_values(w, bits)
    if np.unique(w[w != 0]).size <= 1 << bits:
        assert s is None
        return
    assert s.shape == w.shape and s.dtype == w.dtype
    assert np.unique(s[s != 0]).size <= 1 << bits
    assert np.array_equal(s == 0, w == 0)        # pruned weights stay pruned, nothing else becomes 0
    # every non-zero weight sits on its nearest value, and each value is the mean of its weights
    nz = w != 0
    values = np.unique(s[nz]).astype(np.float64)
    dist = np.abs(w[nz, None].astype(np.float64) - values[None]).min(axis=1)
    assert (np.abs(w[nz].astype(np.float64) - s[nz]) <= dist + 1e-6).all()
    for v in values:
        assert np.isclose(w[s == v].astype(np.float64).mean(), v, rtol=1e-5, atol=1e-6)
    assert np.array_equal(shared_values(w, bits), s)   # deterministic


def test_a_layer_within_2k_values_is_left_exactly_as_it_is(tmp_path):
    g = float_pipeline(mlp(tmp_path, [6, 5, 3]))
    first = g.nodes()[0]
    # four non-zero values and zeros: within K = 2 (zero is not a shared value)
    levels = np.array([-0.5, -0.25, 0.0, 0.75, 0.1], np.float32)
    already = levels[np.random.default_rng(0).integers(0, 5, first.params["weight"].shape)]
    g2 = g.copy()
    g2.replace_node(first.name, type(first)(first.name, first.op, first.inputs, first.outputs, dict(first.attrs),
                                            dict(first.params, weight=already)))
    out = share_weights(g2, 2)
    got = {n.name: n.params["weight"] for n in out.nodes() if "weight" in n.params}
    kept = next(n for n in g2.nodes() if n.name == first.name).params["weight"]
    assert got[first.name] is kept   # the same array, not clustered
    assert all(np.unique(w[w != 0]).size <= 4 for w in got.values())
    assert all(np.unique(n.params["weight"]).size > 4 for n in g.nodes() if "weight" in n.params and n is not first)


def test_conv_weights_are_shared_and_the_input_graph_kept(tmp_path):
    g = float_pipeline(residual_cnn(tmp_path))
    before = {t: v.copy() for t, v in g.constants.items()}
    out = share_weights(g, 2)
    assert all(np.array_equal(g.constants[t], v) for t, v in before.items())
    convs = [n for n in out.nodes() if n.op.name == "Conv"]
    assert convs and all(np.unique(out.constants[n.inputs[1]][out.constants[n.inputs[1]] != 0]).size <= 4
                         for n in convs)


@pytest.mark.parametrize("bits", [2, 3])
def test_compiled_layers_hold_at_most_2k_codes(tmp_path, bits):
    x = np.random.default_rng(1).uniform(0, 1, (16, 1, 8, 8)).astype(np.float32)
    res = compile_model(residual_cnn(tmp_path), tmp_path / "b", calib=x, share_weights=bits)
    layers = [n for n in res.hw_graph.nodes() if "weight" in n.params]
    assert layers and all(np.unique(n.params["weight"][n.params["weight"] != 0]).size <= 1 << bits for n in layers)
    assert all("row_shifts" not in n.params for n in layers)   # one weight format per layer
    assert res.report["options"]["share_weights"] == bits
    check_shared(res.hw_graph, bits, "m")
    with pytest.raises(HwcompError, match="distinct non-zero weight codes, more than 2\\^1 = 2"):
        check_shared(res.hw_graph, 1, "m")


@pytest.mark.parametrize("bad", [0, 9, True, 2.5])
def test_bad_k_is_refused(tmp_path, bad):
    with pytest.raises(HwcompError, match="--share-weights .*supported K = 1..8"):
        compile_model(mlp(tmp_path, [4, 3]), tmp_path / "b", calib=np.zeros((2, 4), np.float32), share_weights=bad)


def test_low_bit_quantization_is_refused(tmp_path):
    with pytest.raises(HwcompError, match="--share-weights with --bits w4a4: low-bit grids"):
        compile_model(mlp(tmp_path, [4, 3]), tmp_path / "b", calib=np.zeros((2, 4), np.float32), bits="w4a4",
                      share_weights=4)


def test_same_input_same_build_and_the_cli_prints_the_ratios(tmp_path, capsys):
    import json

    from hwcomp.cli import main

    path = mlp(tmp_path, [12, 9, 4])
    np.savez(tmp_path / "calib.npz", x=np.random.default_rng(3).uniform(-1, 1, (20, 12)).astype(np.float32))
    for out in ("a", "b"):
        assert main(["compile", str(path), "-o", str(tmp_path / out), "--calib", str(tmp_path / "calib.npz"),
                     "--share-weights", "2"]) == 0
    line = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("II "))
    rep = json.loads((tmp_path / "a" / "report.json").read_text())
    st = rep["storage"]
    assert f"storage {st['total_bits']:,} bits, {st['ratio']:g}x smaller than float32 " \
           f"({st['huffman_ratio']:g}x Huffman-coded)" in line
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert any(p.name.endswith("_codebook.mem") for p in files)
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    assert main(["compile", str(path), "-o", str(tmp_path / "c"), "--share-weights", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "hwcomp: error: --share-weights 0: supported K = 1..8 (2^K values per layer)"
