"""The control repo: a git repository driven through GitPython."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import git

from generator.errors import JailgenError

DEFAULT_BRANCH = "production"
FALLBACK_IDENTITY = ("jailgen", "jailgen@localhost")


def open_repo(path: Path) -> git.Repo:
    try:
        return git.Repo(path)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
        raise JailgenError(
            f"{path} is not a control repo (run `jailgen init {path}` first)"
        ) from exc


def has_origin(repo: git.Repo) -> bool:
    return any(r.name == "origin" for r in repo.remotes)


def identity_args(repo: git.Repo) -> list[str]:
    """`-c user.name=... -c user.email=...` for a repo without an identity."""
    reader = repo.config_reader()
    name = reader.get_value("user", "name", default="")
    email = reader.get_value("user", "email", default="")
    args = []
    if not name:
        args += ["-c", f"user.name={FALLBACK_IDENTITY[0]}"]
    if not email:
        args += ["-c", f"user.email={FALLBACK_IDENTITY[1]}"]
    return args


def dirty_paths(repo: git.Repo, paths: Iterable[str]) -> list[str]:
    """Files under `paths` with uncommitted changes (staged, unstaged or untracked)."""
    if not repo.head.is_valid():
        return []
    output = repo.git.status("--porcelain", "--untracked-files=all", "--", *paths)
    return sorted(line[3:] for line in output.splitlines() if line.strip())


def commit(repo: git.Repo, paths: Iterable[str], message: str) -> str | None:
    """Commit exactly `paths` (added, changed or deleted); None when nothing changed."""
    paths = sorted(set(paths))
    if not paths:
        return None
    repo.git.add("--all", "--", *paths)
    if repo.head.is_valid() and not repo.index.diff("HEAD"):
        return None
    runner = git.Git(repo.working_tree_dir)
    runner.execute(["git", *identity_args(repo), "commit", "-q", "-m", message, "--", *paths])
    return repo.head.commit.hexsha


def head(repo: git.Repo) -> str | None:
    return repo.head.commit.hexsha if repo.head.is_valid() else None


def branch_name(repo: git.Repo) -> str:
    return repo.active_branch.name


class PushRejected(Exception):
    pass


def push(repo: git.Repo, remote: str = "origin") -> None:
    branch = branch_name(repo)
    try:
        repo.git.push(remote, f"HEAD:refs/heads/{branch}")
    except git.GitCommandError as exc:
        text = f"{exc.stdout}\n{exc.stderr}"
        if "rejected" in text or "non-fast-forward" in text or "fetch first" in text:
            raise PushRejected(text) from exc
        raise JailgenError(f"git push to {remote} failed: {exc.stderr.strip()}") from exc


def catch_up(repo: git.Repo, own_commit: str | None, remote: str = "origin") -> None:
    """After a rejected push: fetch, and put our branch on top of the remote's.

    Our own render commit is dropped rather than rebased (the caller re-renders
    from the fetched state, which may have moved addresses or slots); any other
    local commits are rebased. A conflict there is the user's to resolve.
    """
    branch = branch_name(repo)
    repo.git.fetch(remote, branch)
    if own_commit is not None and head(repo) == own_commit:
        repo.git.reset("--hard", "HEAD~1")
    try:
        repo.git.rebase(f"{remote}/{branch}")
    except git.GitCommandError as exc:
        repo.git.rebase("--abort")
        raise JailgenError(
            f"cannot rebase local commits onto {remote}/{branch}: {exc.stderr.strip()}"
        ) from exc


def drop_unpushed(repo: git.Repo, trailer: str, remote: str = "origin") -> list[str]:
    """A command killed between its commit and its push left its commit here only:
    when every local commit ahead of the remote carries `trailer` (jailgen made
    them), they are dropped, so the command is re-run from what the remote holds
    instead of being replayed on top of it unchecked. The commits dropped."""
    branch = branch_name(repo)
    upstream = f"{remote}/{branch}"
    try:
        repo.git.fetch(remote, branch)
        ahead: list[str] = repo.git.rev_list(f"{upstream}..HEAD").split()
    except git.GitCommandError:
        return []
    messages = [repo.commit(sha).message for sha in ahead]
    texts = [m if isinstance(m, str) else m.decode("utf-8", "replace") for m in messages]
    if not ahead or not all(trailer in text for text in texts):
        return []
    repo.git.reset("--hard", upstream)
    return ahead


def revert(repo: git.Repo, commit: str, trailer: str) -> str:
    """Commit the revert of `commit` (its message carries `trailer`); the new HEAD."""
    summary = repo.commit(commit).summary
    subject = summary if isinstance(summary, str) else summary.decode("utf-8", "replace")
    repo.git.revert("--no-commit", commit)
    message = f'Revert "{subject}"\n\nThis reverts commit {commit}.\n\n{trailer}\n'
    runner = git.Git(repo.working_tree_dir)
    runner.execute(["git", *identity_args(repo), "commit", "-q", "-m", message])
    return repo.head.commit.hexsha
