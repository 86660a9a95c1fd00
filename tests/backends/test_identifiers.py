from __future__ import annotations

import re

import pytest

from hwcomp.backends.identifiers import KEYWORDS, sanitize_identifier, unique_identifiers

LEGAL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("fc1", "fc1"),
        ("conv1/Conv", "conv1_Conv"),
        ("0.weight", "n_0_weight"),
        ("module", "module_"),
        ("logic", "logic_"),           # SystemVerilog keyword
        ("", "n"),
        ("../../etc/passwd", "etc_passwd"),
        ("a b\tc", "a_b_c"),
        ("Ünïcode-name", "n_code_name"),
        ("__x__", "x"),
    ],
)
def test_sanitize(name: str, expected: str) -> None:
    assert sanitize_identifier(name) == expected


def test_every_keyword_becomes_legal() -> None:
    for kw in KEYWORDS:
        ident = sanitize_identifier(kw)
        assert LEGAL.match(ident) and ident not in KEYWORDS


def test_reserved_names_ignore_case() -> None:
    assert sanitize_identifier("HWCOMP_MVU", reserved=["hwcomp_mvu"]) == "HWCOMP_MVU_"


def test_unique_ignores_case_and_keeps_order() -> None:
    names = ["fc", "FC", "f c", "f-c", "module", "module_"]
    out = unique_identifiers(names)
    assert out == ["fc", "FC_2", "f_c", "f_c_2", "module_", "module__2"]
    assert len({n.lower() for n in out}) == len(out)
    assert all(LEGAL.match(n) and "/" not in n for n in out)


def test_deterministic() -> None:
    names = ["x/y", "x.y", "x-y", "1", "end"]
    assert unique_identifiers(names) == unique_identifiers(list(names))
