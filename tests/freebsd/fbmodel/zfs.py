"""zfs(8): datasets, snapshots and clones.

A mounted file system is a real directory under the model root (mountpoint
`/usr/local/jails` is `$FREEBSD_MODEL_ROOT/usr/local/jails`). A snapshot keeps a
copy of its file system's files as they were, and a clone starts from that
copy, so a clone shows the snapshot and not what changed after it.

Messages are libzfs's; exit status 1 for errors and 2 for a bad command line,
as zfs(8) EXIT STATUS documents.
"""

from __future__ import annotations

import getopt
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .host import Host, Output, ToolError

USED = 98304  # every dataset of the model refers to 96K
AVAILABLE = 107374182400  # and its pool has 100G free, unless it is full

USAGE = {
    "clone": "\tclone [-p] [-o property=value] ... <snapshot> <filesystem|volume>",
    "create": "\tcreate [-Pnpuv] [-o property=value] ... <filesystem>\n"
    "\tcreate [-Pnpsv] [-b blocksize] [-o property=value] ... -V <size> <volume>",
    "destroy": "\tdestroy [-fnpRrv] <filesystem|volume>\n"
    "\tdestroy [-dnpRrv] <filesystem|volume>@<snap>[%<snap>][,...]\n"
    "\tdestroy <filesystem|volume>#<bookmark>",
    "list": "\tlist [-Hp] [-r|-d max] [-o property[,...]] [-s property]...\n"
    "\t    [-S property]... [-t type[,...]] [filesystem|volume|snapshot] ...",
    "snapshot": "\tsnapshot [-r] [-o property=value] ... <filesystem|volume>@<snap> ...",
    "get": '\tget [-rHp] [-d max] [-o "all" | field[,...]]\n'
    "\t    [-t type[,...]] [-s source[,...]]\n"
    '\t    <"all" | property[,...]> [filesystem|volume|snapshot|bookmark] ...',
}
# Sub-commands zfs(8) has that the model does not: refused with their own status.
NOT_MODELLED = ("mount", "unmount", "umount", "rename", "promote", "rollback", "send", "recv")

LIST_PROPERTIES = (
    "name",
    "used",
    "available",
    "avail",
    "referenced",
    "refer",
    "mountpoint",
    "origin",
    "type",
    "creation",
    "mounted",
    "canmount",
)
TYPES = {"filesystem": "filesystem", "fs": "filesystem", "snapshot": "snapshot", "snap": "snapshot"}


def skip(paths: set[Path]) -> Callable[[str, list[str]], list[str]]:
    """A copytree ignore function that leaves out the given paths (the
    mountpoints of child datasets, which are not part of a snapshot)."""
    return lambda directory, entries: [e for e in entries if Path(directory, e) in paths]


def usage_error(command: str, problem: str) -> ToolError:
    # zfs(8) EXIT STATUS: 2 if invalid command line options were specified.
    return ToolError(f"{problem}\nusage:\n{USAGE[command]}", 2)


def parse(command: str, args: list[str], optstring: str) -> tuple[list[tuple[str, str]], list[str]]:
    try:
        return getopt.getopt(args, optstring)
    except getopt.GetoptError as error:
        if error.opt and "requires argument" in error.msg:
            raise usage_error(command, f"missing argument for '{error.opt}' option") from None
        raise usage_error(command, f"invalid option '{error.opt}'") from None


class Zfs:
    def __init__(self, host: Host, out: Output) -> None:
        self.host = host
        self.out = out
        self.datasets: dict[str, dict[str, Any]] = host.state["datasets"]

    # --- the dataset tree ---

    def parent(self, name: str) -> str | None:
        return name.rsplit("/", 1)[0] if "/" in name else None

    def pool_of(self, name: str) -> str:
        return name.split("/", 1)[0].split("@", 1)[0]

    def children(self, name: str) -> list[str]:
        return sorted(n for n in self.datasets if self.parent(n) == name and "@" not in n)

    def snapshots(self, name: str) -> list[str]:
        snaps = [n for n in self.datasets if n.startswith(name + "@")]
        return sorted(snaps, key=lambda n: self.datasets[n]["created"])

    def descendants(self, name: str) -> list[str]:
        result = []
        for child in self.children(name):
            result += [child, *self.descendants(child)]
        return result

    def mountpoint(self, name: str) -> str:
        """The effective mountpoint property: local, or inherited from the parent."""
        record = self.datasets[name]
        if record.get("mountpoint"):
            return str(record["mountpoint"])
        parent = self.parent(name)
        if parent is None:
            return "/" + name
        above = self.mountpoint(parent)
        if above in ("none", "legacy"):
            return above
        return above.rstrip("/") + "/" + name.rsplit("/", 1)[1]

    def mounted_dir(self, name: str) -> Path | None:
        record = self.datasets[name]
        if record["type"] != "filesystem" or record.get("canmount", "on") != "on":
            return None
        mountpoint = self.mountpoint(name)
        if mountpoint in ("none", "legacy"):
            return None
        return self.host.root / mountpoint.lstrip("/")

    def clones_of(self, snapshot: str) -> list[str]:
        return sorted(n for n, r in self.datasets.items() if r.get("origin") == snapshot)

    def dependents(self, names: list[str]) -> list[str]:
        """Clones of the given datasets' snapshots, with everything below them."""
        found: list[str] = []
        for name in names:
            for snapshot in self.snapshots(name):
                for clone in self.clones_of(snapshot):
                    found += [clone, *self.descendants(clone)]
        return found

    def snapshot_store(self, snapshot: str) -> Path:
        return self.host.meta / "snapshots" / snapshot.replace("/", "%")

    def require(self, name: str, what: str = "open") -> dict[str, Any]:
        if name not in self.datasets:
            raise ToolError(f"cannot {what} '{name}': dataset does not exist")
        return self.datasets[name]

    def check_space(self, name: str, what: str) -> None:
        pool = self.host.state["pools"].get(self.pool_of(name))
        if pool is None:
            raise ToolError(f"cannot {what} '{name}': no such pool '{self.pool_of(name)}'")
        if pool.get("full"):
            raise ToolError(f"cannot {what} '{name}': out of space")

    def next_created(self) -> int:
        return max((int(r["created"]) for r in self.datasets.values()), default=0) + 1

    def mount(self, name: str) -> None:
        directory = self.mounted_dir(name)
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)

    def add(self, name: str, record: dict[str, Any]) -> None:
        self.datasets[name] = {"created": self.next_created(), "canmount": "on", **record}

    # --- sub-commands ---

    def run(self, args: list[str]) -> None:
        if not args:
            raise ToolError("usage: zfs command args ...", 2)
        command, rest = args[0], args[1:]
        handlers = {
            "list": self.list,
            "create": self.create,
            "snapshot": self.snapshot,
            "snap": self.snapshot,
            "clone": self.clone,
            "destroy": self.destroy,
            "get": self.get,
        }
        if command in handlers:
            handlers[command](rest)
        elif command in NOT_MODELLED:
            raise ToolError(f"fbmodel: zfs {command} is not modelled", 3)
        else:
            raise ToolError(f"unrecognized command '{command}'\nusage: zfs command args ...", 2)

    def create(self, args: list[str]) -> None:
        opts, names = parse("create", args, "Pnpuvo:")
        if len(names) != 1:
            problem = "missing filesystem argument" if not names else "too many arguments"
            raise usage_error("create", problem)
        name = names[0]
        props = self.properties("create", opts)
        create_parents = ("-p", "") in opts
        if name in self.datasets:
            # zfs-create(8) -p: if the target already exists, the operation
            # completes successfully (and -o properties are ignored).
            if create_parents:
                return
            raise ToolError(f"cannot create '{name}': dataset already exists")
        self.check_space(name, "create")
        missing = []
        parent = self.parent(name)
        while parent is not None and parent not in self.datasets:
            missing.insert(0, parent)
            parent = self.parent(parent)
        if missing and not create_parents:
            raise ToolError(f"cannot create '{name}': parent does not exist")
        for ancestor in missing:
            self.add(ancestor, {"type": "filesystem"})
            self.mount(ancestor)
        self.add(name, {"type": "filesystem", **props})
        self.mount(name)

    def properties(self, command: str, opts: list[tuple[str, str]]) -> dict[str, str]:
        props: dict[str, str] = {}
        for flag, value in opts:
            if flag != "-o":
                continue
            key, sep, setting = value.partition("=")
            if not sep:
                raise usage_error(command, "missing '=' for property=value argument")
            props[key] = setting
        return props

    def snapshot(self, args: list[str]) -> None:
        _, names = parse("snapshot", args, "ro:")
        if not names:
            raise usage_error("snapshot", "missing snapshot argument")
        for name in names:
            dataset, sep, snap = name.partition("@")
            if not sep or not snap:
                raise ToolError(
                    f"cannot create snapshot '{name}': missing '@' delimiter in snapshot name"
                )
            if name in self.datasets:
                raise ToolError(f"cannot create snapshot '{name}': dataset already exists")
            if dataset not in self.datasets:
                raise ToolError(f"cannot create snapshot '{name}': dataset does not exist")
            self.check_space(name, "create snapshot")
            store = self.snapshot_store(name)
            shutil.rmtree(store, ignore_errors=True)
            source = self.mounted_dir(dataset)
            if source is not None and source.is_dir():
                nested = {d for n in self.descendants(dataset) if (d := self.mounted_dir(n))}
                shutil.copytree(source, store, symlinks=True, ignore=skip(nested))
            else:
                store.mkdir(parents=True)
            self.add(name, {"type": "snapshot"})

    def clone(self, args: list[str]) -> None:
        opts, names = parse("clone", args, "po:")
        if not names:
            raise usage_error("clone", "missing source dataset argument")
        if len(names) == 1:
            raise usage_error("clone", "missing target dataset argument")
        if len(names) > 2:
            raise usage_error("clone", "too many arguments")
        source, target = names
        props = self.properties("clone", opts)
        if "@" not in source:
            raise ToolError(f"cannot open '{source}': missing '@' delimiter in snapshot name")
        self.require(source)
        if target in self.datasets:
            raise ToolError(f"cannot create '{target}': dataset already exists")
        parent = self.parent(target)
        if parent is not None and parent not in self.datasets:
            if ("-p", "") not in opts:
                raise ToolError(f"cannot create '{target}': parent does not exist")
            self.create(["-p", parent])
        self.check_space(target, "create")
        self.add(target, {"type": "filesystem", "origin": source, **props})
        directory = self.mounted_dir(target)
        if directory is None:
            return
        if directory.exists() and any(directory.iterdir()):
            # The model mounts by copying, so it cannot mount over files.
            del self.datasets[target]
            raise ToolError(f"cannot mount '{self.mountpoint(target)}': directory is not empty")
        directory.mkdir(parents=True, exist_ok=True)
        shutil.copytree(self.snapshot_store(source), directory, symlinks=True, dirs_exist_ok=True)

    def destroy(self, args: list[str]) -> None:
        opts, names = parse("destroy", args, "dfnpRrv")
        if not names:
            raise usage_error("destroy", "missing dataset argument")
        if len(names) > 1:
            raise usage_error("destroy", "too many arguments")
        name = names[0]
        flags = {flag for flag, _ in opts}
        recursive, dependents = "-r" in flags or "-R" in flags, "-R" in flags
        record = self.require(name)
        if record["type"] == "snapshot":
            clones = self.clones_of(name)
            if clones and not dependents:
                found = [c for clone in clones for c in (clone, *self.descendants(clone))]
                raise ToolError(
                    f"cannot destroy '{name}': snapshot has dependent clones\n"
                    "use '-R' to destroy the following datasets:\n" + "\n".join(found)
                )
            victims = [c for clone in clones for c in (clone, *self.descendants(clone))]
            victims = [*reversed(victims), name]
        else:
            below = self.descendants(name)
            tree = [name, *below]
            children = [s for d in reversed(tree) for s in (*self.snapshots(d), d) if s != name]
            if children and not recursive:
                # zfs-destroy(8): -r is needed to destroy children (snapshots included).
                raise ToolError(
                    f"cannot destroy '{name}': filesystem has children\n"
                    "use '-r' to destroy the following datasets:\n" + "\n".join(children)
                )
            clones = self.dependents(tree)
            if clones and not dependents:
                # zfs-destroy(8): -R destroys dependents, such as clones outside the hierarchy.
                raise ToolError(
                    f"cannot destroy '{name}': filesystem has dependent clones\n"
                    "use '-R' to destroy the following datasets:\n" + "\n".join(clones)
                )
            victims = [*reversed(clones), *children, name]
        for victim in victims:
            self.check_not_busy(victim)
        if "-n" in flags:
            for victim in victims:
                self.out.print(f"would destroy {victim}")
            return
        for victim in victims:
            if self.datasets[victim]["type"] == "snapshot":
                shutil.rmtree(self.snapshot_store(victim), ignore_errors=True)
            else:
                directory = self.mounted_dir(victim)
                if directory is not None:
                    shutil.rmtree(directory, ignore_errors=True)
            del self.datasets[victim]
            if "-v" in flags:
                self.out.print(f"will destroy {victim}")

    def check_not_busy(self, name: str) -> None:
        directory = self.mounted_dir(name)
        if directory is None:
            return
        holders = [*self.host.state["jails"].values(), *self.host.state.get("dying", [])]
        for jail in holders:
            path = self.host.root / str(jail["path"]).lstrip("/")
            if path == directory or directory in path.parents:
                # A running or dying jail has its root (and its devfs) in this file system.
                mountpoint = self.mountpoint(name)
                raise ToolError(f"cannot unmount '{mountpoint}': pool or dataset is busy")

    # --- list and get ---

    def value(self, name: str, prop: str, parsable: bool) -> str:
        record = self.datasets[name]
        pool = self.host.state["pools"].get(self.pool_of(name), {})
        available = 0 if pool.get("full") else AVAILABLE
        if prop == "name":
            return name
        if prop in ("used", "referenced", "refer"):
            return str(USED) if parsable else "96K"
        if prop in ("available", "avail"):
            if record["type"] == "snapshot":
                return "-"
            return str(available) if parsable else ("0B" if available == 0 else "100G")
        if prop == "mountpoint":
            return "-" if record["type"] == "snapshot" else self.mountpoint(name)
        if prop == "origin":
            return str(record.get("origin") or "-")
        if prop == "type":
            return str(record["type"])
        if prop == "creation":
            return str(1_700_000_000 + int(record["created"]))
        if prop == "mounted":
            if record["type"] == "snapshot":
                return "-"
            return "yes" if self.mounted_dir(name) is not None else "no"
        if prop == "canmount":
            return "-" if record["type"] == "snapshot" else str(record.get("canmount", "on"))
        return str(record.get(prop, "-"))

    def select(
        self, names: list[str], types: set[str], recursive: bool, depth: int | None
    ) -> list[str]:
        """Datasets to list, in zfs list order: each file system, its snapshots,
        then its children."""

        def walk(name: str, level: int) -> list[str]:
            found = [name] if self.datasets[name]["type"] in types else []
            if "snapshot" in types:
                found += self.snapshots(name)
            if depth is None or level < depth:
                for child in self.children(name):
                    found += walk(child, level + 1)
            return found

        if not names:
            roots = sorted(n for n in self.datasets if "/" not in n and "@" not in n)
            return [n for root in roots for n in walk(root, 0)]
        selected: list[str] = []
        for name in names:
            if self.datasets[name]["type"] == "snapshot":
                selected.append(name)
            elif recursive:
                selected += walk(name, 0)
            elif types == {"snapshot"}:
                # zfs-list(8): a file system named with -t snapshot lists its snapshots.
                selected += self.snapshots(name)
            elif self.datasets[name]["type"] in types:
                selected.append(name)
        return selected

    def list(self, args: list[str]) -> None:
        opts, names = parse("list", args, "Hpro:d:t:s:S:")
        flags = dict(opts)
        scripted, parsable = "-H" in flags, "-p" in flags
        recursive = "-r" in flags or "-d" in flags
        depth = int(flags["-d"]) if "-d" in flags else None
        fields = flags.get("-o", "name,used,avail,refer,mountpoint").split(",")
        for prop in fields:
            if prop not in LIST_PROPERTIES:
                raise usage_error("list", f"bad property list: invalid property '{prop}'")
        types = {"filesystem"}
        if "-t" in flags:
            types = set()
            for kind in flags["-t"].split(","):
                if kind == "all":
                    types |= {"filesystem", "snapshot"}
                elif kind in TYPES:
                    types.add(TYPES[kind])
                elif kind in ("volume", "vol", "bookmark"):
                    continue
                else:
                    raise usage_error("list", f"invalid type '{kind}'")
        failed = False
        existing = []
        for name in names:
            if name in self.datasets:
                existing.append(name)
            else:
                self.out.warn(f"cannot open '{name}': dataset does not exist")
                failed = True
        rows = [
            [self.value(n, p, parsable) for p in fields]
            for n in self.select(existing, types, recursive, depth)
        ]
        if not rows and not names:
            self.out.warn("no datasets available")
        if scripted:
            for row in rows:
                self.out.print("\t".join(row))
        elif rows:
            header = [p.upper() for p in fields]
            widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(fields))]
            for row in [header, *rows]:
                self.out.print(
                    "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
                )
        if failed:
            raise ToolError("", 1)

    def get(self, args: list[str]) -> None:
        opts, rest = parse("get", args, "rHpd:o:t:s:")
        flags = dict(opts)
        if not rest:
            raise usage_error("get", "missing property argument")
        props, names = rest[0].split(","), rest[1:]
        fields = flags.get("-o", "name,property,value,source").split(",")
        rows = []
        for name in names:
            self.require(name)
            for prop in props:
                value = self.value(name, prop, "-p" in flags)
                local = prop in self.datasets[name] or (
                    prop == "mountpoint" and self.datasets[name].get(prop)
                )
                source = (
                    "local" if local else ("-" if prop in ("origin", "type", "used") else "default")
                )
                by_field = {"name": name, "property": prop, "value": value, "source": source}
                rows.append([by_field[f] for f in fields])
        for row in rows:
            self.out.print(("\t" if "-H" in flags else "  ").join(row))


def main(host: Host, out: Output, args: list[str]) -> None:
    Zfs(host, out).run(args)
