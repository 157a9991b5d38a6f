"""The output folder as one set: swapped in whole, locked, described by a manifest, checked before computing."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from geocover.cli import main
from geocover.errors import InputError
from geocover.io.osm import read_road_segments, save_segments
from geocover.network.storage import save_network
from geocover.output_folder import MANIFEST, staged_outputs, verify_outputs
from tests.conftest import ROOT
from tests.test_road_cache import pbf  # noqa: F401 (fixture)
from tests.test_storage import _network

HOLD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from geocover.output_folder import staged_outputs
    out, ready = Path(sys.argv[1]), Path(sys.argv[2])
    with staged_outputs(out, scenario="second") as stage:
        (stage / "coverage_by_zone.csv").write_text("new", encoding="utf-8")
        (stage / "half.gpkg").write_bytes(b"x" * 1000)
        ready.write_text("writing", encoding="utf-8")
        time.sleep(60)
""")


def _write_set(out: Path, files: dict[str, str], scenario: str = "first", **options) -> None:
    with staged_outputs(out, scenario=scenario, **options) as stage:
        for name, text in files.items():
            (stage / name).write_text(text, encoding="utf-8")


def _contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _hold(out: Path, tmp_path: Path) -> subprocess.Popen:
    """A process inside ``staged_outputs(out)``, mid-write, once this returns."""
    ready = tmp_path / "ready"
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(out), str(ready)], cwd=ROOT,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert process.poll() is None and time.monotonic() < deadline, "the writer did not start"
        time.sleep(0.05)
    return process


def test_a_new_set_replaces_the_old_one_whole_and_the_manifest_describes_it(tmp_path):
    out = tmp_path / "out"
    _write_set(out, {"coverage_by_zone.csv": "one", "audit.csv": "old audit", "audit.xlsx": "old"})
    (out / "my_notes.txt").write_text("mine", encoding="utf-8")
    (out / ".batch").mkdir()
    (out / ".batch" / "unit.pkl").write_text("state", encoding="utf-8")
    _write_set(out, {"coverage_by_zone.csv": "two"}, scenario="second")
    # The earlier run's audit is gone; what geocover did not write is carried over.
    assert sorted(p.name for p in out.iterdir()) == [".batch", "coverage_by_zone.csv", MANIFEST, "my_notes.txt"]
    assert (out / "coverage_by_zone.csv").read_text(encoding="utf-8") == "two"
    assert (out / ".batch" / "unit.pkl").read_text(encoding="utf-8") == "state"
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["scenario"] == "second"
    assert manifest["files"] == [{"name": "coverage_by_zone.csv", "bytes": 3,
                                  "sha256": "3fc4ccfe745870e2c0d99f71f30ff0656c8dedd41cc1d7d3d376b0dbe685e2f3"}]
    assert verify_outputs(out) == []
    (out / "coverage_by_zone.csv").write_text("edited", encoding="utf-8")
    assert verify_outputs(out) == ["coverage_by_zone.csv: 6 bytes, the manifest says 3"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_set_added_to_keeps_the_earlier_files(tmp_path):
    out = tmp_path / "out"
    _write_set(out, {"coverage_by_zone.csv": "run", "map.html": "map"})
    _write_set(out, {"audit.csv": "audit"}, keep_previous=True)
    assert _contents(out).keys() == {"audit.csv", "coverage_by_zone.csv", "map.html", MANIFEST}
    names = [entry["name"] for entry in json.loads((out / MANIFEST).read_text(encoding="utf-8"))["files"]]
    assert names == ["audit.csv", "coverage_by_zone.csv", "map.html"]
    assert verify_outputs(out) == []


def test_a_failing_block_leaves_the_earlier_set_and_no_temporary_folder(tmp_path):
    out = tmp_path / "out"
    _write_set(out, {"coverage_by_zone.csv": "one"})
    before = _contents(out)
    with pytest.raises(RuntimeError), staged_outputs(out) as stage:
        (stage / "coverage_by_zone.csv").write_text("half", encoding="utf-8")
        raise RuntimeError("crash")
    assert _contents(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_run_killed_mid_write_leaves_the_old_set_and_the_next_run_cleans_up(tmp_path):
    out = tmp_path / "out"
    _write_set(out, {"coverage_by_zone.csv": "one", "audit.csv": "audit"})
    before = _contents(out)
    process = _hold(out, tmp_path)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert _contents(out) == before and verify_outputs(out) == []
    left = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("."))
    assert left == [".out.lock", f".out.tmp-{process.pid}"]
    _write_set(out, {"coverage_by_zone.csv": "three"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "ready"]
    assert _contents(out).keys() == {"coverage_by_zone.csv", MANIFEST}


def test_a_swap_cut_between_its_two_renames_is_undone_on_the_next_start(tmp_path):
    out = tmp_path / "out"
    _write_set(out, {"coverage_by_zone.csv": "one"})
    os.rename(out, tmp_path / ".out.old-99999")
    (tmp_path / ".out.tmp-99999").mkdir()
    with pytest.raises(RuntimeError), staged_outputs(out):
        assert (out / "coverage_by_zone.csv").read_text(encoding="utf-8") == "one"
        raise RuntimeError("stop before writing")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert verify_outputs(out) == []


def test_a_second_run_into_a_folder_being_written_is_refused(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    process = _hold(out, tmp_path)
    try:
        monkeypatch.setattr("geocover.api.run_scenario", lambda *a, **k: pytest.fail("computed before refusing"))
        assert main(["demo", "--out", str(out), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert f"process {process.pid}" in err and "is writing this folder" in err and "Traceback" not in err
    finally:
        process.kill()
        process.wait()
    assert not out.exists()


def test_a_lock_of_a_dead_process_is_cleared(tmp_path):
    out = tmp_path / "out"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / ".out.lock").write_text(json.dumps({"pid": int(dead.stdout), "started": "0"}), encoding="utf-8")
    _write_set(out, {"coverage_by_zone.csv": "one"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("case", ["file", "parent_file", "too_long"])
def test_an_unwritable_output_folder_exits_2_before_computing(tmp_path, capsys, monkeypatch, case):
    monkeypatch.setattr("geocover.api.run_scenario", lambda *a, **k: pytest.fail("computed before checking"))
    if case == "file":
        out = tmp_path / "out"
        out.write_text("a file", encoding="utf-8")
        expected = "the output folder is a file"
    elif case == "parent_file":
        (tmp_path / "parent").write_text("a file", encoding="utf-8")
        out = tmp_path / "parent" / "out"
        expected = "is a file, not a folder"
    else:
        out = tmp_path / ("x" * 250)
        expected = "the folder name is too long"
    assert main(["demo", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert expected in err and str(out) in err and "Traceback" not in err


def test_a_full_disk_exits_2_and_keeps_the_earlier_set(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    _write_set(out, {"coverage_by_zone.csv": "one"})
    before = _contents(out)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("geocover.render.writers.write_travel_time", full)
    assert main(["demo", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "no room left on the disk" in err and "earlier outputs are unchanged" in err and "Traceback" not in err
    assert _contents(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_real_file_size_limit_while_writing_exits_2_with_the_old_set_intact(tmp_path):
    """The operating system refuses the write (RLIMIT_FSIZE, EFBIG), as a full disk would (ENOSPC)."""
    out = tmp_path / "out"
    _write_set(out, {"coverage_by_zone.csv": "one"})
    before = _contents(out)
    script = textwrap.dedent("""
        import resource, signal, sys
        from pathlib import Path
        from geocover.errors import InputError
        from geocover.output_folder import staged_outputs
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
        try:
            with staged_outputs(Path(sys.argv[1])) as stage:
                (stage / "travel_time.tif").write_bytes(b"x" * 1_000_000)
        except InputError as error:
            print(error, file=sys.stderr)
            sys.exit(2)
    """)
    done = subprocess.run([sys.executable, "-c", script, str(out)], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 2, done.stderr
    assert "no room left on the disk" in done.stderr
    assert _contents(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_outputs_get_the_users_normal_permissions(tmp_path):
    import pandas as pd

    from geocover.standards import write_audit

    previous = os.umask(0o022)
    try:
        out = tmp_path / "out"
        with staged_outputs(out) as stage:
            write_audit(pd.DataFrame({"rule": ["a"], "status": ["pass"]}), stage / "audit.csv", stage / "audit.xlsx")
    finally:
        os.umask(previous)
    modes = {p.name: p.stat().st_mode & 0o777 for p in out.iterdir()}
    assert modes == {"audit.csv": 0o644, "audit.xlsx": 0o644, MANIFEST: 0o644}
    assert out.stat().st_mode & 0o777 == 0o755


def test_inputerror_is_what_a_refusal_raises(tmp_path):
    out = tmp_path / "out"
    out.write_text("a file", encoding="utf-8")
    with pytest.raises(InputError, match="the output folder is a file"), staged_outputs(out):
        pass


def test_a_real_run_killed_while_writing_its_outputs_leaves_the_earlier_set(tmp_path):
    out = tmp_path / "out"
    _write_set(out, {"coverage_by_zone.csv": "earlier", "audit.csv": "earlier audit"})
    before = _contents(out)
    process = subprocess.Popen([sys.executable, "-m", "geocover.cli", "demo", "--out", str(out), "--quiet"],
                               cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stage = tmp_path / f".out.tmp-{process.pid}"
    deadline = time.monotonic() + 120
    while not (stage / "results.gpkg").exists():
        assert process.poll() is None and time.monotonic() < deadline, "the run ended before writing"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert (stage / "coverage_by_zone.csv").exists()
    assert _contents(out) == before and verify_outputs(out) == []
    assert main(["demo", "--out", str(out), "--quiet"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert "audit.csv" not in _contents(out) and verify_outputs(out) == []


def test_road_caches_get_the_users_normal_permissions(tmp_path, pbf):  # noqa: F811 (the imported fixture)

    previous = os.umask(0o022)
    try:
        network = save_network(_network(), tmp_path / "network.npz")
        segments = save_segments(read_road_segments(pbf, (10.0, 10.0, 11.0, 11.0)), tmp_path / "roads.npz")
    finally:
        os.umask(previous)
    assert network.stat().st_mode & 0o777 == 0o644 and segments.stat().st_mode & 0o777 == 0o644


def test_a_terminated_run_removes_its_temporary_folder_and_lock(tmp_path):
    out = tmp_path / "out"
    _write_set(out, {"coverage_by_zone.csv": "earlier"})
    before = _contents(out)
    process = subprocess.Popen([sys.executable, "-m", "geocover.cli", "demo", "--out", str(out), "--quiet"],
                               cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stage = tmp_path / f".out.tmp-{process.pid}"
    deadline = time.monotonic() + 120
    while not (stage / "coverage_by_zone.csv").exists():
        assert process.poll() is None and time.monotonic() < deadline, "the run ended before writing"
        time.sleep(0.02)
    process.terminate()
    assert process.wait() == 128 + signal.SIGTERM
    assert _contents(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
