"""``kuorum agent``: the native sidecar that delivers a pod's Pod-mode secrets as files."""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path
from typing import Any

from kuorum.agentconfig import ENV_VAR, AgentConfig, InvalidConfig
from kuorum.errors import UserError


def register(subparsers: Any) -> None:
    """Add ``kuorum agent`` to the CLI."""
    parser = subparsers.add_parser(
        "agent",
        help="deliver a pod's secrets into its memory volume (sidecar)",
        description="As the pod itself, ask each share node for its share of every secret "
        "the webhook configured, check and combine t of them, write the values as files, "
        "then keep them current. Exits 1 if a first delivery fails.",
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help=f"the agent config (JSON); default: the environment variable {ENV_VAR}, "
        "which the webhook sets",
    )
    parser.add_argument(
        "--once", action="store_true", help="deliver once and exit, without watching"
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="longest wait between two looks at the nodes (default 300): each node holds "
        "the agent's request until it stores a newer version, so rotations arrive at once",
    )
    parser.set_defaults(func=run)


def config_from(args: argparse.Namespace) -> AgentConfig:
    """The config from ``--config`` or the environment, checked."""
    if args.config is not None:
        source = str(args.config)
        try:
            text = args.config.read_text()
        except OSError as error:
            raise UserError(f"cannot read --config {source}: {error.strerror}") from None
    else:
        source = f"${ENV_VAR}"
        text = os.environ.get(ENV_VAR, "")
        if not text:
            raise UserError(
                f"no agent config: set the environment variable {ENV_VAR} (the webhook does "
                "when it injects the agent) or pass --config FILE"
            )
    try:
        return AgentConfig.from_json(text)
    except InvalidConfig as error:
        raise UserError(f"the agent config in {source} is invalid: {error}") from None


def run(args: argparse.Namespace) -> int:
    """Deliver, then watch until SIGTERM (or exit after one delivery with ``--once``)."""
    import asyncio
    import logging

    from kuorum.agent.loop import serve

    if not (math.isfinite(args.interval) and args.interval > 0):
        raise UserError("--interval must be a positive number of seconds")
    config = config_from(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return asyncio.run(serve(config, once=args.once, interval=args.interval))
