"""The compile summary's line for structured pruning (report.json's `pruning`, passes/pruning_record)."""
from __future__ import annotations


def format_pruning(rec: dict | None) -> str | None:
    """One line for the compile summary, or None when pruning neither was asked for nor removed anything."""
    if not rec or (not rec["ratio"] and not rec["dead_channels_removed"]):
        return None
    ch0 = sum(l["channels_before"] for l in rec["layers"])
    ch1 = sum(l["channels_after"] for l in rec["layers"])
    how = f"L1 {rec['ratio']:g}, {rec['scope']} scope" if rec["ratio"] else "dead channels only"
    return (f"pruning ({how}): {rec['macs_before']:,} -> {rec['macs_after']:,} MACs, "
            f"{rec['params_before']:,} -> {rec['params_after']:,} parameters, {ch0} -> {ch1} channels "
            f"({rec['dead_channels_removed']} dead, {rec['ranked_channels_removed']} by L1 norm)")
