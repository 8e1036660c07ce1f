"""Sharing benchmark: Kuorum's verifiable sharing and share sealing against named peers.

Prints one Markdown table (the format of docs/benchmarks.md): median microseconds per
operation for (n=5, t=3) and (n=16, t=11), with pycryptodome's Shamir (16-byte secrets,
GF(2^128), no verification) and shamir-mnemonic's raw split/recover (SLIP-39, GF(256),
32-byte secrets, a digest share checks the result) measured in the same run.

    python bench/sharing.py [--runs 300]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kuorum import envelope, sharing

PARAMETERS = ((5, 3), (16, 11))


@dataclass(frozen=True)
class Row:
    operation: str
    kuorum: float | None
    peer: str = "—"
    peer_us: float | None = None


def median_us(action: Callable[[], Any], runs: int) -> float:
    """Median wall time of ``action`` in microseconds, after a short warm-up."""
    for _ in range(max(runs // 10, 3)):
        action()
    samples = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        action()
        samples.append(time.perf_counter_ns() - start)
    return statistics.median(samples) / 1000


def pycryptodome_rows(n: int, t: int, runs: int) -> list[tuple[str, float]]:
    from Crypto.Protocol.SecretSharing import Shamir

    secret = os.urandom(16)
    shares = Shamir.split(t, n, secret)
    return [
        ("split", median_us(lambda: Shamir.split(t, n, secret), runs)),
        ("combine", median_us(lambda: Shamir.combine(shares[:t]), runs)),
        ("all", median_us(lambda: Shamir.combine(Shamir.split(t, n, secret)[:t]), runs)),
    ]


def mnemonic_rows(n: int, t: int, runs: int) -> list[tuple[str, float]]:
    try:
        from shamir_mnemonic import shamir
    except ImportError:
        return []
    secret = os.urandom(32)
    shares = shamir._split_secret(t, n, secret)
    return [
        ("split", median_us(lambda: shamir._split_secret(t, n, secret), runs)),
        ("combine", median_us(lambda: shamir._recover_secret(t, shares[:t]), runs)),
        (
            "all",
            median_us(
                lambda: shamir._recover_secret(t, shamir._split_secret(t, n, secret)[:t]), runs
            ),
        ),
    ]


def sharing_rows(n: int, t: int, runs: int) -> list[Row]:
    key = sharing.new_data_key()
    dealing = sharing.split(key, t, n)
    share, commitments = dealing.shares[-1], dealing.commitments
    chosen = dealing.shares[:t]

    def everything() -> bytes:
        d = sharing.split(key, t, n)
        assert sharing.verify(d.shares[-1], d.commitments)
        return sharing.combine(d.shares[:t], d.commitments)

    ours = {
        "split": median_us(lambda: sharing.split(key, t, n), runs),
        "verify": median_us(lambda: sharing.verify(share, commitments), runs),
        "combine": median_us(lambda: sharing.combine(chosen, commitments), runs),
        "all": median_us(everything, runs),
    }
    peers = {
        "pycryptodome Shamir (16 B, unverified)": dict(pycryptodome_rows(n, t, runs)),
        "shamir-mnemonic raw (32 B, digest share)": dict(mnemonic_rows(n, t, runs)),
    }
    label = f"(n={n}, t={t})"
    names = {
        "split": f"split {label}",
        "verify": f"verify 1 share {label}",
        "combine": f"combine {t} shares, verified {label}",
        "all": f"split + verify 1 + combine {t} {label}",
    }
    rows = []
    for step, name in names.items():
        matched = [
            Row(name, ours[step], p, times[step]) for p, times in peers.items() if step in times
        ]
        rows += matched or [Row(name, ours[step])]
    return rows


def kem_rows(kem: str, runs: int) -> list[Row]:
    sender = envelope.NodeKeys.generate().signing
    verifier = sender.public_key()
    share = sharing.split(sharing.new_data_key(), 3, 5).shares[1]
    context = envelope.ShareContext("bench", "secret", 1, share.index, "node-b", "store")
    node = envelope.EncryptionPrivateKey.generate(kem=kem)
    public = node.public_key()
    sealed = envelope.seal_share(share, recipient=public, context=context, sender=sender)
    seal = median_us(
        lambda: envelope.seal_share(share, recipient=public, context=context, sender=sender), runs
    )
    open_ = median_us(
        lambda: envelope.open_share(sealed, recipient=node, context=context, sender=verifier), runs
    )
    size = len(sealed.to_bytes())
    return [
        Row(f"seal 1 share, {kem}, signed ({size} B)", seal),
        Row(f"open 1 share, {kem}, signature checked", open_),
    ]


def _cell(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def render(rows: list[Row]) -> str:
    lines = [
        "| operation | Kuorum (µs) | peer | peer (µs) | ratio (Kuorum / peer) |",
        "|---|---:|---|---:|---:|",
    ]
    for row in rows:
        ratio = "—"
        if row.kuorum is not None and row.peer_us:
            ratio = f"{row.kuorum / row.peer_us:.2f}"
        cells = (row.operation, _cell(row.kuorum), row.peer, _cell(row.peer_us), ratio)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if "model name" in line)
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300, help="timed runs per operation")
    args = parser.parse_args()
    rows = [row for n, t in PARAMETERS for row in sharing_rows(n, t, args.runs)]
    rows += [row for kem in envelope.KEMS for row in kem_rows(kem, args.runs)]
    print(f"Sharing benchmark, median of {args.runs} runs; {machine()}")
    print()
    print(render(rows))


if __name__ == "__main__":
    main()
