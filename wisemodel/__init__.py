"""wisemodel: Democratic Fine-Tuning with a Moral Graph.

The public surface is small and named here (`wisemodel.__all__`). Names load lazily (PEP 562): `import wisemodel`
imports none of the library's modules, and so neither torch nor transformers, until a name is first used
(`wisemodel.rank`, `from wisemodel import MoralGraph`). Names of modules that have not landed yet (llm, articulate,
dedup, deliberate, reward) are public only once their module exists.
"""
__version__ = "0.1.0"

import importlib as _importlib
import os as _os
import sys as _sys
import types as _types

# public name -> the module of wisemodel that defines it
_EXPORTS = {
    "InputError": "core",
    "ValuesCard": "cards", "lint": "cards", "load_cards": "cards",
    "MoralGraph": "graph", "read_graph": "graph", "example_graph": "graph", "edge_stats": "graph",
    "from_mai_summary": "graph", "to_mai_summary": "graph",
    "embed": "embed",
    "wise_values": "aggregate", "rank": "aggregate", "find_cycles": "aggregate", "unwind": "aggregate",
    "support_labels": "aggregate", "top_cards": "aggregate",
    "context_of": "context",
    "simulate": "simulate", "robust_values": "robustness",
    "graph_html": "viz", "show_graph": "viz",
    "run_pipeline": "pipeline",
    "get_llm": "llm", "default_llm": "llm",
    "articulate": "articulate",
    "dedup": "dedup",
    "deliberate": "deliberate",
    "SynthConfig": "synth", "synthesize": "synth", "load_synth": "synth",
    "RewardConfig": "reward", "RewardModel": "reward", "train_reward": "reward",
    "ExplainConfig": "explain", "explain": "explain", "format_explanation": "explain", "legibility_hit_rate": "explain",
    "chat_widget": "cli_chat",
    "EvaluateConfig": "evaluate", "evaluate": "evaluate", "write_report": "report",
    "create_app": "app.server",
}
# a name is public once its module's file exists (looked up by path: finding `app.server` by import would import `app`)
_EXPORTS = {name: mod for name, mod in _EXPORTS.items() if _os.path.exists(_os.path.join(_os.path.dirname(__file__), *mod.split(".")) + ".py")}
__all__ = sorted(_EXPORTS)

def __getattr__(name: str):
    if name not in _EXPORTS: raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value

def __dir__():
    return sorted(set(__all__) | {"__version__", "__doc__", "__name__", "__path__", "__file__"})

class _Package(_types.ModuleType):
    "Keeps a public function whose name is also its module's (`embed`) from being replaced by the submodule on import."
    def __setattr__(self, name, value):
        if isinstance(value, _types.ModuleType) and _EXPORTS.get(name) == name and value.__name__ == f"{__name__}.{name}":
            return  # `wisemodel.embed` stays the function; the module is `sys.modules["wisemodel.embed"]`
        super().__setattr__(name, value)

_sys.modules[__name__].__class__ = _Package
