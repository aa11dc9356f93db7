"""A participant walks through every screen of the app in a real headless Chromium, with the embedded interviewer model,
and the database (SQLite, and a PostgreSQL server the test starts) holds what they did."""
import json, time
import pytest
from sqlalchemy.orm import Session
from test_app import PROMPT, db_url, rows, serving    # db_url: SQLite and a real PostgreSQL server
from wisemodel.app.db import Card, Participant
from wisemodel.app.server import create_app
from wisemodel.app.study import load_study


def seeded_app(db_url, calls):
    "The app with the embedded model as interviewer (few tokens, its own call cache: it really runs), and two earlier participants' cards."
    study = load_study({"study": "browser", "prompts": [PROMPT], "stories": "template", "edges_per_participant": 2, "lint_rounds": 0,
                        "completion_url": "https://app.prolific.com/submissions/complete?cc={code}",
                        "interviewer": {"max_tokens": 16, "structured_retries": 0, "cache_path": str(calls)}})
    app = create_app(study, db_url, admin_token="tok")
    with Session(app.state.study.engine) as s, s.begin():
        for pid, title in (("early-1", "Family Comes First"), ("early-2", "Room To Grow")):
            s.add(Participant(participant_id=pid, study="browser", prompt_id="job", stage="select")); s.flush()
            s.add(Card(card_id=f"card-{pid}", prompt_id="job", context_id="hard-life-decision", author_id=pid, title=title,
                       description=f"{title}, said plainly.", policies=["MOMENTS when a", "FEELINGS of b", "PEOPLE who c"]))
    return app


def test_a_participant_walks_through_every_screen(chromium, tmp_path, db_url):
    app = seeded_app(db_url, tmp_path / "calls.sqlite")
    with serving(app) as url:
        context = chromium.new_context()
        page = context.new_page()
        page.set_default_timeout(240_000)                  # the embedded model writes the card on a busy CPU
        page.goto(f"{url}/?PROLIFIC_PID=BROWSER-1&STUDY_ID=s&SESSION_ID=x")
        page.fill("input[name=demo_age]", "29")
        page.check("input[name=agree]")
        page.click("#start")
        for answer in ("When my brother moved abroad, we sat down with the whole family first.",
                       "Hearing everyone out before deciding.", "Who goes quiet, what people fear losing, the time together."):
            page.fill("#message", answer)
            page.click("#send")
        page.wait_for_selector("#card-title")             # the interviewer's guess (or the retry, if it failed)
        assert "Hearing everyone out" in page.inner_text("#chat")
        page.fill("#card-title", "Hearing Everyone Out")
        page.click("#confirm")
        assert page.locator("input[name=card_id]").count() == 2
        page.locator("input[name=card_id]").first.check()
        page.click("#vote")
        for i in range(2):
            assert f"Story {i + 1} of 2" in page.inner_text(".count")
            page.check("input[value=wiser]" if i == 0 else "input[value=unsure]")
            page.fill("#reason", f"reason {i}")
            page.click("#judge")
        assert "ranked" in page.inner_text("#standing") or "Not enough" in page.inner_text("#standing")   # where their card stands
        for question, answer in (("represented", "agree"), ("fair", "neutral"), ("learned", "agree")):   # then the legitimacy survey
            page.check(f"input[name=q_{question}][value={answer}]")
        page.click("#send-survey")
        code = page.inner_text("#completion-code")
        assert page.get_attribute("#completion-link", "href").endswith(f"cc={code}")
        deadline = time.time() + 60                        # the picture of their context: drawn once the page is there
        while not page.evaluate("document.getElementById('graph').complete") and time.time() < deadline: time.sleep(0.2)
        assert page.evaluate("document.getElementById('graph').naturalWidth") > 100
        cookie = next(c for c in context.cookies() if c["name"] == "wisemodel_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
        context.close()
    [me] = [r for r in rows(app, "participants") if r["panel_id"] == "BROWSER-1"]
    demo = me["demographics"] if isinstance(me["demographics"], dict) else json.loads(me["demographics"])
    assert (me["stage"], me["completion_code"], demo) == ("finish", code, {"age": "29"})
    [card] = [r for r in rows(app, "cards") if r["author_id"] == me["participant_id"]]
    assert card["title"] == "Hearing Everyone Out" and card["source"] == "app: articulate (study browser, interviewer local:SmolLM2-135M-Instruct)"
    assert app.state.study.interviewer.llm.usage["calls"] == 1 and app.state.study.interviewer.llm.usage["cached"] == 0
    assert len([v for v in rows(app, "votes") if v["participant_id"] == me["participant_id"]]) == 1
    judged = [j for j in rows(app, "judgements") if j["participant_id"] == me["participant_id"]]
    assert sorted((j["verdict"], j["reason"]) for j in judged) == [("unsure", "reason 1"), ("wiser", "reason 0")]
    assert sorted((a["question_id"], a["answer"]) for a in rows(app, "survey_answers")) == [("fair", "neutral"), ("learned", "agree"), ("represented", "agree")]
    shown = [i for i in rows(app, "impressions") if i["participant_id"] == me["participant_id"]]
    assert sorted(i["stage"] for i in shown) == ["relate", "relate", "select", "select"]


def test_a_participant_judges_an_evaluation(chromium, tmp_path):
    "An evaluation study in a real browser: sign-up, every item by clicking (a reason each), the closing survey, the completion code."
    from test_app_evaluate import evaluation, write_run
    app = create_app(evaluation(write_run(tmp_path), survey=["fair", {"id": "trust", "text": "I would trust the answers I read."}]),
                     f"sqlite:///{tmp_path}/app.sqlite", admin_token="tok")
    with serving(app) as url:
        context = chromium.new_context()
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{url}/?PROLIFIC_PID=EVAL-1")
        page.fill("input[name=demo_age]", "52")
        page.check("input[name=agree]")
        page.click("#start")
        clicked = []
        while page.locator("#question").count():
            count = page.inner_text("#count")
            if page.locator("#answer-B").count():             # two answers: the wiser (or the tuned) one is B
                assert page.inner_text("#answer-A") and page.inner_text("#answer-B")
                page.check("input[name=response][value=B]")
                clicked.append("B")
            else:                                             # one answer with the values explain named for it
                assert page.locator("article.card").count() >= 1
                page.check("input[name=response][value=partly]")
                clicked.append("partly")
            page.fill("#reason", f"reason for {count}")
            page.click("#judge")
        assert len(clicked) == 4 and page.locator("#completion-code").count() == 0
        page.check("input[name=q_fair][value=agree]")
        page.check("input[name=q_trust][value=neutral]")
        page.click("#send-survey")
        code = page.inner_text("#completion-code")
        assert page.get_attribute("#completion-link", "href").endswith(f"cc={code}")
        context.close()
    [me] = rows(app, "participants")
    demo = me["demographics"] if isinstance(me["demographics"], dict) else json.loads(me["demographics"])
    assert (me["stage"], me["completion_code"], demo, me["prompt_id"]) == ("finish", code, {"age": "52"}, None)
    judged = sorted(rows(app, "eval_judgements"), key=lambda j: j["created"])
    assert [j["response"] for j in judged] == clicked and [j["reason"] for j in judged] == [f"reason for Item {i} of 4" for i in range(1, 5)]
    assert sorted((a["question_id"], a["answer"]) for a in rows(app, "survey_answers")) == [("fair", "agree"), ("trust", "neutral")]
