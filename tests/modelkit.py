"""Hypothesis strategies for valid DecentralizedSecret specs, shared by the unit tests
(round trips) and the integration tests (the apiserver accepts what Python accepts)."""

from __future__ import annotations

import functools
from datetime import timedelta

from hypothesis import strategies as st

from kuorum import models, sharing
from kuorum.models import Charset, DecentralizedSecretSpec, SelectorOperator

names = st.from_regex(r"\A[a-z]([-a-z0-9]{0,10}[a-z0-9])?\Z")
label_keys = st.from_regex(r"\A([a-z]{1,5}\.io/)?[a-z]([-a-z0-9_.]{0,8}[a-z0-9])?\Z")
label_values = st.from_regex(r"\A([A-Za-z0-9]([-A-Za-z0-9_.]{0,8}[A-Za-z0-9])?)?\Z")
_bytes = st.binary(min_size=1, max_size=64)

keys = st.lists(
    st.builds(
        models.GeneratedKey,
        st.from_regex(r"\A[-._a-zA-Z0-9]{1,20}\Z"),
        st.integers(1, 4096),
        st.sampled_from(Charset),
    ),
    min_size=1,
    max_size=5,
    unique_by=lambda k: k.name,
).map(lambda ks: models.Generate(tuple(ks)))


@st.composite
def requirements(draw: st.DrawFn) -> models.Requirement:
    operator = draw(st.sampled_from(SelectorOperator))
    with_values = operator in (SelectorOperator.IN, SelectorOperator.NOT_IN)
    values = draw(st.lists(label_values, min_size=1, max_size=3)) if with_values else []
    return models.Requirement(draw(label_keys), operator, tuple(values))


selectors = st.builds(
    models.LabelSelector,
    st.dictionaries(label_keys, label_values, max_size=3),
    st.lists(requirements(), max_size=3).map(tuple),
)


@functools.cache
def commitments(threshold: int, shares: int) -> bytes:
    """Real commitments for t-of-n (the spec parser checks them against the spec)."""
    return sharing.split(bytes(32), threshold, shares).commitments.to_bytes()


@st.composite
def sealed(draw: st.DrawFn, threshold: int, shares: int) -> models.Sealed:
    nodes = draw(st.lists(names, min_size=shares, max_size=shares, unique=True))
    indexes = draw(st.permutations(range(1, shares + 1)))
    return models.Sealed(
        draw(st.integers(1, 2**53 - 1)),
        commitments(threshold, shares),
        draw(_bytes),
        draw(st.binary(min_size=32, max_size=32)),
        tuple(
            models.SealedEntry(node, index, draw(_bytes), draw(st.from_regex(r"\A[0-9a-f]{32}\Z")))
            for node, index in zip(nodes, indexes, strict=True)
        ),
    )


@st.composite
def specs(draw: st.DrawFn) -> DecentralizedSecretSpec:
    """Any valid spec: every source, optional selector, rotation, target and access."""
    shares = draw(st.integers(1, 16))
    threshold = draw(st.integers(1, shares))
    kind = draw(st.sampled_from(["generate", "fromSecret", "sealed"]))
    if kind == "generate":
        source = models.Source(generate=draw(keys))
    elif kind == "fromSecret":
        source = models.Source(from_secret=models.FromSecret(draw(names), draw(st.booleans())))
    else:
        source = models.Source(sealed=draw(sealed(threshold, shares)))
    rotation = None
    if kind == "generate":
        seconds = st.integers(60, 10**7)
        rotation = draw(st.none() | seconds.map(lambda s: models.Rotation(timedelta(seconds=s))))
    namespaces = st.lists(names, min_size=1, max_size=4, unique=True).map(tuple)
    accounts = st.lists(
        st.tuples(st.none() | names, names).map(lambda p: ":".join(x for x in p if x)),
        min_size=1,
        max_size=4,
        unique=True,
    ).map(tuple)
    access = draw(
        st.none() | st.builds(models.Access, st.none() | namespaces, st.none() | accounts)
    )
    return DecentralizedSecretSpec(
        threshold=threshold,
        shares=shares,
        source=source,
        node_selector=draw(st.none() | selectors),
        rotation=rotation,
        target=models.Target(
            draw(st.none() | names), draw(st.sampled_from([str(t) for t in models.SecretType]))
        ),
        access=access,
        allow_single_custodian=threshold == 1 or draw(st.booleans()),
    )
