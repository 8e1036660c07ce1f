"""The `kuorum` command: one entry point for users and for the three components.

Each command lives in its own module that exposes ``register(subparsers)``; that
module only builds its parser, and imports its heavy dependencies (kopf, aiohttp,
the kubernetes client) inside the function it runs, so `kuorum --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from kuorum import __version__
from kuorum.errors import UserError

COMMAND_MODULES: tuple[str, ...] = (
    "kuorum.cli.dev",
    "kuorum.node.command",
    "kuorum.operator.command",
    "kuorum.cli.seal",
    "kuorum.cli.status",
    "kuorum.cli.ledger",
    "kuorum.cli.nodes",
    "kuorum.webhook.command",
    "kuorum.agent.command",
)
"""Modules that contribute commands, in the order `kuorum --help` lists them."""


def build_parser() -> argparse.ArgumentParser:
    """Build the full parser from every command module."""
    parser = argparse.ArgumentParser(
        prog="kuorum",
        description="Decentralized secrets management for Kubernetes.",
    )
    parser.add_argument("--version", action="version", version=f"kuorum {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the chosen command; return its exit status."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.func(args)
    except KeyboardInterrupt:
        return 130
    except UserError as error:
        print(f"kuorum: {error}", file=sys.stderr)
        return 2
    return status
