"""PuppetDB's query API (v4) over TLS, with a certificate from the Puppet CA,
and the conversion of its reports into jailgen's run reports."""

from __future__ import annotations

import http.client
import json
import ssl
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from generator.errors import JailgenError
from generator.puppet.report import ResourceFailure, RunReport

Query = list[Any]


@dataclass(frozen=True)
class Event:
    """One resource event of a run, as PuppetDB stores it."""

    resource: str
    status: str  # success | failure | noop | skipped
    property: str | None
    message: str
    containing_class: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "resource": self.resource,
            "status": self.status,
            "property": self.property,
            "message": self.message,
        }


@dataclass
class AgentRunReport(RunReport):
    """A run triggered by jailgen on one host and found in PuppetDB by job id."""

    job_id: str | None = None
    report_hash: str | None = None
    agent_run_s: float | None = None  # the agent's own start to end
    received_at: float | None = None  # when PuppetDB received the report (epoch s)
    events: list[Event] = field(default_factory=list)  # the app's jail and NGINX events

    def to_json(self) -> dict[str, Any]:
        data = super().to_json()
        data.update(
            job_id=self.job_id,
            report_hash=self.report_hash,
            agent_run_s=None if self.agent_run_s is None else round(self.agent_run_s, 3),
            events=[e.to_json() for e in self.events],
        )
        return data


def timestamp(value: str | None) -> float | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _inline(report: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = report.get(key) or {}
    data = value.get("data") if isinstance(value, dict) else value
    return list(data or [])


def resource_name(event: dict[str, Any]) -> str:
    return f"{event.get('resource_type')}[{event.get('resource_title')}]"


def to_run_report(
    report: dict[str, Any],
    exit_code: int,
    relevant: Any = None,
) -> AgentRunReport:
    """A PuppetDB report as a run report. `relevant(event) -> bool` picks the
    events shown with it (the app's jail and NGINX resources); failures are
    listed whatever resource they are on."""
    events = _inline(report, "resource_events")
    failed: dict[str, list[str]] = {}
    changed: set[str] = set()
    shown: list[Event] = []
    for event in sorted(events, key=lambda e: (resource_name(e), str(e.get("property")))):
        name = resource_name(event)
        status = str(event.get("status"))
        message = str(event.get("message") or "")
        if status == "failure":
            failed.setdefault(name, []).append(message)
        elif status == "success":
            changed.add(name)
        if status == "failure" or relevant is None or relevant(event):
            shown.append(
                Event(name, status, event.get("property"), message, event.get("containing_class"))
            )
    errors = [
        str(log.get("message"))
        for log in _inline(report, "logs")
        if log.get("level") in ("err", "crit", "alert", "emerg")
        and log.get("source") != "Facter"  # fact resolution noise, not the run's errors
    ]
    start, end = timestamp(report.get("start_time")), timestamp(report.get("end_time"))
    version = report.get("configuration_version")
    return AgentRunReport(
        host=str(report.get("certname")),
        status=str(report.get("status")),
        configuration_version=None if version is None else str(version),
        exit_code=exit_code,
        failed=[ResourceFailure(n, "; ".join(m) or "failed") for n, m in sorted(failed.items())],
        changed=sorted(changed),
        errors=errors,
        job_id=report.get("job_id"),
        report_hash=report.get("hash"),
        agent_run_s=None if start is None or end is None else end - start,
        received_at=timestamp(report.get("receive_time")),
        events=shown,
    )


@dataclass(frozen=True)
class PuppetDB:
    """A client of PuppetDB's query API. Every request opens its own TLS
    connection, so one client serves many threads."""

    host: str
    port: int
    context: ssl.SSLContext
    timeout_s: float = 10.0

    @classmethod
    def connect(cls, endpoint: str, ca: str, cert: str, key: str) -> PuppetDB:
        host, _, port = endpoint.rpartition(":")
        try:
            context = ssl.create_default_context(cafile=ca)
            context.load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as exc:
            raise JailgenError(f"PuppetDB client certificate: {exc}") from exc
        return cls(host, int(port), context)

    def query(self, entity: str, query: Query, **params: str) -> list[dict[str, Any]]:
        arguments = urllib.parse.urlencode({"query": json.dumps(query), **params})
        connection = http.client.HTTPSConnection(
            self.host, self.port, timeout=self.timeout_s, context=self.context
        )
        try:
            connection.request("GET", f"/pdb/query/v4/{entity}?{arguments}")
            answer = connection.getresponse()
            body = answer.read()
        except (OSError, http.client.HTTPException) as exc:
            raise JailgenError(f"PuppetDB {self.host}:{self.port}: {exc}") from exc
        finally:
            connection.close()
        if answer.status != 200:
            raise JailgenError(
                f"PuppetDB {self.host}:{self.port}: HTTP {answer.status} for {entity}: "
                f"{body.decode(errors='replace')[:200]}"
            )
        result = json.loads(body)
        assert isinstance(result, list)
        return result

    def report_for_job(self, certname: str, job_id: str) -> dict[str, Any] | None:
        found = self.query("reports", ["and", ["=", "certname", certname], ["=", "job_id", job_id]])
        return found[0] if found else None

    def wait_for_report(
        self, certname: str, job_id: str, timeout_s: float, interval_s: float = 0.5
    ) -> dict[str, Any] | None:
        """PuppetDB stores reports asynchronously: poll until the job's report
        is there or the timeout passes."""
        deadline = time.monotonic() + timeout_s
        while True:
            report = self.report_for_job(certname, job_id)
            if report is not None or time.monotonic() >= deadline:
                return report
            time.sleep(interval_s)

    def latest_report(self, certname: str) -> dict[str, Any] | None:
        found = self.query(
            "reports", ["and", ["=", "certname", certname], ["=", "latest_report?", True]]
        )
        return found[0] if found else None
