"""How report.html writes numbers: thousands separated, percentages with one
decimal, a dash for what is unknown."""
from __future__ import annotations

DASH = "\u2013"


def num(v, digits: int = 0) -> str:
    """1234 and 1234.0 -> '1,234'; 0.25 -> '0.3' at digits=1; None -> a dash."""
    if v is None:
        return DASH
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int) or float(v).is_integer():
        return f"{int(v):,}"
    return f"{v:,.{digits}f}"


def pct(v) -> str:
    return DASH if v is None else f"{100 * v:.1f}%"


def ratio(v) -> str:
    """4.0 -> '4×', 3.529 -> '3.53×'."""
    return DASH if v is None else f"{v:,.2f}".rstrip("0").rstrip(".") + "\u00d7"


def kv(label: str, value: str) -> dict:
    return {"label": label, "value": value}
