"""The notebooks are the source: they must run as tests, export to the library unchanged, and be committed clean."""
import shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
NOTEBOOKS = sorted(p for p in (ROOT / "nbs").glob("*.ipynb") if not p.name.startswith("_"))


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(nb):
    "Each notebook's cells, examples and inline tests pass (cells flagged slow or gpu are skipped)."
    res = subprocess.run([BIN / "nbdev_test", "--path", str(nb), "--do_print"], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]


def _copy_repo(tmp_path):
    dst = tmp_path / "repo"
    shutil.copytree(ROOT, dst, ignore=shutil.ignore_patterns(".venv", ".git", "runs", "__pycache__", "*.egg-info", ".pytest_cache"))
    return dst


def _changed(a: Path, b: Path, pattern: str):
    return [p.relative_to(a).as_posix() for p in sorted(a.glob(pattern))
            if not (b / p.relative_to(a)).exists() or p.read_bytes() != (b / p.relative_to(a)).read_bytes()]


def test_library_matches_notebooks(tmp_path):
    "`nbdev_export` would not change wisemodel/: the library was exported from the committed notebooks."
    dst = _copy_repo(tmp_path)
    subprocess.run([BIN / "nbdev_export"], cwd=dst, check=True, capture_output=True)
    changed = _changed(dst / "wisemodel", ROOT / "wisemodel", "*.py") + _changed(ROOT / "wisemodel", dst / "wisemodel", "*.py")
    assert not changed, f"nbdev_export changes {sorted(set(changed))}: run `make export` and commit the result."


def test_notebooks_are_clean(tmp_path):
    "`nbdev_clean` would not change any notebook in nbs/ or papers/ (outputs, execution counts and stray metadata are stripped)."
    dst = _copy_repo(tmp_path)
    subprocess.run([BIN / "nbdev_clean"], cwd=dst, check=True, capture_output=True)
    subprocess.run([BIN / "nbdev_clean", "--fname", "papers"], cwd=dst, check=True, capture_output=True)
    changed = _changed(dst / "nbs", ROOT / "nbs", "*.ipynb") + _changed(dst / "papers", ROOT / "papers", "**/*.ipynb")
    assert not changed, f"notebooks not clean: {changed}: run `make export` (it runs nbdev_clean) and commit."
