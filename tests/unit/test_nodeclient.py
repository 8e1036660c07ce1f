"""What a node says in an error is repeated only made safe: one printable line, bounded."""

from __future__ import annotations

from kuorum.kube.nodeclient import NODE_TEXT, _said


def test_a_nodes_error_text_cannot_forge_log_lines_or_flood() -> None:
    forged = "bad share\n[2026-12-02 19:00:00] INFO operator: all is well\x1b[2J"
    said = _said(forged)
    assert "\n" not in said and "\x1b" not in said and said.startswith("bad share ")
    assert len(_said("x" * 10_000)) == NODE_TEXT
    assert _said({"not": "text"}) == "" and _said(None) == ""
