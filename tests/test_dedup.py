"""Deduplication end to end: the labelled pairs, grouping all their cards, and `wisemodel cards dedup` for real."""
import json, random, subprocess, sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import wisemodel.cli_dedup  # noqa: F401  (registers `cards dedup`)
from wisemodel.cards import to_dft
from wisemodel.cli import cli
from wisemodel.core import InputError
from wisemodel.dedup import DEFAULT_THRESHOLD, dedup, evaluate_dedup, load_card_pairs, mark_canonical

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def pairs():
    return load_card_pairs()


@pytest.fixture(scope="module")
def cards(pairs):
    return list({c.id: c for p in pairs for c in (p.a, p.b)}.values())


def test_labelled_pairs_are_balanced_and_original(pairs, cards):
    assert 40 <= len(pairs) <= 60 and len(cards) == 44
    kinds = {p.kind for p in pairs}
    assert {"paraphrase", "hard_negative"} <= kinds
    assert all(p.same == (p.kind == "paraphrase") for p in pairs)
    assert sum(p.kind == "hard_negative" for p in pairs) >= 20


def test_embedding_path_separates_same_from_different(pairs):
    ev = evaluate_dedup(pairs)
    m = ev.metrics
    assert m["auc"] > 0.95, m
    assert m["embedding"]["precision"] >= 0.9 and m["embedding"]["recall"] >= 0.9, m
    assert m["grouped"]["precision"] >= 0.9 and m["grouped"]["recall"] >= 0.85, m
    assert ev.best_threshold == DEFAULT_THRESHOLD       # the documented choice is what the sweep finds
    assert list(ev.curve.columns[:4]) == ["threshold", "precision", "recall", "f1"]
    assert ev.curve.recall.is_monotonic_decreasing


def test_dedup_maps_every_card_and_groups_do_not_depend_on_order(cards):
    d = dedup(cards)
    assert set(d) == {c.id for c in cards}
    assert all(d[canon] == canon for canon in d.values())            # canonical cards map to themselves
    assert 18 <= len(d.groups) <= 30 and max(map(len, d.groups)) <= 4
    shuffled = cards[:]; random.Random(1).shuffle(shuffled)
    d2 = dedup(shuffled)
    partition = lambda m: sorted(sorted(k for k in m if m[k] == c) for c in set(m.values()))
    assert partition(d) == partition(d2)
    marked = mark_canonical(cards, d)
    assert [c.canonical_id for c in marked] == [d[c.id] for c in cards]
    with pytest.raises(InputError, match="outside"): dedup(cards, threshold=1.5)


def _run(*args):
    return subprocess.run([sys.executable, "-c", "from wisemodel.cli import main; main()", *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True)


def test_cli_dedup_mai_summary_for_real(tmp_path, pairs):
    "A MAI moral-graph summary with DFT cards (integer ids): every card comes back with its canonical id."
    chosen = [p for p in pairs if p.kind == "paraphrase"][:3] + [p for p in pairs if p.kind == "hard_negative"][:2]
    originals = list({c.id: c for p in chosen for c in (p.a, p.b)}.values())
    values = [{**to_dft(c.model_copy(update={"id": str(i + 1)}))} for i, c in enumerate(originals)]
    path = tmp_path / "graph.json"
    path.write_text(json.dumps({"values": values, "edges": []}))
    res = _run("cards", "dedup", path, "--from", "mai", "--json")
    assert res.returncode == 0, res.stderr[-2000:]
    mapping = json.loads(res.stdout)
    assert set(mapping) == {str(v["id"]) for v in values}
    expected = dedup([c.model_copy(update={"id": str(i + 1)}) for i, c in enumerate(originals)])
    assert mapping == dict(expected)
    assert len(set(mapping.values())) < len(mapping)                  # the paraphrases were merged


def test_cli_dedup_bad_input_is_one_line_exit_2(tmp_path):
    res = _run("cards", "dedup", tmp_path / "missing.json", "--json")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert [l for l in res.stderr.splitlines() if l.startswith("error:")] == [res.stderr.strip().splitlines()[-1]]
    bad = tmp_path / "bad.json"; bad.write_text(json.dumps([{"title": "x"}]))
    res = CliRunner().invoke(cli, ["cards", "dedup", str(bad), "--json"])
    assert res.exit_code == 2 and "error:" in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(cli, ["cards", "dedup", str(bad), "--from", "mai"])
    assert res.exit_code == 2 and "'values' list" in res.output
