"""Simulated deliberations with a known truth: scale, what participants are shown, the bloc, and lifting an MAI import."""
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wisemodel.aggregate import wise_values
from wisemodel.core import InputError
from wisemodel.graph import MoralGraph, edge_stats, example_graph, graph_summary, read_graph, to_mai_summary
from wisemodel.simulate import Bloc, Minority, inject_bloc, lift_mai, simulate

MAI = Path(__file__).resolve().parents[1] / "data" / "mai" / "example_summary.json"


@pytest.fixture(scope="module")
def sim():
    return simulate(n_participants=500, n_cards=60, n_contexts=6, minority=Minority(), split=1, bloc=Bloc(q=0.2), seed=11)


def test_a_500_participant_60_card_graph_simulates():
    # how fast: the 02b notebook prints it (about a second here); a time bound in a test would fail on a slower machine
    s = simulate(n_participants=500, n_cards=60, n_contexts=6, minority=Minority(), split=1, bloc=Bloc(q=0.3, contexts=2), seed=5)
    assert isinstance(s.graph, MoralGraph)
    summary = graph_summary(s.graph)
    assert summary["participants"] > 700 and summary["cards"] == 60 + 1 + 2 and summary["judgements"] > 2500


def test_same_seed_same_graph_other_seed_other_graph():
    a, b, c = (simulate(n_participants=120, seed=s, as_graph=False) for s in (3, 3, 4))
    assert a.graph.edges.equals(b.graph.edges) and a.graph.votes.equals(b.graph.votes)
    assert not a.graph.edges.equals(c.graph.edges)
    assert a.wisdom.equals(b.wisdom) and not a.wisdom.equals(c.wisdom)


def test_the_truth_the_graph_does_not_say(sim):
    assert sim.truth("context-0").index[0] == sim.minority_cards["context-0"]
    assert sim.truth("context-0").index[-1] == sim.bloc_cards["context-0"] == "bloc-card-0"
    a, b = sim.split_contexts["context-1"]
    assert sim.wisdom[("context-1", a)] == sim.wisdom[("context-1", b)] == sim.truth("context-1").iloc[0]
    groups = sim.graph.participants.group
    assert (groups == "minority").sum() >= 3 and not groups.isna().any()


def test_participants_judge_and_vote_only_what_they_were_shown(sim):
    g = sim.graph
    imp = g.impressions
    shown_pairs = set(zip(imp.participant_id[imp.stage == "relate"], imp.context_id[imp.stage == "relate"],
                          imp.from_card[imp.stage == "relate"], imp.to_card[imp.stage == "relate"]))
    judged = set(zip(g.edges.participant_id, g.edges.context_id, g.edges.from_card, g.edges.to_card))
    assert judged == shown_pairs
    shown_cards = set(zip(imp.participant_id[imp.stage == "select"], imp.card_id[imp.stage == "select"]))
    assert set(zip(g.votes.participant_id, g.votes.card_id)) <= shown_cards


def test_honest_rows_do_not_depend_on_the_bloc():
    base = simulate(n_participants=200, minority=Minority(), bloc=Bloc(q=0), seed=2, as_graph=False)
    for q in (0.1, 0.3):
        s = simulate(n_participants=200, minority=Minority(), bloc=Bloc(q=q), seed=2, as_graph=False)
        honest = ~s.graph.edges.participant_id.isin(s.bloc_participants)
        assert s.graph.edges[honest].reset_index(drop=True).equals(base.graph.edges)
        assert len(s.bloc_participants) == math.ceil(q * 200 / (1 - q) - 1e-9)


def test_the_wise_minority_wins_by_judgements_not_votes():
    "Without an attack, Γ_∞ puts the minority's card first where votes do not: it percolates up through the edges."
    firsts = {"gamma": 0, "votes": 0}
    for seed in range(4):
        s = simulate(n_participants=500, minority=Minority(), seed=seed, as_graph=False)
        card = s.minority_cards["context-0"]
        g = wise_values(s.graph, "inf", context="context-0", share=False, labels=False)
        v = s.graph.votes[s.graph.votes.prompt_id == "prompt-0"].card_id.value_counts()
        firsts["gamma"] += g.card_id.astype(str).iloc[0] == card
        firsts["votes"] += v.index[0] == card
    assert firsts["gamma"] >= 3 and firsts["votes"] <= 1, firsts


def test_bloc_shapes():
    g = example_graph()
    overt, who, claims, target = inject_bloc(g, Bloc(q=0.25, contexts=1), seed=0)
    x, card = next(iter(target.items()))
    assert len(who) == 4 and card == "bloc-card-0"                            # ceil(0.25 * 10 / 0.75)
    others = set(wise_values(g, "inf", context=x, share=False, labels=False).card_id.astype(str))
    assert {a for _, a, _ in claims} == others and {b for _, _, b in claims} == {card}
    _, _, subtle, _ = inject_bloc(g, Bloc(q=0.25, edges=2), seed=0)
    leaders = list(wise_values(overt, "inf", context=x, share=False, labels=False).card_id.astype(str))
    assert {a for _, a, _ in subtle} == set([c for c in leaders if c != card][:2])
    _, _, _, existing = inject_bloc(g, Bloc(q=0.25, target="existing"), seed=0)
    assert existing[x] == list(wise_values(g, "inf", context=x, share=False, labels=False).card_id.astype(str))[-1]
    camo, who, _, _ = inject_bloc(g, Bloc(q=0.25, camouflage=3), seed=0)
    mine = camo.edges[camo.edges.participant_id.isin(who)]
    assert (mine.verdict == "not_wiser").any() and len(mine) > len(claims)
    noisy, who, _, _ = inject_bloc(simulate(n_participants=300, seed=1, as_graph=False).graph, Bloc(q=0.2, noise=0.5), seed=0)
    votes = noisy.votes[noisy.votes.participant_id.isin(who)]
    assert 0.3 < len(votes) / len(who) < 0.7
    with pytest.raises(InputError, match=r"q must be in \[0, 1\)"): inject_bloc(g, Bloc(q=1.0))
    with pytest.raises(InputError, match="target"): inject_bloc(g, Bloc(target="mine"))


def test_lift_mai_keeps_every_count():
    mai = read_graph(MAI)
    for seed in (0, 1):
        lifted = lift_mai(mai, seed=seed)
        assert edge_stats(lifted).equals(edge_stats(mai))
        assert to_mai_summary(lifted)["edges"] == to_mai_summary(mai)["edges"]
        s, s0 = graph_summary(lifted), graph_summary(mai)
        assert (s["judgements"], s["impressions"]) == (s0["judgements"], s0["impressions"])
        e = lifted.edges
        # one judgement per person per MAI edge, and the same people in every context of a grouped edge
        assert not e.duplicated(["participant_id", "group_id", "context_id"]).any()
        for gid, rows in e.groupby("group_id"):
            people = [frozenset(r.participant_id) for _, r in rows.groupby("context_id")]
            assert len(set(people)) == 1, gid
    a, b = lift_mai(mai, seed=0), lift_mai(mai, seed=1)
    assert not a.edges.participant_id.equals(b.edges.participant_id)


def test_lift_mai_implied_votes_follow_the_persons_own_judgements():
    lifted = lift_mai(read_graph(MAI), seed=3, votes="implied")
    e = lifted.edges
    favoured = set(zip(e.participant_id[e.verdict == "wiser"], e.to_card[e.verdict == "wiser"])) | \
        set(zip(e.participant_id[e.verdict == "not_wiser"], e.from_card[e.verdict == "not_wiser"]))
    assert set(zip(lifted.votes.participant_id, lifted.votes.card_id)) == favoured
    assert lifted.meta["lifted"]["pseudo_participants"] == len(lifted.participants)
    assert len(lift_mai(read_graph(MAI), per_participant=2).participants) > len(lifted.participants)
    with pytest.raises(InputError, match="already names its participants"): lift_mai(example_graph())


def test_lift_mai_random_votes_one_card_each_that_they_saw():
    mai = read_graph(MAI)
    lifted = lift_mai(mai, seed=4)
    assert lifted.votes.participant_id.is_unique and set(lifted.votes.participant_id) == set(lifted.participants.participant_id)
    shown = lifted.impressions[lifted.impressions.stage == "relate"]
    seen = set(zip(shown.participant_id, shown.from_card)) | set(zip(shown.participant_id, shown.to_card))
    seen |= set(zip(lifted.edges.participant_id, lifted.edges.from_card)) | set(zip(lifted.edges.participant_id, lifted.edges.to_card))
    assert set(zip(lifted.votes.participant_id, lifted.votes.card_id)) <= seen
    assert lift_mai(mai, seed=4).votes.equals(lifted.votes) and not lift_mai(mai, seed=5).votes.card_id.equals(lifted.votes.card_id)
    assert lift_mai(mai, votes="none").votes.empty
    with pytest.raises(InputError, match="votes 'all'"): lift_mai(mai, votes="all")


def test_spread_and_mimic_blocs():
    sim = simulate(n_participants=300, seed=2, as_graph=False, bloc=Bloc(q=0.2, contexts=3, spread=True))
    v = sim.graph.votes
    mine = v[v.participant_id.isin(sim.bloc_participants)]
    assert len(sim.bloc_cards) == 3 and set(mine.card_id) == set(sim.bloc_cards.values())
    assert mine.groupby("participant_id").card_id.nunique().max() == 1            # spread: each member attacks one context
    per = mine.card_id.value_counts()
    assert per.max() - per.min() <= 1                                                # in turn: a third of the bloc in each
    sim = simulate(n_participants=300, seed=2, as_graph=False, bloc=Bloc(q=0.2, edges=2, mimic=4))
    e = sim.graph.edges
    honest, bloc = e[~e.participant_id.isin(sim.bloc_participants)], e[e.participant_id.isin(sim.bloc_participants)]
    claims = bloc[bloc.to_card.isin(sim.bloc_cards.values()) & (bloc.verdict == "wiser")]
    cover = bloc.drop(claims.index)
    assert 0.9 * 4 * len(sim.bloc_participants) <= len(cover) <= 4 * len(sim.bloc_participants)
    assert cover.context_id.nunique() > 1                                             # honest-looking verdicts anywhere
    tally = honest.groupby(["context_id", "from_card", "to_card"]).verdict.agg(lambda s: (s == "wiser").sum() > (s == "not_wiser").sum())
    said = cover.set_index(["context_id", "from_card", "to_card"]).verdict == "wiser"
    assert (tally.reindex(said.index).to_numpy() == said.to_numpy()).all()          # as most honest judges of the pair said
    imp = sim.graph.impressions
    assert len(imp[(imp.stage == "relate") & imp.participant_id.isin(sim.bloc_participants)]) == len(bloc)   # shown what they judged
