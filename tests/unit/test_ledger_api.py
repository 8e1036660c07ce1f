"""The `kuorum.ledger` facade: one flat import surface, kept complete by this test."""

from __future__ import annotations

import types

import kuorum.ledger


def test_every_public_name_of_the_facade_is_in_all_and_nothing_else() -> None:
    public = {
        name
        for name, value in vars(kuorum.ledger).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(kuorum.ledger.__all__)
