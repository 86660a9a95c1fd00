import numpy as np
import pytest

from hwcomp.ir.dtypes import BIPOLAR, FLOAT32, Fixed, Int, bits_for_range, parse_dtype


def test_fixed_range_and_scale():
    t = Fixed(8, 4, True)
    assert (t.min_int, t.max_int, t.scale) == (-128, 127, 1 / 16)
    u = Fixed(8, 8, False)
    assert (u.min_int, u.max_int) == (0, 255)


def test_quantize_rounds_half_to_even_and_saturates():
    t = Fixed(8, 1, True)
    # 0.25*2 = 0.5 -> 0 ; 0.75*2 = 1.5 -> 2 ; 1.25*2 = 2.5 -> 2 ; far out of range saturates
    assert t.quantize(np.array([0.25, 0.75, 1.25, -0.25, 1000.0, -1000.0])).tolist() == [0, 2, 2, 0, 127, -128]


def test_dequantize_inverts_quantize_on_grid():
    t = Fixed(6, 3, True)
    q = np.arange(t.min_int, t.max_int + 1)
    assert np.array_equal(t.quantize(t.dequantize(q)), q)


@pytest.mark.parametrize("dt", [FLOAT32, BIPOLAR, Fixed(8, 4, True), Fixed(5, -2, False), Int(16), Int(3, False)])
def test_parse_roundtrip(dt):
    assert parse_dtype(str(dt)) == dt


def test_bits_for_range():
    assert bits_for_range(0, 255) == (8, False)
    assert bits_for_range(-128, 127) == (8, True)
    assert bits_for_range(-129, 0) == (9, True)
    assert bits_for_range(-1, 128) == (9, True)
