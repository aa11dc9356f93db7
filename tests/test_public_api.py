"""The public surface named in `wisemodel/__init__.py`: every name resolves, and `import wisemodel` stays light."""
import subprocess, sys
from pathlib import Path
import pytest
import wisemodel

ROOT = Path(__file__).resolve().parents[1]
LATER = {"get_llm": "llm", "default_llm": "llm", "articulate": "articulate", "dedup": "dedup", "deliberate": "deliberate",
         "SynthConfig": "synth", "synthesize": "synth", "load_synth": "synth", "RewardConfig": "reward", "RewardModel": "reward", "train_reward": "reward",
         "ExplainConfig": "explain", "explain": "explain", "format_explanation": "explain", "legibility_hit_rate": "explain",
         "chat_widget": "cli_chat", "EvaluateConfig": "evaluate", "evaluate": "evaluate", "write_report": "report",
         "create_app": "app.server"}
NOW = {"ValuesCard", "lint", "load_cards", "MoralGraph", "read_graph", "example_graph", "edge_stats", "from_mai_summary",
       "to_mai_summary", "wise_values", "rank", "find_cycles", "unwind", "support_labels", "context_of", "graph_html",
       "show_graph", "embed", "InputError", "run_pipeline", "simulate", "robust_values", "top_cards"}


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": str(Path(sys.executable).parent)})


def test_all_names_the_public_surface():
    "`__all__` holds the agreed names, and the later modules' names exactly when those modules exist."
    present = {name for name, mod in LATER.items() if (ROOT / "wisemodel" / f"{mod.replace('.', '/')}.py").exists()}
    assert set(wisemodel.__all__) == NOW | present
    assert wisemodel.__all__ == sorted(wisemodel.__all__) and set(wisemodel.__all__) <= set(dir(wisemodel))


@pytest.mark.parametrize("name", wisemodel.__all__)
def test_name_resolves_to_its_module(name):
    "Each public name is the object its module defines (not a copy, not the module)."
    obj = getattr(wisemodel, name)
    mod = sys.modules[f"wisemodel.{wisemodel._EXPORTS[name]}"]
    assert obj is getattr(mod, name) and callable(obj)


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'wise_value'"): wisemodel.wise_value
    assert not hasattr(wisemodel, "get_llm") or (ROOT / "wisemodel" / "llm.py").exists()


def test_function_named_like_its_module_stays_the_function():
    "`wisemodel.embed` is the function even after the module `wisemodel.embed` is imported."
    res = _python("import wisemodel, wisemodel.context, numpy as np\n"
                  "from wisemodel.embed import similarity\n"
                  "import sys; assert callable(wisemodel.embed) and wisemodel.embed is sys.modules['wisemodel.embed'].embed\n"
                  "from wisemodel import embed; assert embed.__module__ == 'wisemodel.embed'")
    assert res.returncode == 0, res.stderr[-3000:]


def test_import_is_light():
    "`import wisemodel` imports none of its modules, and so neither torch, transformers nor pandas."
    res = _python("import wisemodel, sys\n"
                  "heavy = sorted(m for m in sys.modules if m.split('.')[0] in {'torch', 'transformers', 'pandas', 'sentence_transformers'}"
                  " or m.startswith('wisemodel.'))\n"
                  "assert not heavy, heavy\n"
                  "wisemodel.MoralGraph; assert 'wisemodel.graph' in sys.modules and 'torch' not in sys.modules")
    assert res.returncode == 0, res.stderr[-3000:]
    star = _python("from wisemodel import *; print(len([n for n in dir() if not n.startswith('_')]))")
    assert star.returncode == 0 and int(star.stdout) == len(wisemodel.__all__), star.stderr[-3000:]
