"""What a workflow command did: its verdict, the step it failed at, the commit,
the Puppet runs and route checks that are its evidence, and the timings.
`generator.output` prints it; `generator.history` records it."""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from typing import Any

from generator.puppet.report import RunReport
from generator.release_command import CommandResult


@dataclass
class Check:
    host: str
    what: str
    ok: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"host": self.host, "what": self.what, "ok": self.ok, "detail": self.detail}


@dataclass
class Outcome:
    action: str
    app: str
    ok: bool = False
    step: str | None = None
    message: str = ""
    commit: str | None = None
    reverted_by: str | None = None
    reports: list[RunReport] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    slots: dict[str, Any] = field(default_factory=dict)
    replaced: list[str] = field(default_factory=list)  # hand edits the commit replaced
    release: dict[str, str] = field(default_factory=dict)  # test: the sha and the ref asked for
    release_command: CommandResult | None = None  # promote: on the canary host
    hooks: list[CommandResult] = field(default_factory=list)  # after_promote
    history: str = ""  # whether the evidence was recorded (generator.history)
    doing: str = "taking the lock"  # the step under way, for an interruption's report
    signal: int | None = None  # the signal that stopped the command
    pending: list[str] = field(default_factory=list)  # hosts not converged to the commit

    def fail(self, step: str, message: str) -> Outcome:
        self.ok, self.step, self.message = False, step, message
        return self

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 128 + self.signal if self.signal else 1

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "app": self.app,
            "ok": self.ok,
            "failed_step": self.step,
            "message": self.message,
            "commit": self.commit,
            "reverted_by": self.reverted_by,
            "slots": self.slots,
            "reports": [r.to_json() for r in self.reports],
            "checks": [c.to_json() for c in self.checks],
            "timings_s": {k: round(v, 3) for k, v in self.timings.items()},
            "replaced": list(self.replaced),
            "release": dict(self.release),
            "release_command": self.release_command.to_json() if self.release_command else None,
            "hooks": [h.to_json() for h in self.hooks],
            "history": self.history,
            "interrupted_by": signal.Signals(self.signal).name if self.signal else None,
            "pending_hosts": list(self.pending),
        }
