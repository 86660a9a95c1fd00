"""The op contract (hwcomp/ops/base.py): every registered op declares its attributes."""
import numpy as np
import pytest

import hwcomp.ops.all  # noqa: F401  (registers every op)
from hwcomp.ir.dtypes import Int
from hwcomp.ops.base import _BY_NAME, BOOL, DTYPE, INT, REAL, AttrSpec, Op, optional, register, required


def test_every_registered_op_declares_a_schema_of_attr_specs():
    assert len(_BY_NAME) > 40
    for op in _BY_NAME.values():
        assert all(isinstance(s, AttrSpec) for s in op.attr_schema.values()), op.name


def test_register_refuses_an_op_without_a_schema():
    class Undeclared(Op):
        name = "Undeclared_for_test"

    with pytest.raises(TypeError, match="op Undeclared_for_test must declare attr_schema"):
        register(Undeclared)
    assert "Undeclared_for_test" not in _BY_NAME


def test_register_refuses_a_schema_of_bare_types():
    class Loose(Op):
        name = "Loose_for_test"
        attr_schema = {"axis": int}

    with pytest.raises(TypeError, match="Loose_for_test"):
        register(Loose)


def test_attr_spec_accepts():
    assert required(*INT).accepts(3) and required(*INT).accepts(np.int32(3))
    assert not required(*INT).accepts(True) and not required(*INT).accepts(3.0)
    assert required(*REAL).accepts(3) and required(*REAL).accepts(np.float32(0.5))
    assert not required(*REAL).accepts(False)
    assert required(*BOOL).accepts(np.bool_(True)) and not required(*BOOL).accepts(1)
    assert optional(*DTYPE).accepts(Int(4)) and not optional(*DTYPE).accepts("int<4>")
    assert required(*INT).required and not optional(*INT).required
    assert required(*INT).type_names() == "int" and required(*REAL).type_names() == "int or float"
