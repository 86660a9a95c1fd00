"""The place-and-route shell: a design's top behind twelve pins.

A streaming top has s_axis_tdata + m_axis_tdata + 8 pins (the digits MLP 216),
while the iCE40 UP5K's sg48 package has 39 and nextpnr-ice40 has
no out-of-context mode; nextpnr-ecp5's `--out-of-context` would leave the
clock off the global network. So both families place the same shell
(pnr_shell.v.j2): TDATA shifted in and out one bit per clock, every other
port registered. It adds s_width + m_width + 6 flip-flops and about m_width
LUTs (the load-or-shift multiplexer of the output register) to the placed
design, and no logic between the accelerator's own registers.
"""
from __future__ import annotations

from pathlib import Path

import jinja2

SHELL_TOP = "hwcomp_pnr_shell"
SHELL_PINS = 12  # clk, rst, s_bit, s_shift, s_valid, s_last, s_ready, m_bit, m_shift, m_valid, m_last, m_ready
_TEMPLATE = Path(__file__).with_name("pnr_shell.v.j2")


def write_shell(path: Path, top: str, s_width: int, m_width: int) -> Path:
    """Write the shell around `top` (TDATA widths `s_width`, `m_width`) to `path`."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    text = env.from_string(_TEMPLATE.read_text()).render(top=top, s_width=s_width, m_width=m_width)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
