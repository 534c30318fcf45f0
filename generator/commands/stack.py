"""`jailgen stack up|down`: a development Puppet stack on this machine
(PostgreSQL, PuppetDB, Puppet Server, r10k, sshd and agents; generator.stack),
for the agent mode of a catalog."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from generator import stack

DEFAULT_DIR = Path("/var/tmp/jailgen-stack")


def stack_up(
    root: Path,
    certnames: tuple[str, ...],
    count: int,
    environment: str,
    say: Callable[[str], None],
) -> stack.Manifest:
    """Start the stack at `root` with the agents `certnames` (else `count` agents
    named agent1.jailgen.test ...); its manifest (pids, ports, paths)."""
    agents = certnames or tuple(f"agent{i}.jailgen.test" for i in range(1, count + 1))
    return stack.up(stack.StackSettings(root, agents, environment), say)


def usage(manifest: stack.Manifest, environment: str) -> list[str]:
    """How to use the running stack: where to push, the catalog's site.puppet."""
    layout = stack.Layout(Path(manifest.root))
    block = stack.catalog_puppet_block(manifest, environment)
    return [
        "",
        f"Push the control repo to {layout.control_remote} (its origin), and use:",
        "",
        "site:",
        *block.rstrip("\n").split("\n"),
        "",
        f"Stop it with: jailgen stack down --dir {manifest.root}",
    ]


def stack_down(root: Path, say: Callable[[str], None]) -> list[tuple[str, int]]:
    """Stop every server of the stack at `root`; (name, pid) of each stopped."""
    return stack.down(root, say)
