"""`kuorum status` renders a secret's status and its nodes on one screen."""

from __future__ import annotations

from kuorum.cli.status import render

SECRET = {
    "metadata": {"namespace": "shop", "name": "db"},
    "spec": {"threshold": 2, "shares": 3},
    "status": {
        "version": 4,
        "sharesReachable": 2,
        "lastCollectionTime": "2026-11-24T19:00:00Z",
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "Committed",
                "message": "Secret db holds version 4",
            },
            {
                "type": "Degraded",
                "status": "True",
                "reason": "NodesUnreachable",
                "message": "share nodes n-2 ...",
            },
        ],
        "nodes": [
            {"name": "n-0", "index": 1, "state": "Stored"},
            {"name": "n-1", "index": 2, "state": "Stored"},
            {"name": "n-2", "index": 3, "state": "Unreachable"},
        ],
        "badShares": [{"node": "n-1", "version": 3, "time": "2026-11-20T10:00:00Z"}],
    },
}
NODES = {"n-0": {"spec": {"zone": "zone-a"}, "status": {"ledgerSize": 12}}}


def test_the_screen_shows_version_nodes_reachability_and_bad_shares() -> None:
    screen = render(SECRET, NODES)
    assert screen.splitlines()[0] == "shop/db: 2-of-3, version 4"
    assert "2 of 3 (need 2)" in screen
    assert "Degraded     True   NodesUnreachable" in screen
    assert any(
        line.split()[:5] == ["n-0", "1", "Stored", "zone-a", "12"] for line in screen.splitlines()
    )
    assert any(line.split()[:3] == ["n-2", "3", "Unreachable"] for line in screen.splitlines())
    assert "n-1 (version 3)" in screen


def test_a_fresh_secret_without_status_renders_placeholders() -> None:
    screen = render(
        {"metadata": {"namespace": "a", "name": "b"}, "spec": {"threshold": 1, "shares": 1}}, {}
    )
    assert screen.splitlines()[0] == "a/b: 1-of-1, version -"


def test_the_source_is_named_without_any_material() -> None:
    sealed = {"version": 3, "sealer": "c2VhbGVy", "payload": "UEFZTE9BRA==", "shares": []}
    sources = {
        "sealed (version 3, sealer c2VhbGVy)": {"sealed": sealed},
        "fromSecret (Secret legacy)": {"fromSecret": {"name": "legacy"}},
        "generate (keys password, pin)": {
            "generate": {"keys": [{"name": "password"}, {"name": "pin"}]}
        },
    }
    for expected, source in sources.items():
        screen = render(dict(SECRET, spec={"threshold": 2, "shares": 3, "source": source}), {})
        assert f"source             {expected}" in screen
        assert "UEFZTE9BRA==" not in screen


def test_with_delivery_pod_the_screen_shows_which_pod_got_which_version_from_whom() -> None:
    from dataclasses import replace
    from datetime import UTC, datetime

    from kuorum.ledger import Entry, EntryKind

    uid = "0f0e0d0c-0b0a-0908-0706-050403020100"

    def released(version: int, pod: str | None, name: str = "db") -> bytes:
        when = datetime(2026, 12, 3, tzinfo=UTC)
        actor = "system:serviceaccount:shop:web"
        entry = Entry(EntryKind.SHARE_RELEASED, when, actor, "shop", name, version, 1, "why")
        if pod is not None:
            entry = replace(entry, pod=pod, pod_uid=uid)
        return entry.to_bytes()

    ledgers = {
        "n-0": [released(1, "shop/web-0"), released(2, "shop/web-0"), released(1, None)],
        "n-1": [released(1, "shop/web-0"), released(1, "shop/web-0", name="other")],
    }
    screen = render(SECRET, NODES, ledgers)
    actor = "system:serviceaccount:shop:web"
    assert f"version 1  shop/web-0 (uid {uid}, {actor})  from n-0, n-1" in screen
    assert f"version 2  shop/web-0 (uid {uid}, {actor})  from n-0" in screen
    assert screen.count("shop/web-0") == 2, "the operator's release and other secrets are not"
    assert "none yet" in render(SECRET, NODES, {"n-0": []})
    assert "deliveries" not in render(SECRET, NODES)
