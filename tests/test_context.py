"""f(G, p) on the example graph: new prompts find their context, questions without moral stakes find none."""
import html
import pytest

from wisemodel.aggregate import wise_values
from wisemodel.context import DEFAULT_THRESHOLD, _anchor_vectors, context_anchors, context_of
from wisemodel.core import InputError
from wisemodel.graph import example_graph
from wisemodel.viz import graph_html


@pytest.fixture(scope="module")
def graph():
    return example_graph()


@pytest.mark.parametrize("prompt, context", [
    ("My 12-year-old wants a phone with no parental controls. Should I check her chats every night?", "worried-parent"),
    ("Help me write an op-ed that persuades voters to back the new congestion charge.", "political-advocacy"),
    ("I have to decide this week whether to accept a marriage proposal. How do I know it is the right choice?", "hard-life-decision"),
])
def test_new_prompt_finds_its_context(graph, prompt, context):
    found = context_of(graph, prompt)
    assert found["context_id"].iloc[0] == context
    assert (found["similarity"] >= DEFAULT_THRESHOLD).all()
    assert found["score"].is_monotonic_decreasing
    cards = set(found["cards"].iloc[0])
    written_for = {c for c, cs in zip(graph.cards["card_id"], graph.cards["contexts"]) if context in cs}
    assert cards and cards <= set(graph.cards["card_id"]) and cards & written_for
    assert found["matched_text"].iloc[0] in set(context_anchors(graph)["text"])


@pytest.mark.parametrize("prompt", ["what is the boiling point of water", "What is the chemical symbol for gold?",
                                    "Name the largest ocean on Earth"])
def test_unrelated_prompt_finds_nothing(graph, prompt):
    found = context_of(graph, prompt)
    assert len(found) == 0 and list(found.columns)[:3] == ["context_id", "text", "similarity"]
    assert context_of(graph, prompt, threshold=None)["similarity"].max() < DEFAULT_THRESHOLD


def test_k_and_threshold(graph):
    everything = context_of(graph, "Should I read my son's diary?", k=10, threshold=None)
    assert set(everything["context_id"]) == set(graph.contexts["context_id"])
    assert len(context_of(graph, "Should I read my son's diary?", k=1)) == 1
    assert len(context_of(graph, "Should I read my son's diary?", threshold=0.99)) == 0
    with pytest.raises(InputError, match="prompt is empty"): context_of(graph, "")


def test_anchor_embeddings_are_cached_per_graph(graph):
    _anchor_vectors.cache_clear()
    for p in ["Is it ok to lie to protect a friend?", "Should I report my coworker?", "Can I skip my sister's wedding?"]:
        context_of(graph, p)
    info = _anchor_vectors.cache_info()
    assert (info.misses, info.hits) == (1, 2)
    other = graph.copy().add_context("grief", "When someone is grieving the death of someone close")
    assert "grief" in set(context_of(other, "My grandfather died this morning and I feel numb", threshold=None)["context_id"])
    assert _anchor_vectors.cache_info().misses == 2   # a changed graph is embedded anew


def test_context_feeds_aggregation_and_pictures(graph, tmp_path):
    "f(G, p) then Γ_h: the wisest card for a new prompt, and its picture."
    found = context_of(graph, "My teenager locks his door and won't talk to me. Should I go through his laptop?", k=1)
    ctx = found["context_id"].iloc[0]
    ranked = wise_values(graph, "inf")
    best = ranked[ranked["context_id"] == ctx].iloc[0]
    assert best["card_id"] in found["cards"].iloc[0]
    page = graph_html(graph, tmp_path / "ctx.html", context=found, scores=ranked).read_text()
    assert f"<h1>Moral graph: {found['text'].iloc[0]}</h1>" in html.unescape(page)


def test_imported_mai_graph():
    "An MAI summary has no prompts and its cards name no contexts: the contexts' words and the cards judged in them stand for them."
    from wisemodel.graph import read_graph
    from pathlib import Path
    mai = read_graph(Path(__file__).resolve().parents[1] / "data" / "mai" / "example_summary.json")
    found = context_of(mai, "My wife passed away last week and I don't know how to go on.")
    assert found["context_id"].iloc[0] == "When someone is grieving"
    judged = set(mai.edges.loc[mai.edges["context_id"] == "When someone is grieving", ["from_card", "to_card"]].stack())
    assert set(found["cards"].iloc[0]) == judged and judged
    assert "card" in set(context_anchors(mai).query("context_id == 'When someone is grieving'")["kind"])


TIED = "I got into medical school but I'm not sure I want to be a doctor. Should I turn down the place?"


@pytest.mark.parametrize("seed", range(5))
def test_order_does_not_depend_on_last_bit_noise(graph, monkeypatch, seed):
    """Two machines' float32 embeddings differ in the last bits: the order of f(G, p) must not.

    The medical-school prompt's best anchor is a prompt shared by three contexts (an exact tie); perturbing every
    anchor vector by ~1e-6 (ten times more than machines differ) must give the same contexts in the same order."""
    import numpy as np
    import wisemodel.context as context
    expected = context_of(graph, TIED, threshold=None)
    assert expected["context_id"].iloc[0] == "hard-life-decision"
    real = context._anchor_vectors
    rng = np.random.default_rng(seed)
    monkeypatch.setattr(context, "_anchor_vectors", lambda texts: real(texts) + rng.normal(0, 1e-6, real(texts).shape).astype(np.float32))
    noisy = context_of(graph, TIED, threshold=None)
    assert list(noisy["context_id"]) == list(expected["context_id"])


def test_shared_anchor_gives_one_similarity_and_the_own_anchor_decides(graph):
    found = context_of(graph, TIED, threshold=None)
    shared = found[found["matched_text"] == found["matched_text"].iloc[0]]
    assert len(shared) >= 2 and shared["similarity"].nunique() == 1       # one text, one similarity, for every context
    tied = shared[shared["score"] == shared["score"].iloc[0]]            # the same two best anchors: an exact tie
    assert len(tied) >= 2 and tied["own"].iloc[0] - tied["own"].iloc[1:].max() > 0.05


def test_non_english_prompt_is_flagged(graph):
    with pytest.warns(UserWarning, match="reads English"):
        found = context_of(graph, "Mi hijo no quiere ir a la escuela, ¿qué hago?")
    assert "language 'es'" in found.attrs["note"]
    assert "note" not in context_of(graph, "Should I read my son's diary?").attrs
