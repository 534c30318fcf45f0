"""Releases by name: full and short commit ids, branches and tags, read in place
from a local source and with `git ls-remote` from a URL; ambiguous and unknown
refs are refused with the commits they could mean. Real git repositories."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import git
import pytest
from ruamel.yaml import YAML

from generator import http
from generator.catalog import App, load_catalog
from generator.demo_app import make_app_repo
from generator.errors import JailgenError
from generator.releases import Release, resolve
from tests.conftest import FIXTURE_CATALOG, run_jailgen
from tests.localsite import HOST, LocalSite


@pytest.fixture
def source(tmp_path: Path) -> tuple[Path, list[str]]:
    """An app repo with three commits on main, a branch `next` at the second, a
    lightweight tag v1 at the first and an annotated tag v2 at the second."""
    path = tmp_path / "hello"
    shas = make_app_repo(path, 3)
    repo = git.Repo(path)
    repo.create_head("next", shas[1])
    repo.create_tag("v1", shas[0])
    repo.create_tag("v2", shas[1], message="Release 2")
    return path, shas


def app_at(source: str) -> App:
    return load_catalog(FIXTURE_CATALOG).apps["hello"].model_copy(update={"source": source})


@pytest.mark.parametrize("url", [False, True], ids=["local path", "file:// URL"])
def test_a_ref_names_one_commit(source: tuple[Path, list[str]], url: bool) -> None:
    path, shas = source
    app = app_at(f"file://{path}" if url else str(path))
    assert resolve(app, shas[0]) == Release(shas[0], shas[0])
    assert resolve(app, shas[2][:7]) == Release(shas[2], shas[2][:7])  # the tip of main
    assert resolve(app, "main") == Release(shas[2], "main")
    assert resolve(app, "next") == Release(shas[1], "next")
    assert resolve(app, "v1") == Release(shas[0], "v1")
    assert resolve(app, "v2") == Release(shas[1], "v2")  # annotated: the commit it tags
    assert resolve(app, "refs/tags/v2") == Release(shas[1], "refs/tags/v2")
    assert resolve(app, "main").describe() == f"{shas[2][:12]} (main)"
    assert resolve(app, shas[2][:7]).describe() == shas[2][:12]


def test_a_local_source_resolves_any_short_id(source: tuple[Path, list[str]]) -> None:
    path, shas = source
    assert resolve(app_at(str(path)), shas[1][:7].upper()).sha == shas[1]


def test_a_remote_short_id_must_be_a_tip_and_a_full_id_is_taken_as_is(
    source: tuple[Path, list[str]],
) -> None:
    path, shas = source
    git.Repo(path).delete_tag(git.TagReference(git.Repo(path), "refs/tags/v1"))
    app = app_at(f"file://{path}")
    with pytest.raises(JailgenError) as caught:
        resolve(app, shas[0][:7])
    assert str(caught.value) == (
        f"hello: {shas[0][:7]} is not a commit, branch or tag of file://{path} (a remote "
        "source is not cloned: a short id is matched against its branch and tag tips only; "
        "give the full 40-hex id of any other commit)"
    )
    assert resolve(app, shas[0]).sha == shas[0]  # the hosts' git fetches it by id


@pytest.mark.parametrize("url", [False, True], ids=["local path", "file:// URL"])
def test_an_unknown_ref_is_refused(source: tuple[Path, list[str]], url: bool) -> None:
    path, _ = source
    where = f"file://{path}" if url else str(path)
    with pytest.raises(JailgenError) as caught:
        resolve(app_at(where), "nonesuch")
    assert str(caught.value) == f"hello: nonesuch is not a commit, branch or tag of {where}"


@pytest.mark.parametrize("url", [False, True], ids=["local path", "file:// URL"])
def test_an_ambiguous_ref_lists_what_it_could_mean(
    source: tuple[Path, list[str]], url: bool
) -> None:
    path, shas = source
    repo = git.Repo(path)
    repo.create_tag("next", shas[0])  # a tag named like the branch, elsewhere
    prefix = shas[2][:7]
    repo.create_head(prefix, shas[0])  # a branch named like a commit id
    app = app_at(f"file://{path}" if url else str(path))
    ordered = sorted([(shas[1], "branch next"), (shas[0], "tag next")])
    with pytest.raises(JailgenError) as caught:
        resolve(app, "next")
    assert str(caught.value) == (
        f"hello: next is ambiguous in {app.source}: it names "
        + "; ".join(f"{sha[:12]} ({kind})" for sha, kind in ordered)
        + " (give a longer commit id, or refs/heads/NAME or refs/tags/NAME)"
    )
    assert resolve(app, "refs/heads/next").sha == shas[1]
    with pytest.raises(JailgenError) as caught:
        resolve(app, prefix)
    assert f"hello: {prefix} is ambiguous in {app.source}: it names " in str(caught.value)
    assert f"{shas[0][:12]} (branch {prefix})" in str(caught.value)
    assert f"{shas[2][:12]} (commit)" in str(caught.value)
    assert resolve(app, shas[2][:12]).sha == shas[2]


@pytest.mark.parametrize("ref", ["-v", "a..b", "main.lock", "x y", "HEAD^"])
def test_a_ref_that_is_no_ref_name_is_refused(source: tuple[Path, list[str]], ref: str) -> None:
    path, _ = source
    with pytest.raises(JailgenError) as caught:
        resolve(app_at(str(path)), ref)
    assert str(caught.value) == (
        f"hello: {ref!r} is not a commit id, branch or tag (expected hex digits or a git ref name)"
    )


def test_an_unreadable_remote_is_a_clear_error(tmp_path: Path) -> None:
    where = f"file://{tmp_path}/missing"
    with pytest.raises(JailgenError) as caught:
        resolve(app_at(where), "main")
    assert str(caught.value).startswith(f"hello: cannot read the refs of {where}: ")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[LocalSite]:
    local = LocalSite(tmp_path / "site").create(commits=2)
    try:
        yield local
    finally:
        local.stop()
        assert local.processes() == []


def test_qa_asks_for_a_tag_of_a_remote_source_and_hiera_keeps_the_full_id(
    site: LocalSite,
) -> None:
    source = site.base / "sources" / "hello"
    git.Repo(source).create_tag("v1", site.shas[0], message="Release 1")
    site.catalog_path.write_text(
        site.catalog_path.read_text().replace(f"source: {source}", f"source: file://{source}")
    )
    common = ["-c", str(site.catalog_path), "-r", str(site.control)]
    common += ["--workdir", str(site.root / "puppet")]
    result = run_jailgen("test", "hello", "v1", *common)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"  release  {site.shas[0]} (v1)\n" in result.stdout
    jail = f"hello_{site.shas[0][:12]}"
    node = YAML(typ="safe").load((site.control / "data" / "nodes" / f"{HOST}.yaml").read_text())
    assert node["jails::jails"][jail]["revision"] == site.shas[0]
    assert node["jails::apps"]["hello"]["test"] == jail
    subject = git.Repo(site.control).head.commit.summary
    assert subject == f"hello: test release {site.shas[0][:12]} (v1)"
    answer = http.get("127.0.0.1", site.port, "/", host="hello.test.example.com")
    assert site.shas[0] in answer.body


def test_an_ambiguous_or_unknown_ref_is_refused_before_anything_is_committed(
    site: LocalSite,
) -> None:
    source = site.base / "sources" / "hello"
    git.Repo(source).create_tag("main", site.shas[0])  # a tag named like the branch
    head = git.Repo(site.control).head.commit.hexsha
    common = ["-c", str(site.catalog_path), "-r", str(site.control)]
    result = run_jailgen("test", "hello", "main", *common)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr == (
        f"jailgen: hello: main is ambiguous in {source}: it names "
        + "; ".join(
            f"{sha[:12]} ({kind})"
            for sha, kind in sorted([(site.shas[1], "branch main"), (site.shas[0], "tag main")])
        )
        + " (give a longer commit id, or refs/heads/NAME or refs/tags/NAME)\n"
    )
    result = run_jailgen("test", "hello", "release-3", *common)
    assert result.returncode == 2
    assert (
        result.stderr == f"jailgen: hello: release-3 is not a commit, branch or tag of {source}\n"
    )
    assert git.Repo(site.control).head.commit.hexsha == head
    assert site.processes() == []
