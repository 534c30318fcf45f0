"""Acceptance tests of the generated module on FreeBSD, against a model of the
FreeBSD host tools (see README.md)."""
