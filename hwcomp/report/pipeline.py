"""report.json's `pipeline`: the design's stream graph as plain data, for the
picture in report.html and anyone else who wants the blocks and their wiring.

Nodes are the design's stages in build order (which is stream order); edges
are its streams, one per (producer, consumer) pair. The stream from the top's
s_axis has `from` None, the one to m_axis `to` None."""
from __future__ import annotations

from hwcomp.hw.blocks import block_of_unit
from hwcomp.hw.design import Design, Stream


def _element(s: Stream) -> str:
    return f"{'s' if s.signed else 'u'}{s.width}"


def pipeline_section(design: Design) -> dict:
    producer = {name: st.name for st in design.stages for name in st.outputs}
    nodes = [{"name": st.name, "kind": block_of_unit(st.unit).__name__, "node": st.node, "summary": st.summary,
              "cycles": st.cycles} for st in design.stages]
    edges = []

    def edge(stream: str, to: str | None) -> None:
        s = design.stream(stream)
        edges.append({"from": producer.get(stream), "to": to, "stream": s.name, "lanes": s.lanes,
                      "element": _element(s), "bits": s.word_width})

    for st in design.stages:
        for name in st.inputs:
            edge(name, st.name)
    edge(design.output, None)
    return {"nodes": nodes, "edges": edges}
