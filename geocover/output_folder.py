"""An output folder written as a whole: staged beside it, swapped in, guarded by a lock, described by a manifest.

A run writes every output into ``.<name>.tmp-<pid>`` beside the folder ``<name>``, then swaps that folder in
for the old one in one step (``renameat2(RENAME_EXCHANGE)`` on Linux; elsewhere two renames, repaired on the
next start if a kill falls between them). Readers therefore see either the whole earlier set or the whole new
one, never a mix, and files of the earlier set the new run does not write (an ``audit.csv`` of an earlier run)
are gone. Entries geocover did not write (the batch state folder ``.batch``, a user's own notes) are carried
over. ``.<name>.lock`` holds the writer's process id: a second run into the same folder is refused, a lock
of a process that died is cleared. ``manifest.json``, written last, lists every file with its size and
SHA-256 (see :func:`verify_outputs`).
"""

from __future__ import annotations

import ctypes
import errno
import fnmatch
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from geocover.errors import InputError, Problem

MANIFEST = "manifest.json"
OUTPUT_PATTERNS = (
    "coverage_by_zone.csv", "coverage_by_facility.csv", "coverage.xlsx", "results.gpkg", "results_*.gpkg",
    "travel_time.tif", "map.html", "map_*.html", "map.png", "map.pdf", "report.html", "report.pdf", "audit.csv",
    "audit.xlsx", "comparison.csv", "comparison.xlsx", "proposed_sites.csv", "proposed_sites.xlsx",
    "zones_before_after.csv", "audit_before_after.csv", "batch_*.csv", "INCOMPLETE.txt", MANIFEST,
)
"""Names geocover writes: in a folder written before manifests existed, these make up the earlier set."""
NO_ROOM = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_STALE_EMPTY_LOCK_S = 5.0
_OPEN: dict[Path, dict] = {}
"""Output folders (and their stages) being written by this process: a nested call writes into the same stage."""


def user_file_mode() -> int:
    """Permission bits a plain ``open(..., "w")`` would give a new file (0o666 less the umask)."""
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
        mask = int(next(line.split()[1] for line in status.splitlines() if line.startswith("Umask:")), 8)
    except (OSError, StopIteration):
        mask = os.umask(0)  # no /proc: read the umask by setting it back at once
        os.umask(mask)
    return 0o666 & ~mask


def give_user_mode(path: str | Path) -> None:
    """Set ``path`` (made by ``tempfile.mkstemp``, mode 0600) to the user's normal file permissions."""
    os.chmod(path, user_file_mode())


def save_npz(path: Path, compress: bool = False, **arrays) -> Path:
    """Write ``arrays`` to the NumPy archive ``path`` through a temporary file beside it, with the user's
    normal file mode: a reader never sees half a file."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        give_user_mode(temporary)
        with os.fdopen(handle, "wb") as file:
            (np.savez_compressed if compress else np.savez)(file, **arrays)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


@contextmanager
def staged_outputs(out_dir: str | Path, scenario: str | None = None, keep_previous: bool = False) -> Iterator[Path]:
    """Write an output set into a stage and swap it in for ``out_dir`` as a whole when the block succeeds.

    Parameters
    ----------
    out_dir : str or Path
        The output folder; created when missing.
    scenario : str, optional
        Scenario name recorded in the manifest.
    keep_previous : bool
        Keep the files of the earlier set that this block does not write (``geocover audit`` adds its files to
        a run's outputs); by default the new set replaces the earlier one.

    Yields
    ------
    Path
        The stage folder to write into. A nested call for ``out_dir`` or the stage yields the same stage.

    Raises
    ------
    InputError
        Before anything is computed when the folder cannot be written (a file, not writable, name too long) or
        is being written by another run; after, when the disk fills up (the earlier set is left intact).
    """
    out_dir = Path(out_dir).absolute()
    if out_dir in _OPEN:
        state = _OPEN[out_dir]
        state["scenario"] = state["scenario"] or scenario
        yield state["stage"]
        return
    _check_folder(out_dir)
    lock = _acquire_lock(out_dir)
    stage = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}"
    try:
        _recover(out_dir)
        try:
            stage.mkdir()
        except OSError as error:
            raise InputError([Problem(str(out_dir), f"cannot create the temporary folder {stage} ({error.strerror})",
                                      "free some space or give another --out")]) from None
        state = {"stage": stage, "scenario": scenario}
        _OPEN[out_dir] = _OPEN[stage] = state
        try:
            yield stage
            if keep_previous and out_dir.is_dir():
                _link_previous(out_dir, stage)
            write_manifest(stage, state["scenario"])
            _swap_in(stage, out_dir)
        except Exception as error:
            if _is_no_room(error):
                raise InputError([Problem(str(out_dir), f"no room left on the disk while writing the outputs "
                                          f"({error}); the earlier outputs are unchanged",
                                          "free some space or give another --out")]) from None
            raise
        finally:
            _OPEN.pop(out_dir, None)
            _OPEN.pop(stage, None)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        lock.unlink(missing_ok=True)


def write_manifest(folder: Path, scenario: str | None) -> Path:
    """Write ``manifest.json``: every file under ``folder`` (name, bytes, sha256) and the scenario name."""
    from geocover import __version__

    files = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST):
        digest = hashlib.sha256()
        with open(path, "rb") as file:
            for block in iter(lambda: file.read(1 << 20), b""):
                digest.update(block)
        files.append({"name": path.relative_to(folder).as_posix(), "bytes": path.stat().st_size,
                      "sha256": digest.hexdigest()})
    manifest = {"scenario": scenario, "geocover": __version__, "files": files}
    target = folder / MANIFEST
    target.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return target


def verify_outputs(folder: str | Path) -> list[str]:
    """What in ``folder`` disagrees with its ``manifest.json`` (missing, resized or changed files); empty when
    the set is as written."""
    folder = Path(folder)
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    problems = []
    for entry in manifest["files"]:
        path = folder / entry["name"]
        if not path.is_file():
            problems.append(f"{entry['name']}: missing")
        elif path.stat().st_size != entry["bytes"]:
            problems.append(f"{entry['name']}: {path.stat().st_size} bytes, the manifest says {entry['bytes']}")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != entry["sha256"]:
            problems.append(f"{entry['name']}: contents changed since written")
    return problems


def _check_folder(out_dir: Path) -> None:
    """Refuse an output folder that cannot be written, before any computation."""
    fix = "give another --out (or output_dir)"
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError([Problem(str(out_dir), "the output folder is a file", fix)])
    if Path.cwd().absolute().is_relative_to(out_dir):
        raise InputError([Problem(str(out_dir), "the output folder holds the current folder; each run replaces it "
                                  "as a whole", "give a folder of its own, e.g. maps/<name>")])
    ancestor = out_dir.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InputError([Problem(str(out_dir), f"{ancestor} is a file, not a folder", fix)])
    for folder in (ancestor, out_dir):
        if folder.is_dir() and not os.access(folder, os.W_OK | os.X_OK):
            raise InputError([Problem(str(out_dir), f"{folder} is not writable", fix + " or change its permissions")])
    limit = os.pathconf(ancestor, "PC_NAME_MAX") if hasattr(os, "pathconf") else 255
    longest = len(f".{out_dir.name}.tmp-{os.getpid()}".encode())
    if longest > limit:
        raise InputError([Problem(str(out_dir), f"the folder name is too long ({len(out_dir.name.encode())} bytes; "
                                  f"at most {limit - longest + len(out_dir.name.encode())} fit beside its "
                                  "temporary copy)", "give a shorter name")])
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError([Problem(str(out_dir), f"cannot create its parent folder ({error.strerror})", fix)]) from None


def _process_start(pid: int) -> str | None:
    """Start time of process ``pid`` (clock ticks since boot, Linux), to tell a reused pid from the lock's owner."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(owner: dict) -> bool:
    pid = owner.get("pid")
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    started = _process_start(pid)
    return started is None or owner.get("started") in (None, started)


def _acquire_lock(out_dir: Path) -> Path:
    """Create ``.<name>.lock`` beside ``out_dir`` holding this process's id; clear a dead process's lock."""
    lock = out_dir.parent / f".{out_dir.name}.lock"
    record = json.dumps({"pid": os.getpid(), "started": _process_start(os.getpid())})
    for _ in range(2):
        try:
            handle = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        except FileExistsError:
            try:
                text = lock.read_text(encoding="utf-8")
                age_s = time.time() - lock.stat().st_mtime
            except FileNotFoundError:
                continue
            try:
                owner = json.loads(text)
            except ValueError:
                owner = {}
            if (owner and _alive(owner)) or (not text and age_s < _STALE_EMPTY_LOCK_S):
                raise InputError([Problem(str(out_dir), f"another geocover run (process {owner.get('pid', '?')}) "
                                          f"is writing this folder (lock {lock})",
                                          "wait for it to finish or give another --out")]) from None
            lock.unlink(missing_ok=True)
            continue
        except OSError as error:
            raise InputError([Problem(str(out_dir), f"cannot write beside the output folder ({error.strerror})",
                                      "give another --out (or output_dir)")]) from None
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(record)
        return lock
    raise InputError([Problem(str(out_dir), f"cannot take the lock {lock}", "remove it if no geocover run is active")])


def _recover(out_dir: Path) -> None:
    """Under the lock: put back an earlier set left aside by a run killed mid-swap, delete temporary folders."""
    parent = out_dir.parent
    for aside in sorted(parent.glob(f".{glob_escape(out_dir.name)}.old-*")):
        if not out_dir.exists():
            os.rename(aside, out_dir)
        else:
            shutil.rmtree(aside, ignore_errors=True)
    for stage in parent.glob(f".{glob_escape(out_dir.name)}.tmp-*"):
        shutil.rmtree(stage, ignore_errors=True)


def glob_escape(name: str) -> str:
    """``name`` with glob wildcards escaped."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def _previous_set(out_dir: Path) -> set[str]:
    """Top-level names of the earlier output set in ``out_dir``: its manifest's, else every geocover name."""
    try:
        manifest = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
        names = {entry["name"].split("/")[0] for entry in manifest["files"]} | {MANIFEST}
    except (OSError, ValueError, KeyError, TypeError):
        names = set()
    return names | {p.name for p in out_dir.iterdir() if any(fnmatch.fnmatch(p.name, o) for o in OUTPUT_PATTERNS)}


def _link_previous(out_dir: Path, stage: Path) -> None:
    """Hard-link (or copy) into ``stage`` the earlier set's files that the stage does not hold."""
    for name in _previous_set(out_dir) - {MANIFEST}:
        source, target = out_dir / name, stage / name
        if source.is_file() and not target.exists():
            try:
                os.link(source, target)
            except OSError:
                shutil.copy2(source, target)


def _swap_in(stage: Path, out_dir: Path) -> None:
    """Replace ``out_dir`` by ``stage`` in one step, carrying over the entries geocover did not write."""
    if not out_dir.exists():
        os.rename(stage, out_dir)
        return
    previous = _previous_set(out_dir)
    for entry in out_dir.iterdir():
        if entry.name not in previous and not (stage / entry.name).exists():
            os.rename(entry, stage / entry.name)
    if _exchange(stage, out_dir):
        shutil.rmtree(stage, ignore_errors=True)
        return
    aside = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
    os.rename(out_dir, aside)
    os.rename(stage, out_dir)
    shutil.rmtree(aside, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2`` with ``RENAME_EXCHANGE``); False when unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return result == 0


def _is_no_room(error: BaseException | None) -> bool:
    """Whether ``error`` (or what caused it) is a full disk, quota or file-size limit."""
    while error is not None:
        if isinstance(error, OSError) and error.errno in NO_ROOM:
            return True
        if any(text in str(error) for text in ("No space left on device", "Disk quota exceeded", "File too large")):
            return True
        error = error.__cause__ or error.__context__
    return False
