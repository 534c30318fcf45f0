from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import FIXTURE_CATALOG, git, run_jailgen, tree

NODE = "data/nodes/jail1.example.net.yaml"


def render(repo: Path, *args: str, catalog: Path = FIXTURE_CATALOG) -> tuple[int, str, str]:
    result = run_jailgen("render", str(catalog), "--repo", str(repo), *args)
    return result.returncode, result.stdout, result.stderr


def test_render_writes_hiera_and_module(control_repo: Path) -> None:
    code, out, err = render(control_repo)
    assert code == 0, err
    for rel in (
        "data/common.yaml",
        "data/nodes/jail1.example.net.yaml",
        "data/nodes/jail2.example.net.yaml",
        "data/nodes/devbox.example.net.yaml",
        "site-modules/profile/manifests/jails.pp",
        "site-modules/jails/metadata.json",
        "site-modules/jails/lib/puppet/type/jail.rb",
        "site-modules/jails/lib/puppet/provider/jail/freebsd.rb",
        "site-modules/jails/manifests/init.pp",
    ):
        assert (control_repo / rel).is_file(), rel
        assert f"create {rel}" in out
    node = (control_repo / NODE).read_text()
    assert "jails::apps:" in node
    assert "shop_3f2a9c1e0b1a:" in node


def worktree_files(repo: Path) -> list[Path]:
    return [p for p in repo.rglob("*") if p.is_file() and ".git" not in p.relative_to(repo).parts]


def test_second_render_writes_nothing(control_repo: Path) -> None:
    render(control_repo)
    before = {p: p.stat().st_mtime_ns for p in worktree_files(control_repo)}
    code, out, _ = render(control_repo)
    assert code == 0
    assert out == "nothing to change\n"
    after = {p: p.stat().st_mtime_ns for p in worktree_files(control_repo)}
    assert before == after


def test_check_exits_1_and_writes_nothing(control_repo: Path) -> None:
    before = tree(control_repo)
    code, out, _ = render(control_repo, "--check")
    assert code == 1
    assert "would create data/common.yaml" in out
    assert tree(control_repo) == before
    render(control_repo)
    code, out, _ = render(control_repo, "--check")
    assert code == 0


def test_diff_prints_unified_diff(control_repo: Path, tmp_path: Path) -> None:
    render(control_repo)
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(FIXTURE_CATALOG.read_text().replace("port: 3000", "port: 3001"))
    code, out, _ = render(control_repo, "--check", "--diff", catalog=catalog)
    assert code == 1
    assert (
        "--- a/data/nodes/jail1.example.net.yaml\n+++ b/data/nodes/jail1.example.net.yaml\n" in out
    )
    assert "-    port: 3000\n+    port: 3001\n" in out


def test_hand_edits_survive_byte_for_byte(control_repo: Path, tmp_path: Path) -> None:
    render(control_repo)
    path = control_repo / NODE
    original = path.read_text()
    edited = (
        "# jail1: hand-maintained settings live here too\n"
        + original.replace(
            "---\n", "---\nntp::servers:   [ 'ntp1.example.net' ]  # ours\n", 1
        ).replace("  blog:\n", "  blog:  # the blog (team web)\n", 1)
        + '# site note at the end\nmotd::message: "hello"\n'
    )
    path.write_text(edited)
    code, _, err = render(control_repo)
    assert code == 0, err
    assert path.read_text() == edited
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(FIXTURE_CATALOG.read_text().replace("port: 3000", "port: 3001"))
    code, _, err = render(control_repo, catalog=catalog)
    assert code == 0, err
    assert path.read_text() == edited.replace("port: 3000", "port: 3001")
    code, out, _ = render(control_repo, catalog=catalog)
    assert out == "nothing to change\n"


def test_commit_says_what_changed_and_skips_empty_commits(control_repo: Path) -> None:
    code, out, err = render(control_repo, "--commit")
    assert code == 0, err
    log = git(control_repo, "log", "--format=%B", "-1")
    assert log.startswith("Render the catalog\n")
    assert "shop: test - -> shop_3f2a9c1e0b1a" in log
    assert "jail1.example.net: create jail blog_0a1b2c3d4e5f at 172.16.0.2" in log
    assert "create data/nodes/jail1.example.net.yaml" in log
    count = git(control_repo, "rev-list", "--count", "HEAD")
    code, out, _ = render(control_repo, "--commit")
    assert code == 0
    assert "committed" not in out
    assert git(control_repo, "rev-list", "--count", "HEAD") == count
    assert git(control_repo, "status", "--porcelain") == ""


def test_commit_refuses_when_owned_files_carry_uncommitted_edits(control_repo: Path) -> None:
    render(control_repo, "--commit")
    (control_repo / NODE).write_text((control_repo / NODE).read_text() + "# local edit\n")
    head = git(control_repo, "rev-parse", "HEAD")
    before = tree(control_repo)
    code, _, err = render(control_repo, "--commit")
    assert code == 2
    assert "refusing to commit" in err
    assert "data/nodes/jail1.example.net.yaml" in err
    assert git(control_repo, "rev-parse", "HEAD") == head
    assert tree(control_repo) == before


def test_removed_module_files_are_deleted(control_repo: Path) -> None:
    render(control_repo)
    stray = control_repo / "site-modules/jails/manifests/stale.pp"
    stray.write_text("class jails::stale {}\n")
    code, out, _ = render(control_repo)
    assert code == 0
    assert "delete site-modules/jails/manifests/stale.pp" in out
    assert not stray.exists()


def test_rejected_push_is_fetched_rebased_rerendered_and_retried(
    control_repo: Path, tmp_path: Path
) -> None:
    render(control_repo, "--commit")
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(control_repo), str(remote))
    git(control_repo, "remote", "add", "origin", str(remote))
    git(control_repo, "fetch", "-q", "origin")
    # someone else pushes a hand edit to a node file in the meantime
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(remote), str(other))
    node = other / NODE
    node.write_text(node.read_text() + "# reviewed by ops\n")
    git(other, "commit", "-qam", "ops: note")
    git(other, "push", "-q", "origin", "production")
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(FIXTURE_CATALOG.read_text().replace("port: 3000", "port: 3001"))
    code, out, err = render(control_repo, "--push", catalog=catalog)
    assert code == 0, err
    assert "pushed to origin" in out
    log = git(remote, "log", "--format=%s", "production")
    assert log.splitlines()[:3] == ["Render the catalog", "ops: note", "Render the catalog"]
    pushed = git(remote, "show", f"production:{NODE}")
    assert "# reviewed by ops\n" in pushed
    assert "port: 3001" in pushed


def test_render_needs_an_existing_repo(tmp_path: Path) -> None:
    code, _, err = render(tmp_path / "missing")
    assert code == 2
    assert "no such control repo" in err


def test_render_into_copy_is_identical(control_repo: Path, tmp_path: Path) -> None:
    render(control_repo)
    copy = tmp_path / "copy"
    shutil.copytree(control_repo, copy)
    code, out, _ = render(copy)
    assert code == 0
    assert out == "nothing to change\n"
