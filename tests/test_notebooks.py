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


def _section(text: str, heading: str = "## What exists, and what does not") -> str:
    "The words of one `##` section of a Markdown text, whitespace folded."
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return " ".join(text[start:end if end > 0 else None].split())


def test_readme_index_and_architecture_say_what_exists_in_the_same_words():
    "README, index and architecture describe what exists now, and what does not, in one set of words."
    import json
    root = Path(__file__).resolve().parents[1]
    def notebook(name):
        return "\n\n".join("".join(c["source"]) for c in json.loads((root / "nbs" / name).read_text(encoding="utf-8"))["cells"]
                           if c["cell_type"] == "markdown")
    readme = _section((root / "README.md").read_text(encoding="utf-8"))
    assert readme == _section(notebook("index.ipynb")) == _section(notebook("architecture.ipynb"))
    assert "Not there yet" in readme
