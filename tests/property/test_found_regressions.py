"""Examples the property tests found, kept as regression tests (issue 9). Each
failed before its fix: the message in the docstring is what the compiler said."""
import importlib.util
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from net_strategies import Folding  # noqa: E402
from random_nets import Concat, Conv, Dense, Net, Residual  # noqa: E402

from hwcomp.passes.quantize import QuantConfig  # noqa: E402

_spec = importlib.util.spec_from_file_location("random_networks", Path(__file__).parent / "test_random_networks.py")
_tests = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_tests)
run_example = _tests.run_example

pytestmark = pytest.mark.rtl


def test_concat_with_an_identity_branch(tmp_path):
    """'the hardware region must have one input and one output stream': the skip branch of
    the concat was requantized on its own (now its producer narrows to the concat's type)."""
    net = Net('residual-dense', (5,), (Dense(3, relu=False), Concat((Dense(4, relu=False),), ()),
                                        Dense(2, relu=False)), seed=1)
    assert run_example(net, 'w8a8', Folding(), 5, tmp_path) == "simulated"


def test_residual_add_over_a_concat(tmp_path):
    """'the inputs of 'Add19' lay out their channels differently': the concat left a gap of
    tail lanes (now its lanes divide its first input's channels)."""
    net = Net('residual-conv', (2, 6, 6), (Conv(5, 1, relu=True, bias=False),
                                            Concat((Conv(13, 1, relu=True, bias=False),), ()),
                                            Residual((Conv(18, 1, relu=True, bias=False),), (), relu=True),
                                            Dense(2, relu=False, bias=False)))
    assert run_example(net, 'w8a8', Folding(), 5, tmp_path) == "simulated"


@pytest.mark.parametrize("net, bits, fold", [
    (Net('mlp', (8,), (Dense(12, relu=True, bias=False), Dense(3, relu=True, bias=False),
                       Dense(2, relu=False, bias=False)), seed=1, signed_input=True),
     'w1a2', Folding(pe_simd=((4, 8), (2, 12), (1, 1)))),
    (Net('mlp', (5,), (Dense(3, relu=False, bias=False),), seed=3, signed_input=False),
     QuantConfig(1, 1, edge_bits=None, input_bits=8), Folding(pe_simd=((2, 5),))),
], ids=["w1a2", "w1a1-all-binary"])
def test_bipolar_weights_with_padded_rows(tmp_path, net, bits, fold):
    """'accumulator range [-36, 21] overflows acc_width 6': rows padded to whole PE folds
    held weight bits 0 (-1 each); they now hold 2-bit zeros and output 0."""
    assert run_example(net, bits, fold, 5, tmp_path) == "simulated"


def test_explicit_folding_of_multi_layer_branches(tmp_path):
    """Refused ('PE must be 1..24'): the positional --fold was matched in the compiler's
    order, not the model's; by layer name the order does not matter."""
    net = Net('residual-dense', (5,), (Dense(6), Concat((Dense(7), Dense(8)), (Dense(9),)), Dense(2)))
    fold = Folding(pe_simd=((3, 5), (2, 6), (3, 7), (4, 6), (2, 17)))
    assert run_example(net, 'w8a8', fold, 5, tmp_path) == "simulated"


def test_concat_reading_through_a_narrow_width_converter(tmp_path):
    """'measured II 29.0 cycles, report expects 21' (make fuzz, branchy family): the join
    buffer sat before the 1 -> 3 lane converter, so while the concat read its other input
    the converter idled, and on its turn refilled at one element per cycle (now the
    buffer follows the converter)."""
    net = Net(family='residual-dense', input_shape=(47,), layers=(
        Dense(out=29, op='Gemm', trans_b=False, bias=False, relu=True),
        Concat(a=(Dense(out=11, op='MatMul', trans_b=True, bias=True, relu=True),
                  Dense(out=21, op='Gemm', trans_b=False, bias=True, relu=False)), b=()),
        Dense(out=2, op='Gemm', trans_b=False, bias=False, relu=False)), seed=1206, signed_input=False)
    assert run_example(net, 'w4a8', Folding(target_ii=None, pe_simd=None), 5, tmp_path) == "simulated"
