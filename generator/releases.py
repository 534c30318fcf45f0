"""Releases by name: what `jailgen test APP REF` puts on the test domain.

REF is a full or short commit id, a branch or a tag. A source given as an
absolute path is read in place; a source given as a URL (file:// included) is
asked with `git ls-remote`, which lists its branches and tags without cloning
it. A ref that names no commit, or more than one, is an error here, before
anything is committed. The jail name and Hiera keep the full commit id; the ref
is kept in the commit message and the history.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from generator import names
from generator.catalog import App
from generator.errors import JailgenError
from generator.state import DeploymentState, Slots

# What a ref given on the command line may look like: git's own rules for ref
# names, narrowed so that it can never be read as an option or a revision range.
REF = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./+-]*$")
HEX = re.compile(r"^[0-9a-fA-F]{4,40}$")
LS_REMOTE_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Release:
    """A release of an app: the full commit id, and the ref it was asked for by."""

    sha: str
    ref: str

    @property
    def named(self) -> bool:
        """Whether the ref is a branch or tag name rather than (a prefix of) the id."""
        return not self.sha.startswith(self.ref.lower())

    def describe(self) -> str:
        """`3f2a9c1e4b5d` or `3f2a9c1e4b5d (main)`."""
        return self.sha[:12] + (f" ({self.ref})" if self.named else "")


def is_local(source: str) -> bool:
    """A source read in place: an absolute path (a URL is asked with ls-remote)."""
    return source.startswith("/")


def resolve(app: App, ref: str) -> Release:
    """The one commit `ref` names in the app's source."""
    ref = ref.strip()
    if not REF.match(ref) or ".." in ref or ref.endswith((".", "/", ".lock")):
        raise JailgenError(
            f"{app.name}: {ref!r} is not a commit id, branch or tag "
            "(expected hex digits or a git ref name)"
        )
    if is_local(app.source):
        refs, commits = _local(app, ref)
    else:
        refs, commits = _remote(app, ref)
    return _pick(app, ref, refs, commits)


def _pick(app: App, ref: str, refs: dict[str, str], commits: list[str]) -> Release:
    """`refs` maps ref names to the commits they point at; `commits` are commits
    whose id starts with `ref`. Exactly one commit must be named."""
    matches: dict[str, list[str]] = {}
    for refname in (ref, f"refs/heads/{ref}", f"refs/tags/{ref}"):
        if refname in refs:
            matches.setdefault(refs[refname], []).append(_kind(refname))
    if HEX.match(ref):  # commits: those whose id starts with ref
        for sha in commits:
            matches.setdefault(sha, []).append("commit")
    if not matches:
        remote = "" if is_local(app.source) else _remote_hint(ref)
        raise JailgenError(
            f"{app.name}: {ref} is not a commit, branch or tag of {app.source}{remote}"
        )
    if len(matches) > 1:
        listed = "; ".join(
            f"{sha[:12]} ({', '.join(kinds)})" for sha, kinds in sorted(matches.items())
        )
        raise JailgenError(
            f"{app.name}: {ref} is ambiguous in {app.source}: it names {listed} "
            "(give a longer commit id, or refs/heads/NAME or refs/tags/NAME)"
        )
    (sha,) = matches
    return Release(sha, ref)


def _kind(refname: str) -> str:
    if refname.startswith("refs/heads/"):
        return "branch " + refname.removeprefix("refs/heads/")
    if refname.startswith("refs/tags/"):
        return "tag " + refname.removeprefix("refs/tags/")
    return refname


def _remote_hint(ref: str) -> str:
    if HEX.match(ref) and len(ref) < 40:
        return (
            " (a remote source is not cloned: a short id is matched against its branch "
            "and tag tips only; give the full 40-hex id of any other commit)"
        )
    return ""


def _git(args: list[str], app: App, cwd: Path | None = None) -> str:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    try:
        result = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=LS_REMOTE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise JailgenError(
            f"{app.name}: git {args[0]} on {app.source} took over {LS_REMOTE_TIMEOUT_S:.0f} s"
        ) from exc
    if result.returncode != 0:
        detail = result.stderr.strip().splitlines()
        raise JailgenError(
            f"{app.name}: cannot read the refs of {app.source}: "
            + (detail[-1] if detail else f"git {args[0]} exited {result.returncode}")
        )
    return result.stdout


def _local(app: App, ref: str) -> tuple[dict[str, str], list[str]]:
    source = Path(app.source)
    if not source.is_dir():
        raise JailgenError(
            f"{app.name}: the source {app.source} is not a directory on this machine"
        )
    listing = _git(
        [
            "for-each-ref",
            "--format=%(objectname) %(*objectname) %(refname)",
            "refs/heads",
            "refs/tags",
        ],
        app,
        cwd=source,
    )
    refs: dict[str, str] = {}
    for line in listing.splitlines():
        sha, peeled, refname = line.split(" ", 2)
        refs[refname] = peeled or sha
    commits: list[str] = []
    if HEX.match(ref):
        # every object whose id starts with ref (ambiguous or not), then only commits
        objects = _git(["rev-parse", "--disambiguate=" + ref.lower()], app, cwd=source).split()
        if objects:
            typed = _git_input(
                ["cat-file", "--batch-check=%(objectname) %(objecttype)"],
                "\n".join(objects),
                source,
            )
            commits = [o for o, t in (line.split() for line in typed.splitlines()) if t == "commit"]
    return refs, commits


def _git_input(args: list[str], stdin: str, cwd: Path) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, input=stdin + "\n", capture_output=True, text=True, check=True
    )
    return result.stdout


def _remote(app: App, ref: str) -> tuple[dict[str, str], list[str]]:
    listing = _git(["ls-remote", "--", app.source], app)
    refs: dict[str, str] = {}
    peeled: dict[str, str] = {}
    for line in listing.splitlines():
        sha, refname = line.split("\t", 1)
        if refname.endswith("^{}"):
            peeled[refname.removesuffix("^{}")] = sha
        else:
            refs[refname] = sha
    refs.update(peeled)  # an annotated tag names the commit it points at
    commits: list[str] = []
    if names.SHA.match(ref.lower()):
        commits = [ref.lower()]  # not listed unless a tip: the hosts' git fetches it by id
    elif HEX.match(ref):
        commits = sorted({sha for sha in refs.values() if sha.startswith(ref.lower())})
    return refs, commits


class NotRetained(JailgenError):
    """A rollback target that is not a retained, running previous jail."""

    exit_code = 1


def retained_target(app: App, state: DeploymentState, slots: Slots, to: str) -> str:
    """The previous jail `rollback --to` names: a jail name, a (short) commit id
    of one, or a ref of the source that resolves to one. Only retained jails
    that run on every host of the app qualify."""
    running = [
        name
        for name in slots.previous
        if all(
            name in state.hosts[h].jails and state.hosts[h].jails[name].ensure == "running"
            for h in app.hosts
            if h in state.hosts
        )
    ]
    if to in running:
        return to
    hits: list[str] = []
    if names.JAIL_NAME.match(to):
        wanted = None
    elif HEX.match(to):
        wanted = to.lower()
        hits = [n for n in running if (state.revision_of(n) or "").startswith(wanted)]
    else:
        wanted = resolve(app, to).sha
        hits = [n for n in running if state.revision_of(n) == wanted]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise NotRetained(
            f"{app.name}: {to} names more than one retained release ({', '.join(hits)}); "
            "give a longer commit id"
        )
    live = (state.revision_of(slots.live) or "") if slots.live else ""
    if to == slots.live or (wanted and live.startswith(wanted)):
        raise NotRetained(f"{app.name}: {to} is live already ({slots.live})")
    listed = ", ".join(
        n + (" (rolled back from)" if n in slots.rolled_back else "") for n in running
    )
    raise NotRetained(
        f"{app.name}: {to} is not a retained release that is running; "
        + (f"retained and running: {listed}" if running else "none is retained")
    )
