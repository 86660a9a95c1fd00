"""The cell tables: what each flow's cells count as."""
import pytest

from hwcomp.errors import HwcompError
from hwcomp.synth.cells import count_cells


def test_xilinx_lutram_counts_its_luts_and_ramb36_two_halves():
    c = count_cells({"LUT6": 3, "RAM32M": 2, "CARRY4": 5, "FDRE": 7, "DSP48E1": 1, "RAMB36E1": 1,
                     "RAMB18E1": 1, "IBUF": 9}, "xc7")
    assert c.as_dict() == {"lut": 3 + 8, "ff": 7, "dsp": 1, "bram18": 3}


def test_ecp5_carry_cells_are_two_luts_and_ice40_ebr_is_four_eighteenths():
    assert count_cells({"LUT4": 4, "CCU2C": 3, "PFUMX": 2}, "ecp5").lut == 10
    assert count_cells({"SB_RAM40_4K": 9}, "ice40").bram18 == pytest.approx(2.0)


def test_an_unknown_cell_is_an_error_not_a_zero():
    with pytest.raises(HwcompError, match="FOO"):
        count_cells({"LUT4": 1, "FOO": 1}, "ecp5")
