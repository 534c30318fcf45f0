"""Puppet run reports (the YAML of Puppet::Transaction::Report, format 12)."""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class _ReportLoader(yaml.CSafeLoader):
    """Reads Ruby-tagged report YAML as plain mappings."""


def _untagged(loader: yaml.Loader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_ReportLoader.add_multi_constructor("!ruby/", _untagged)


@dataclass(frozen=True)
class ResourceFailure:
    resource: str
    message: str


@dataclass
class RunReport:
    host: str
    status: str  # changed | unchanged | failed | error (no report)
    configuration_version: str | None
    exit_code: int
    failed: list[ResourceFailure] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    run_id: str | None = None  # the report's transaction_uuid

    @property
    def ok(self) -> bool:
        return self.status in ("changed", "unchanged") and not self.failed

    def summary(self) -> str:
        if self.ok:
            return f"{self.status}, {len(self.changed)} resource(s) changed"
        details = [f"{f.resource}: {f.message}" for f in self.failed] or self.errors
        return f"{self.status}: " + ("; ".join(details) or f"exit status {self.exit_code}")

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "status": self.status,
            "configuration_version": self.configuration_version,
            "exit_code": self.exit_code,
            "failed": [{"resource": f.resource, "message": f.message} for f in self.failed],
            "changed": self.changed,
            "errors": self.errors,
            "duration_s": round(self.duration_s, 3),
            "run_id": self.run_id,
        }


def parse_report(text: str, exit_code: int, host: str) -> RunReport:
    data = yaml.load(text, Loader=_ReportLoader) or {}
    statuses: dict[str, Any] = data.get("resource_statuses") or {}
    failed: list[ResourceFailure] = []
    changed: list[str] = []
    logs = data.get("logs") or []
    for name, status in sorted(statuses.items()):
        if status.get("changed"):
            changed.append(name)
        if status.get("failed") or status.get("failed_to_restart"):
            messages = [
                str(e.get("message"))
                for e in status.get("events") or []
                if e.get("status") == "failure"
            ]
            if not messages:
                messages = [
                    str(log.get("message"))
                    for log in logs
                    if log.get("level") == "err" and name in str(log.get("source", ""))
                ]
            failed.append(ResourceFailure(name, "; ".join(messages) or "failed"))
    errors = [
        str(log.get("message"))
        for log in logs
        if log.get("level") in ("err", "crit", "alert", "emerg")
    ]
    version = data.get("configuration_version")
    run_id = data.get("transaction_uuid")
    return RunReport(
        host=str(data.get("host", host)),
        status=str(data.get("status", "failed")),
        configuration_version=None if version is None else str(version),
        exit_code=exit_code,
        failed=failed,
        changed=changed,
        errors=errors,
        run_id=None if run_id is None else str(run_id),
    )


def read_report(path: Path, exit_code: int, host: str, stderr: str) -> RunReport:
    """The report of a run that just ended; a run that produced none (a catalog that
    failed to compile) becomes an `error` report carrying Puppet's error lines."""
    errors = [
        line.removeprefix("Error: ").strip()
        for line in stderr.splitlines()
        if line.startswith("Error: ") and not line.startswith("Error: Facter:")
    ]
    if exit_code < 0:  # no exit status: the run was killed
        errors.append(f"the Puppet run was killed by {signal.Signals(-exit_code).name}")
    if not path.is_file():
        return RunReport(host, "error", None, exit_code, errors=errors)
    report = parse_report(path.read_text(encoding="utf-8"), exit_code, host)
    if exit_code == 1 and report.status != "failed":
        report.status = "error"
    for line in errors:
        if line not in report.errors:
            report.errors.append(line)
    return report
