"""A development Puppet stack on this machine: PostgreSQL, PuppetDB, Puppet Server,
r10k, sshd and N agents (`jailgen stack up|down`)."""

from generator.stack.layout import Layout, Manifest, Ports
from generator.stack.services import StackSettings, catalog_puppet_block, down, running, up

__all__ = [
    "Layout",
    "Manifest",
    "Ports",
    "StackSettings",
    "catalog_puppet_block",
    "down",
    "running",
    "up",
]
