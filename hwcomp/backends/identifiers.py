"""Legal, unique Verilog identifiers (and file stems) from arbitrary names.

Node names come from user models: "conv1/Conv", "0.weight", "module", "".
Every name used in generated HDL or as a generated file name goes through
here, so the result is a simple identifier ([A-Za-z_][A-Za-z0-9_]*), never a
Verilog or SystemVerilog keyword, and never contains a path separator.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

# IEEE 1364-2005 and IEEE 1800-2017 reserved words. SystemVerilog's are avoided
# too so the output also reads as SystemVerilog.
KEYWORDS = frozenset("""
    accept_on alias always always_comb always_ff always_latch and assert assign
    assume automatic before begin bind bins binsof bit break buf bufif0 bufif1
    byte case casex casez cell chandle checker class clocking cmos config const
    constraint context continue cover covergroup coverpoint cross deassign
    default defparam design disable dist do edge else end endcase endchecker
    endclass endclocking endconfig endfunction endgenerate endgroup endinterface
    endmodule endpackage endprimitive endprogram endproperty endsequence
    endspecify endtable endtask enum event eventually expect export extends
    extern final first_match for force foreach forever fork forkjoin function
    generate genvar global highz0 highz1 if iff ifnone ignore_bins illegal_bins
    implements implies import incdir include initial inout input inside
    instance int integer interconnect interface intersect join join_any
    join_none large let liblist library local localparam logic longint
    macromodule matches medium modport module nand negedge nettype new nexttime
    nmos nor noshowcancelled not notif0 notif1 null or output package packed
    parameter pmos posedge primitive priority program property protected pull0
    pull1 pulldown pullup pulsestyle_ondetect pulsestyle_onevent pure rand
    randc randcase randsequence rcmos real realtime ref reg reject_on release
    repeat restrict return rnmos rpmos rtran rtranif0 rtranif1 s_always
    s_eventually s_nexttime s_until s_until_with scalared sequence shortint
    shortreal showcancelled signed small soft solve specify specparam static
    string strong strong0 strong1 struct super supply0 supply1 sync_accept_on
    sync_reject_on table tagged task this throughout time timeprecision
    timeunit tran tranif0 tranif1 tri tri0 tri1 triand trior trireg type
    typedef union unique unique0 unsigned until until_with untyped use uwire
    var vectored virtual void wait wait_order wand weak weak0 weak1 while
    wildcard wire with within wor xnor xor
""".split())

_ILLEGAL = re.compile(r"[^A-Za-z0-9_]+")


def sanitize_identifier(name: str, reserved: Iterable[str] = ()) -> str:
    """A legal Verilog identifier close to `name`.

    Runs of other characters become one underscore; a leading digit gets an
    `n_` prefix; keywords and `reserved` names get a trailing underscore.
    Deterministic, but not injective: use `unique_identifiers` for a set.
    """
    ident = _ILLEGAL.sub("_", name).strip("_") or "n"
    if ident[0].isdigit():
        ident = "n_" + ident
    taken = {r.lower() for r in reserved}
    while ident in KEYWORDS or ident.lower() in taken:
        ident += "_"
    return ident


def unique_identifiers(names: Iterable[str], reserved: Iterable[str] = ()) -> list[str]:
    """Sanitized names, one per input, pairwise distinct ignoring case.

    Case is ignored so the names also make distinct file names on
    case-insensitive file systems. Later duplicates get `_2`, `_3`, ...
    """
    reserved = list(reserved)
    used = {r.lower() for r in reserved}
    out = []
    for name in names:
        base = sanitize_identifier(name, reserved)
        ident, k = base, 1
        while ident.lower() in used:
            k += 1
            ident = f"{base}_{k}"
        used.add(ident.lower())
        out.append(ident)
    return out
