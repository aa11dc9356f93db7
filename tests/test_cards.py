"""Values cards end to end: the shipped example files, format round trips, rendering, and `wisemodel cards lint`."""
import json, subprocess, sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import wisemodel.cli_cards  # noqa: F401  (registers `cards lint`)
from wisemodel.cards import (ValuesCard, example_cards, from_dft, from_mge, lint, load_cards, save_cards, to_dft,
                             to_mge)
from wisemodel.cli import cli
from wisemodel.core import InputError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "data" / "cards" / "example_cards.json"
DFT_EXAMPLES = ROOT / "data" / "cards" / "example_dft_cards.json"

BAD_CARD = {"id": "being-there", "title": "Being There", "description": "Staying with a friend through a loss.",
            "policies": ["Moments when the friend goes quiet", "CONVERSATION where they feel deeply understood",
                         "WORDS of comfort in order to make them feel better", "Ensure the friend is never alone"]}


def _lint(*args):
    return CliRunner().invoke(cli, ["cards", "lint", *map(str, args)])


def test_example_files_load_and_pass_lint():
    cards = load_cards(EXAMPLES)
    assert 6 <= len(cards) <= 10 and cards == example_cards()
    assert len({c.id for c in cards}) == len(cards) and len({c.contexts[0] for c in cards}) == len(cards)
    dft = load_cards(DFT_EXAMPLES)
    assert len(dft) == 3 and all(c.provenance.source == "dft" and c.details for c in dft)
    assert {c.id: [f.code for f in lint(c)] for c in cards + dft} == {c.id: [] for c in cards + dft}


def test_dft_file_round_trip_is_lossless(tmp_path):
    "DFT -> ValuesCard -> DFT gives back the same records: integer ids, timestamps, detailed instructions."
    original = json.loads(DFT_EXAMPLES.read_text())
    assert [to_dft(from_dft(d)) for d in original] == original
    save_cards(load_cards(DFT_EXAMPLES, "dft"), tmp_path / "out.json", "dft")
    assert json.loads((tmp_path / "out.json").read_text()) == original


def test_mge_round_trip_and_wisemodel_save_load(tmp_path):
    cards = example_cards()
    mge = [to_mge(c) for c in cards]
    assert [to_mge(from_mge(d)) for d in mge] == mge
    (tmp_path / "mge.json").write_text(json.dumps({"values": mge}))
    assert [c.policies for c in load_cards(tmp_path / "mge.json", "mge")] == [c.policies for c in cards]
    save_cards(cards, tmp_path / "wm.json")
    assert load_cards(tmp_path / "wm.json") == cards


def test_card_text_is_escaped_in_html_and_markdown():
    card = ValuesCard(title="<script>alert('pwned')</script>", description="Tom & Jerry <i>",
                      policies=["MOMENTS when <b>markup</b> appears", "<img src=x onerror=alert(1)>", "SIGNS of x"])
    out = card._repr_html_()
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "<img" not in out and "&lt;img src=x" in out and "Tom &amp; Jerry &lt;i&gt;" in out
    md = card.to_markdown()
    assert "<script>" not in md and "<img" not in md and "- **MOMENTS** when &lt;b&gt;markup" in md


def test_lint_json_lists_every_card_with_findings(tmp_path):
    path = tmp_path / "cards.json"
    path.write_text(json.dumps(json.loads(EXAMPLES.read_text())[:2] + [BAD_CARD]))
    res = _lint(path, "--json")
    assert res.exit_code == 1, res.output      # an error-level finding
    report = json.loads(res.stdout)
    assert [r["id"] for r in report] == ["honest-encouragement", "keeping-company-in-grief", "being-there"]
    assert report[0]["findings"] == [] and report[2]["title"] == "Being There"
    assert [(f["code"], f["policy"], f["severity"]) for f in report[2]["findings"]] == [
        ("policy-not-plural-noun", 0, "error"), ("policy-not-plural-noun", 1, "error"), ("vague-word", 1, "warning"),
        ("instrumental-phrase", 2, "warning"), ("policy-not-plural-noun", 3, "error"),
        ("goal-not-attention", 3, "warning")]
    assert all(f["message"].startswith(f"policies[{f['policy']}]") for f in report[2]["findings"])


def test_lint_text_and_exit_status(tmp_path):
    res = _lint(EXAMPLES)
    assert res.exit_code == 0 and "8 cards, 0 with findings (0 errors, 0 warnings)." in res.stdout
    warn_only = tmp_path / "warn.json"
    warn_only.write_text(json.dumps([{**BAD_CARD, "policies": ["MOMENTS of deep quiet", "SIGNS of fatigue",
                                                                "WORDS they repeat"]}]))
    res = _lint(warn_only)
    assert res.exit_code == 0, res.output      # warnings alone do not fail
    assert 'being-there  "Being There"' in res.stdout
    assert "warning: policies[0] uses the vague word 'deep'" in res.stdout and "[vague-word]" in res.stdout


def test_lint_reads_dft_and_mge(tmp_path):
    res = _lint(DFT_EXAMPLES, "--from", "dft", "--json")
    assert res.exit_code == 0 and [r["id"] for r in json.loads(res.stdout)] == ["101", "102", "103"]
    mge = tmp_path / "mge.json"
    mge.write_text(json.dumps([{"title": "Patience", "description": "Letting things take their time.",
                                "policies": ["MOMENTS when rushing would close a door"]}]))
    res = _lint(mge, "--from", "mge", "--json")
    assert res.exit_code == 1 and [f["code"] for f in json.loads(res.stdout)[0]["findings"]] == ["too-few-policies"]


BAD_INPUTS = {
    "missing-file": (None, "file not found", None),
    "empty-file": ("   \n", "the file is empty", None),
    "invalid-json": ('[{"title": "x",]', "invalid JSON at line 1", None),
    "not-a-list": ('{"title": "x"}', "expected a list of cards", None),
    "no-cards": ("[]", "holds no cards", "cards"),
    "not-an-object": ('[["MOMENTS"]]', "expected a card", "cards[0]"),
    "missing-title": (json.dumps([{k: v for k, v in BAD_CARD.items() if k != "title"}]), "Field required", "cards[0].title"),
    "policies-wrong-type": (json.dumps([BAD_CARD, {**BAD_CARD, "id": "b", "policies": "MOMENTS"}]), "valid list",
                            "cards[1].policies"),
    "policy-wrong-type": (json.dumps({"cards": [{**BAD_CARD, "policies": ["MOMENTS", 3]}]}), "valid string",
                          "cards[0].policies[1]"),
    "empty-title": (json.dumps([{**BAD_CARD, "title": " "}]), "must not be empty", "cards[0].title"),
    "unknown-field": (json.dumps([{**BAD_CARD, "polices": []}]), "Extra inputs", "cards[0].polices"),
    "duplicate-id": (json.dumps([BAD_CARD, BAD_CARD]), "already used", "cards[1].id"),
    "dft-no-criteria": (json.dumps({"values": [{"id": 1, "title": "x", "instructionsShort": "y"}]}), "Field required",
                        "values[0].evaluationCriteria"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_one_line_exit_2(tmp_path, case):
    text, message, field = BAD_INPUTS[case]
    path = tmp_path / "my_cards.json"
    if text is not None: path.write_text(text)
    res = _lint(path, "--json")
    assert res.exit_code == 2, res.output
    assert res.stdout == "" and "Traceback" not in res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: ") and message in lines[0], lines
    if field: assert f"field '{field}'" in lines[0]
    with pytest.raises(InputError) as err:
        load_cards(path)
    assert err.value.field == field and str(err.value.file) == str(path)


def test_real_command_line(tmp_path):
    "Once through the real entry point, as a user would run it."
    cmd = [sys.executable, "-c", "from wisemodel.cli import main; main()", "cards", "lint"]
    res = subprocess.run(cmd + [str(EXAMPLES), "--json"], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert len(json.loads(res.stdout)) == 8
    bad = tmp_path / "bad.json"
    bad.write_text('[{"title": 3}]')
    res = subprocess.run(cmd + [str(bad)], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 2 and res.stdout == "" and "Traceback" not in res.stderr
    assert res.stderr.strip() == (f"error: {bad}: field 'cards[0].title': Input should be a valid string. (2 more "
                                  "problems after this one.) Fix: correct this field and run the command again.")
