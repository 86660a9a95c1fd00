"""Fixed point through residual adds and concats: exact integer joins, close to float."""
import numpy as np
import torch

from hwcomp.frontend.onnx import load_onnx
from hwcomp.hw.stream_ops import AddUnit, Scale
from hwcomp.ir.execute import execute
from hwcomp.ops.join import ResidualAdd
from hwcomp.ops.shape import Concat
from hwcomp.passes.canonicalize import canonicalize
from hwcomp.passes.quantize import QuantConfig, quantize
from hwcomp.passes.streamline_transposes import to_channels_last


class ResFire(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = torch.nn.Conv2d(1, 6, 3, padding=1)
        self.a = torch.nn.Conv2d(6, 6, 3, padding=1)
        self.b = torch.nn.Conv2d(6, 6, 3, padding=1)
        self.e1 = torch.nn.Conv2d(6, 4, 1)
        self.e3 = torch.nn.Conv2d(6, 5, 3, padding=1)
        self.fc = torch.nn.Linear(9 * 4 * 4, 10)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        x = torch.relu(x + self.b(torch.relu(self.a(x))))
        x = torch.cat([torch.relu(self.e1(x)), torch.relu(self.e3(x))], 1)
        return self.fc(torch.flatten(torch.nn.functional.max_pool2d(x, 2), 1))


def test_residual_add_and_concat_in_fixed_point(tmp_path):
    torch.manual_seed(1)
    path = tmp_path / "r.onnx"
    torch.onnx.export(ResFire().eval(), (torch.zeros(1, 1, 8, 8),), str(path), input_names=["x"],
                      output_names=["y"], opset_version=13, dynamo=False)
    g = to_channels_last(canonicalize(load_onnx(path)))
    x = np.random.default_rng(0).uniform(0, 1, (64, 1, 8, 8)).astype(np.float32)
    q = quantize(g, {"x": x}, QuantConfig(8, 8))
    adds = [n for n in q.nodes() if n.op is ResidualAdd]
    assert len(adds) == 1 and adds[0].attrs["relu"] and not adds[0].attrs["dtype"].signed
    cat = next(n for n in q.nodes() if n.op is Concat)
    assert q.tensors[cat.inputs[0]].dtype == q.tensors[cat.inputs[1]].dtype == q.tensors[cat.outputs[0]].dtype
    ref, got = execute(g, {"x": x})["y"], execute(q, {"x": x})["y"]
    assert np.abs(got - ref).max() <= 0.05 * np.abs(ref).max()
    # the join is exactly the hardware block's golden model
    vals = execute(q, {"x": x}, keep_all=True)
    n = adds[0]
    ta, tb, to = (q.tensors[t].dtype for t in (*n.inputs, n.outputs[0]))
    unit = AddUnit(6, 2, ta.width, ta.signed, tb.width, tb.signed, n.attrs["shift0"], n.attrs["shift1"],
                   Scale(1, n.attrs["shift"], to.width, to.signed, to.min_int, to.max_int, True))
    assert np.array_equal(vals[n.outputs[0]], unit.reference(vals[n.inputs[0]], vals[n.inputs[1]]))
