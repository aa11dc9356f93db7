"""Manipulation robustness: the detectors, the defences, the study's numbers and its command."""
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import wisemodel.cli_robustness  # noqa: F401  (registers the command)
from wisemodel.aggregate import _tables, wise_values
from wisemodel.cli import cli
from wisemodel.graph import read_graph
from wisemodel.robustness import (ACCUSING, ATTACK_SHAPES, METRICS, OPPOSED_COLUMNS, attack_study, coordination, defend, drop_one_sided,
                                  one_sided_edges, opposed_pairs, polarised_cards, robust_values, robustness_study)
from wisemodel.simulate import Bloc, Minority, simulate

MAI = Path(__file__).resolve().parents[1] / "data" / "mai" / "example_summary.json"


def _sim(seed, bloc=None, n=500):
    return simulate(n_participants=n, seed=seed, minority=Minority(), split=1, bloc=bloc, as_graph=False)


@pytest.mark.parametrize("seed", [21, 22])
def test_no_honest_participant_is_flagged(seed):
    assert coordination(_sim(seed).graph).empty


def test_approving_two_cards_of_a_ballot_is_not_coordination():
    g = simulate(n_participants=500, seed=2, as_graph=False).graph     # 33 honest people voted for the same two cards of a prompt
    assert coordination(g).empty


@pytest.mark.parametrize("seed", [111, 114, 115])   # seeds where one-sided edges of 2 judges against accused honest people
def test_no_honest_pseudo_participant_is_accused_on_the_lifted_mai_graph(seed):
    from wisemodel.simulate import lift_mai
    lifted = lift_mai(read_graph(MAI), seed=seed)
    _, log = robust_values(lifted)
    accusing = log[log["defence"].isin(ACCUSING)]
    assert accusing.empty, accusing["reason"].tolist()


@pytest.mark.parametrize("shape", ["overt", "subtle", "camouflaged", "three-contexts"])
def test_coordination_finds_the_bloc(shape):
    s = _sim(31, dataclass_replace(ATTACK_SHAPES[shape], q=0.15))
    flagged = set(coordination(s.graph).participant_id)
    tp = len(flagged & s.bloc_participants)
    assert tp / len(flagged) == 1.0 and tp / len(s.bloc_participants) >= 0.85, (shape, tp, len(flagged), len(s.bloc_participants))


def dataclass_replace(bloc, **kw):
    import dataclasses
    return dataclasses.replace(bloc, **kw)


def test_one_noisy_edge_is_below_what_coordination_sees():
    "A known limit: a bloc whose members each keep only one of its two items (vote, one claim) at 50% leaves no shared pairs."
    s = _sim(32, Bloc(q=0.2, edges=1, noise=0.5))
    flagged = set(coordination(s.graph).participant_id)
    assert len(flagged & s.bloc_participants) < 0.5 * len(s.bloc_participants)


def test_defend_counts_a_cluster_once_and_leaves_the_graph_alone():
    s = _sim(33, Bloc(q=0.2))
    before = _tables(s.graph).votes["count"].copy()
    g, log = defend(s.graph)
    assert len(log) == 1 and set(log.participants.iloc[0]) == s.bloc_participants
    assert log.reason.iloc[0].startswith(f"{len(s.bloc_participants)} participants endorsed")
    v = _tables(g).votes
    mine = v.participant_id.isin(s.bloc_participants)
    assert v["count"][mine].sum() == pytest.approx(mine.sum() / len(s.bloc_participants))
    assert (v["count"][~mine] == 1).all() and _tables(s.graph).votes["count"].equals(before)


def test_opposed_pairs_are_the_split_goods():
    "The pair of goods is the most opposed pair of the split context, every opposed pair holds one of them, almost none elsewhere."
    elsewhere = 0
    for seed in (41, 42, 43, 44):
        s = _sim(seed)
        goods = set(s.split_contexts["context-1"])
        op = opposed_pairs(s.graph)
        mine = op[op.context_id == "context-1"]
        assert {mine.from_card.iloc[0], mine.to_card.iloc[0]} == goods and mine.group.iloc[0] == "g1", (seed, mine.head(2))
        assert all({a, b} & goods for a, b in zip(mine.from_card, mine.to_card))
        assert (mine.group_logit > 0).all() and (mine.others_logit < 0).all() and (mine.z >= 3.0).all()
        elsewhere += (op.context_id != "context-1").sum()
        assert goods <= set(polarised_cards(s.graph).card_id)
    assert elsewhere <= 1, elsewhere


def test_opposed_pairs_need_two_groups():
    s = _sim(45)
    one = SimpleNamespace(**{**vars(s.graph), "participants": s.graph.participants.assign(group="everyone")})
    assert opposed_pairs(one).empty and list(opposed_pairs(one).columns) == OPPOSED_COLUMNS


def test_split_contexts_labelled_contested_on_unseen_seeds():
    "Seeds no setting was chosen on: every split context's top card contested, at most one false alarm in 25 other contexts."
    split, false = [], 0
    for seed in range(71, 76):
        s = _sim(seed)
        rv, _ = robust_values(s.graph)
        top = rv[rv["rank"] == 1].set_index(rv[rv["rank"] == 1].context_id.astype(str)).label.astype(str)
        split.append(top["context-1"] == "contested")
        false += (top.drop("context-1") == "contested").sum()
    assert all(split) and false <= 1, (split, false)


@pytest.mark.parametrize("seed", [34, 35])
def test_one_sided_edges_catch_the_claim_coordination_misses(seed):
    s = _sim(seed, Bloc(q=0.2, edges=1, noise=0.5))
    assert coordination(s.graph).empty
    (x, a, b), = s.bloc_edges
    one = one_sided_edges(s.graph)
    claim = one[(one.context_id == x) & (one.from_card == a) & (one.to_card == b)].iloc[0]
    assert claim.t >= 4 and claim.judges_for >= 3 * claim.judges_against and claim.groups < 0.5
    g, log = drop_one_sided(s.graph)
    assert list(log.claims.sum()) == [[x, a, b]] and set(log.participants.sum()) <= s.bloc_participants
    kept = _tables(g).edges
    assert not ((kept.context_id == x) & (kept.from_card == a) & (kept.to_card == b) & (kept.verdict == "wiser")).any()


@pytest.mark.parametrize("seed", [51, 52])
def test_robust_values_the_bloc_loses_the_minority_wins(seed):
    "The bloc attacks the minority's context: undefended Γ_∞ puts the bloc first, robust_values the minority's card."
    s = _sim(seed, Bloc(q=0.2))
    plain = wise_values(s.graph, "inf", context="context-0", share=False, labels=False)
    assert plain.card_id.astype(str).iloc[0] == s.bloc_cards["context-0"]
    rv, log = robust_values(s.graph)
    top = rv[rv["rank"] == 1].set_index(rv[rv["rank"] == 1].context_id.astype(str))
    assert top.loc["context-0", "card_id"] == s.minority_cards["context-0"]
    assert top.loc["context-1", "label"] == "contested" and top.loc["context-1", "card_id"] in s.split_contexts["context-1"]
    assert (top.drop(["context-0", "context-1"]).label != "contested").sum() >= 3


def test_study_rows_intervals_and_baselines():
    st = robustness_study(qs=(0, 0.2), seeds=range(60, 63), n_participants=100)
    s = st.summary
    assert {"Γ_0", "Γ_1", "Γ_∞", "votes", "pagerank", "bridging", "bridging_mf", "Γ_∞ unwound", "robust"} == set(s.method)
    assert len(s) == 2 * 9 and set(st.runs.seed) == {60, 61, 62}
    for m in METRICS:
        ok = s[m].notna()
        assert (s.loc[ok, f"{m}_lo"] <= s.loc[ok, m] + 1e-12).all() and (s.loc[ok, m] <= s.loc[ok, f"{m}_hi"] + 1e-12).all()
    at0 = s[s.q == 0]
    assert at0.detector_recall.isna().all() and at0.top1_unchanged.isna().all()
    at = s[s.q == 0.2].set_index("method")
    assert at.loc["votes", "bloc_first"] == 1.0 and at.loc["robust", "bloc_first"] == 0.0
    # the over-judged pairs' majority side holds a few honest people who agree with the crowd (dev seeds: precision 0.92-0.98)
    assert at.loc["robust", "detector_precision"] >= 0.9 and at.loc["robust", "detector_recall"] >= 0.95


def test_attack_study_on_the_lifted_mai_graph():
    st = attack_study(read_graph(MAI), qs=(0, 0.2), seeds=range(2), bloc=Bloc(edges=2))
    at = st.summary[st.summary.q == 0.2].set_index("method")
    assert at.top1_accuracy.isna().all() and at.top1_unchanged.notna().all()       # no truth, only "unchanged"
    assert at.loc["votes", "bloc_first"] == 1.0
    assert {"robust", "Γ_∞", "votes"} <= set(at.index)


def test_bench_robustness_command():
    res = CliRunner().invoke(cli, ["bench", "robustness", "--json", "--seed", "3", "--seeds", "2", "--qs", "0.1", "--participants", "50"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert all(r["q"] == 0.1 for r in rows)
    for r in rows:
        assert {"q", "method", "top1_unchanged", "kendall_tau", "detector_precision", "detector_recall", "minority_first",
                "contested_share"} <= set(r)
    again = json.loads(CliRunner().invoke(cli, ["bench", "robustness", "--json", "--seed", "3", "--seeds", "2", "--qs", "0.1",
                                                "--participants", "50"]).output)
    assert again == rows


@pytest.mark.parametrize("seed,q", [(7, 0.05), (8, 0.1)])
def test_a_bloc_too_small_to_be_seen_does_not_take_the_lifted_mai_graph(seed, q):
    "3-6 people who vote for a new card and claim it wiser than every other: under coordination's min_support, unconfirmed by others."
    from wisemodel.aggregate import top_cards
    from wisemodel.robustness import leadership
    from wisemodel.simulate import inject_bloc, lift_mai
    honest = lift_mai(read_graph(MAI), seed=seed)
    g, who, claimed, target = inject_bloc(honest, Bloc(q=q), seed=seed)
    (x, card), = target.items()
    assert coordination(g).empty
    assert top_cards(robust_values(g, confirm=None)[0])[x] == card                 # the other defences do not see it
    lead = leadership(g).set_index(["context_id", "card_id"])
    assert lead.loc[(x, card), "confirmed_by"] == 0 and not lead.loc[(x, card), "can_lead"]
    rv, log = robust_values(g)
    assert top_cards(rv)[x] == top_cards(robust_values(honest)[0])[x] != card     # the context keeps what it had without the bloc
    assert who <= set(log.participants.sum())                                      # every member's claims dropped, and logged


@pytest.mark.parametrize("seed", [5, 6])
def test_a_bloc_that_only_votes_cannot_lead_with_a_card_nobody_else_judged(seed):
    "A fifth of the lifted MAI graph votes for a new card: Γ_∞ follows the votes; nobody but its voters holds it wiser, so it cannot lead."
    from wisemodel.aggregate import top_cards
    from wisemodel.robustness import leadership
    from wisemodel.simulate import inject_bloc, lift_mai
    honest = lift_mai(read_graph(MAI), seed=seed)
    g, who, claimed, target = inject_bloc(honest, Bloc(q=0.2, edges=0), seed=seed)
    (x, card), = target.items()
    assert not claimed and top_cards(wise_values(g, "inf", share=False, labels=False))[x] == card
    assert top_cards(robust_values(g, confirm=None)[0])[x] == card
    lead = leadership(g).set_index(["context_id", "card_id"])
    assert lead.loc[(x, card), "confirmed_by"] == 0 and not lead.loc[(x, card), "can_lead"]
    rv, log = robust_values(g)
    top = rv[rv["rank"] == 1].set_index(rv[rv["rank"] == 1].context_id.astype(str))
    assert top.loc[x, "card_id"] == top_cards(robust_values(honest)[0])[x] and bool(top.loc[x, "can_lead"])
    assert (log.action == "cannot lead: placed after the cards that can").any()


@pytest.mark.parametrize("seed", [53, 54])
def test_a_bloc_the_app_places_is_a_share_of_its_context_and_does_not_lead(seed):
    """Placed like everyone (a share q of the attacked context, the pairs drawn for it): a fifth of the minority's context
    pushing its own card gets no further than honest people let it; the same bloc picking its pairs takes plain Γ_∞."""
    from wisemodel.aggregate import top_cards
    from wisemodel.simulate import _people_in
    honest = _sim(seed)
    placed = _sim(seed, dataclass_replace(ATTACK_SHAPES["placed"], q=0.2))
    x, card = next(iter(placed.bloc_cards.items()))
    people, pairs = _people_in(_tables(honest.graph), x)
    assert len(placed.bloc_participants) == int(np.ceil(0.2 * people / 0.8)) and pairs == 5
    judged = _tables(placed.graph).edges
    judged = judged[judged.participant_id.isin(placed.bloc_participants)]
    assert set(judged.context_id) == {x} and judged.groupby("participant_id").size().max() == 5
    for ranked in (wise_values(placed.graph, "inf", share=False, labels=False), robust_values(placed.graph)[0]):
        assert top_cards(ranked)[x] != card
    picking = _sim(seed, Bloc(q=0.2))
    assert top_cards(wise_values(picking.graph, "inf", share=False, labels=False))[x] == picking.bloc_cards[x]


@pytest.mark.parametrize("seed", [21, 22])
def test_no_pair_of_an_honest_graph_is_over_judged(seed):
    "An even assignment never crowds a pair: nothing flagged on honest simulated graphs, the lifted MAI graph or a count-only import."
    from wisemodel.robustness import overjudged_pairs
    from wisemodel.simulate import lift_mai
    assert overjudged_pairs(_sim(seed).graph).empty
    assert overjudged_pairs(lift_mai(read_graph(MAI), seed=seed)).empty
    assert overjudged_pairs(read_graph(MAI)).empty                      # no participants: nobody to count


def test_a_crowded_pair_is_trimmed_to_what_the_assignment_sends_whichever_side_it_floods():
    """A bloc that floods the decisive pair with the side it wants to *lose* gets that side weighed down to its share, not the
    pair handed to the other card: trimming is not a lever."""
    from wisemodel.aggregate import top_cards
    from wisemodel.robustness import overjudged_pairs, trim_overjudged
    from wisemodel.simulate import inject_bloc
    honest = _sim(23)
    x = "context-0"
    top = top_cards(robust_values(honest.graph)[0])[x]
    second = robust_values(honest.graph)[0].query("context_id == @x and rank == 2").card_id.iloc[0]
    # 40 single-verdict accounts that hold the honest top wiser than the runner-up (the side the attacker wants dropped)
    flood, who, _, _ = inject_bloc(honest.graph, Bloc(q=0.07, target="runner-up", edges=0), seed=1, targets={x: second})
    t = _tables(flood)
    extra = pd.DataFrame({"participant_id": sorted(who), "context_id": x, "from_card": second, "to_card": top, "verdict": "wiser", "count": 1})
    from wisemodel.aggregate import _derive
    flooded = _derive(flood, edges=pd.concat([t.edges, extra], ignore_index=True), votes=t.votes[~t.votes.participant_id.isin(who)])
    found = overjudged_pairs(flooded)
    assert len(found) == 1 and found.held.iloc[0] == top and found.judges.iloc[0] >= len(who)
    trimmed, log = trim_overjudged(flooded)
    e = _tables(trimmed).edges
    pair = e[(e.context_id == x) & e.from_card.isin([top, second]) & e.to_card.isin([top, second])]
    held = np.where(pair.verdict == "wiser", pair.to_card, np.where(pair.verdict == "not_wiser", pair.from_card, None))
    assert pair["count"][held == top].sum() >= pair["count"][held == second].sum()   # the honest order of the pair stands
    assert top_cards(robust_values(flooded)[0])[x] == top
