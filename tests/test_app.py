"""The participant app through its HTTP API, on SQLite and on a real PostgreSQL server: a full walk of two participants,
the database's own rules, hostile input, LLM failures, the chat's rate limit, and many participants voting at once."""
import html, json, re, time
from concurrent.futures import ThreadPoolExecutor
import pytest
from fastapi.testclient import TestClient
from conftest import free_port
from wisemodel.articulate import CardDraft
from wisemodel.llm import LLMConfig, LLMError
from wisemodel.app.raters import serve_in_thread
from wisemodel.app.server import create_app
from wisemodel.app.study import load_study

PROMPT = {"id": "job", "text": "I've been offered a job abroad that pays twice as much, but my family is here. Should I take it?",
          "context_id": "hard-life-decision", "context": "When someone is weighing a hard personal decision"}
EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'


class CardWriter:
    "Stands in for the interviewer's LLM: writes one fixed card; `down` calls fail first as an unreachable server does."
    config = LLMConfig(model="stand-in")

    def __init__(self, title="Honest Tradeoffs", down=0, story_seconds=0.0, card_seconds=0.0):
        self.title, self.down, self.calls, self.story_seconds, self.card_seconds = title, down, 0, story_seconds, card_seconds

    def structured(self, messages, schema, **gen):
        self.calls += 1
        if self.down:
            self.down -= 1
            raise LLMError("http://127.0.0.1:9/v1 failed 1 times; last: Connection error.") from ConnectionError("refused")
        if schema.__name__ == "TransitionStory":     # hypothesize_pair asks, for each order of a pair, which card is fuller
            time.sleep(self.story_seconds)
            return schema(more_comprehensive="B", story=f"STORY: I used to see one side; now I see more ({self.calls}).")
        time.sleep(self.card_seconds)
        return CardDraft(title=self.title, description="Choosing by looking openly at what each option costs the people involved.",
                         policies=["COSTS each option puts on the people I love", "FEELINGS I expect to have in five years",
                                   "CHANCES to talk the choice through together"])


def study(**kw):
    return load_study({"study": "t", "prompts": [PROMPT], "stories": "template", "edges_per_participant": 2, **kw})


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite": return f"sqlite:///{tmp_path}/app.sqlite"
    return request.getfixturevalue("fresh_postgres")


def csrf_of(page) -> str: return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
def turn_of(page) -> str: return re.search(r'name="turn" value="(\d+)"', page.text).group(1)
def error_of(page) -> str: return re.search(r'<p class="error" id="error">(.*?)</p>', page.text, re.S).group(1)


def sign_up(client, pid, **demo):
    page = client.get(f"/?PROLIFIC_PID={pid}")
    return client.post("/consent", data={"csrf": csrf_of(page), "agree": "yes", "panel_id": pid, **{f"demo_{k}": v for k, v in demo.items()}})


ANSWERS = ("I moved away for work once and missed my sister's wedding.", "Being honest about what it costs the people I love.",
           "Their faces when we talked, the money, the time it would take.")


def articulate(client, page, answers=ANSWERS):
    for answer in answers:
        page = client.post("/articulate/message", data={"csrf": csrf_of(page), "turn": turn_of(page), "message": answer})
    return page


def confirm(client, page, **fields):
    title = html.unescape(re.search(r'id="card-title" maxlength="60" value="([^"]*)"', page.text).group(1))
    data = {"csrf": csrf_of(page), "title": title, "description": "Weighing costs openly.",
            "policies": "COSTS each option puts on the people I love\nFEELINGS I expect later\nCHANCES to talk it through"}
    return client.post("/articulate/card", data={**data, **fields})


def walk_to_select(client, pid):
    return confirm(client, articulate(client, sign_up(client, pid)))


def answer_survey(client, page, **answers):
    "The legitimacy survey at the finish: every question answered (agree unless given)."
    ids = re.findall(r'name="q_([\w.-]+)" value="agree"', page.text)
    return client.post("/survey", data={"csrf": csrf_of(page), **{f"q_{q}": answers.get(q, "agree") for q in ids}})


def rows(app, table):
    from sqlalchemy import text
    with app.state.study.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(f"SELECT * FROM {table}"))]


def test_two_participants_make_a_graph(db_url, tmp_path):
    "Two people go through every screen; the database holds what they did, its export reads back and ranks."
    from click.testing import CliRunner
    from wisemodel.app.db import schema_differences
    from wisemodel.cli import cli
    import wisemodel.cli_graph, wisemodel.cli_aggregate, wisemodel.cli_serve  # noqa: F401 (registers the commands)
    app = create_app(study(stories="llm"), db_url, llm=CardWriter(), admin_token="tok")
    assert schema_differences(app.state.study.engine) == []
    first, second = TestClient(app), TestClient(app)
    page = walk_to_select(first, "PID-1")
    assert "no other participant" in page.text
    page = first.post("/select", data={"csrf": csrf_of(page)})               # one card in the context: no pairs, done
    assert 'id="survey"' in page.text and "completion-code" not in page.text    # the legitimacy survey, then the code
    page = answer_survey(first, page, fair="disagree")
    code = re.search(r'id="completion-code">([^<]+)<', page.text).group(1)
    page = sign_up(second, "PID-2", age="41", country="NZ")
    page = confirm(second, articulate(second, page), title="Family First")
    card_id = re.search(r'name="card_id" value="([^"]+)"', page.text).group(1)
    page = second.post("/select", data={"csrf": csrf_of(page), "card_id": card_id})
    assert "Did this person become wiser?" in page.text and "Story 1 of 1" in page.text
    iid = re.search(r'name="impression_id" value="(\d+)"', page.text).group(1)
    page = second.post("/relate", data={"csrf": csrf_of(page), "impression_id": iid, "verdict": "wiser", "reason": "it sees more"})
    assert "ranked <strong>" in page.text and second.get("/finish/graph.png").content[:4] == b"\x89PNG"
    assert 'id="merged"' in page.text                   # the helper gives both cards the same policies: one value, PID-1's first
    assert "completion-code" in answer_survey(second, page).text

    people = {r["panel_id"]: r for r in rows(app, "participants")}
    assert set(people) == {"PID-1", "PID-2"} and people["PID-1"]["completion_code"] == code
    assert {r["stage"] for r in people.values()} == {"finish"}
    demo = people["PID-2"]["demographics"]
    assert (json.loads(demo) if isinstance(demo, str) else demo) == {"age": "41", "country": "NZ"}
    assert sorted(r["title"] for r in rows(app, "cards")) == ["Family First", "Honest Tradeoffs"]
    assert [(r["participant_id"], r["card_id"]) for r in rows(app, "votes")] == [(people["PID-2"]["participant_id"], card_id)]
    [judgement] = rows(app, "judgements")
    assert (judgement["verdict"], judgement["reason"], judgement["context_id"]) == ("wiser", "it sees more", "hard-life-decision")
    hypotheses = rows(app, "hypotheses")                # both orders of the pair asked; they disagree, so one story each way
    assert {h["story_source"] for h in hypotheses} == {"llm"} and judgement["story"] in {h["story"] for h in hypotheses}
    assert len(hypotheses) == 2 and judgement["story"].startswith("STORY:")

    admin = TestClient(app)
    admin.post("/admin/login", data={"csrf": csrf_of(admin.get("/admin")), "token": "tok"})
    (tmp_path / "graph.json").write_bytes(admin.get("/admin/graph.json").content)
    runner = CliRunner()
    res = runner.invoke(cli, ["graph", "summary", str(tmp_path / "graph.json"), "--json"])
    summary = json.loads(res.output)
    assert {k: summary[k] for k in ("participants", "cards", "votes", "judgements", "impressions")} == \
        {"participants": 2, "cards": 2, "votes": 1, "judgements": 1, "impressions": 2}, summary
    res = runner.invoke(cli, ["graph", "rank", str(tmp_path / "graph.json"), "--json"])
    assert res.exit_code == 0 and {r["card_id"] for r in json.loads(res.output)} == {card_id}    # the second card counts on it
    exported_cards = {c["card_id"]: c for c in json.loads((tmp_path / "graph.json").read_text())["cards"]}
    assert set(exported_cards) == {r["card_id"] for r in rows(app, "cards")}
    assert {c.get("canonical_id", cid) for cid, c in exported_cards.items()} == {card_id}
    res = runner.invoke(cli, ["serve", "export", "--db", db_url, "--out", str(tmp_path / "graph"), "--json"])
    assert res.exit_code == 0 and json.loads(res.output)["judgements"] == 1, res.output
    meta = json.loads((tmp_path / "graph" / "manifest.json").read_text())["meta"]
    assert meta["source"] == "wisemodel app" and meta["schema_revision"] == "0002" and "PID-1" not in (tmp_path / "graph.json").read_text()
    survey = [json.loads(line) for line in (tmp_path / "graph" / "survey.jsonl").read_text().splitlines()]    # beside the graph
    assert len(survey) == 6 and {(a["question_id"], a["answer"]) for a in survey if a["participant_id"] == people["PID-1"]["participant_id"]} == \
        {("represented", "agree"), ("fair", "disagree"), ("learned", "agree")}
    exported = {p["participant_id"]: p for p in map(json.loads, (tmp_path / "graph" / "participants.jsonl").read_text().splitlines())}
    assert exported[people["PID-2"]["participant_id"]]["demographics"] == {"age": "41", "country": "NZ"}
    assert all(p["finished_at"] and not p["simulated"] for p in exported.values())
    from wisemodel.human import HumanConfig, analyse_export       # the export is what the human stage reads: legitimacy per group
    study_result, = analyse_export(tmp_path / "graph", config=HumanConfig(min_group=1, bootstrap=200))["studies"].values()
    shares = study_result["raters"]["people"]["legitimacy"]
    assert shares["fair"]["all"]["rate"] == 0.5 and shares["represented"]["all"]["rate"] == 1.0, shares["fair"]
    assert shares["fair"]["groups"]["country"]["NZ"]["rate"] == 1.0                          # PID-2 agreed, PID-1 did not
    res = runner.invoke(cli, ["graph", "import", db_url, "--from", "app", "--out", str(tmp_path / "imported"), "--json"])
    assert res.exit_code == 0, res.output                 # the same graph from `graph import --from app` as from serve export
    from wisemodel.graph import TABLES, read_graph
    imported, served = read_graph(tmp_path / "imported"), read_graph(tmp_path / "graph")
    assert all(getattr(imported, t).equals(getattr(served, t)) for t in TABLES) and imported.meta["source"] == "wisemodel app"


def test_import_from_an_app_database_that_is_not_there(tmp_path):
    "A mistyped SQLite path is refused with one line, and no empty database is left behind."
    from click.testing import CliRunner
    from wisemodel.cli import cli
    import wisemodel.cli_graph  # noqa: F401 (registers the command)
    missing = tmp_path / "nope.sqlite"
    res = CliRunner().invoke(cli, ["graph", "import", f"sqlite:///{missing}", "--from", "app", "--out", str(tmp_path / "g")])
    assert res.exit_code == 2 and "file not found" in res.output and not missing.exists() and not (tmp_path / "g").exists()
    res = CliRunner().invoke(cli, ["graph", "import", str(tmp_path / "x.json"), "--study", "s1", "--out", str(tmp_path / "g")])
    assert res.exit_code == 2 and "--from app" in res.output


def test_database_enforces_the_rules(db_url):
    "A second vote, a second judgement, an unknown card or verdict are refused by the database itself, not only by the app."
    from sqlalchemy.exc import IntegrityError
    from sqlalchemy.orm import Session
    from wisemodel.app.db import Card, Hypothesis, Judgement, Vote
    app = create_app(study(), db_url, llm=CardWriter())
    for pid in ("A", "B"): walk_to_select(TestClient(app), pid)
    engine = app.state.study.engine
    (a, ca), (b, cb) = sorted((r["author_id"], r["card_id"]) for r in rows(app, "cards"))

    def refused(*objs):
        with Session(engine) as s:
            try:
                with s.begin(): s.add_all(objs)
            except IntegrityError: return True
        return False

    assert not refused(Vote(participant_id=a, prompt_id="job", card_id=cb))
    assert refused(Vote(participant_id=a, prompt_id="job", card_id=cb))                       # one vote per (prompt, card)
    assert refused(Vote(participant_id=a, prompt_id="job", card_id="card-nope"))               # foreign key
    assert refused(Vote(participant_id="nobody", prompt_id="job", card_id=cb))
    edge = dict(participant_id=a, context_id="hard-life-decision", from_card=ca, to_card=cb)
    assert not refused(Judgement(**edge, verdict="wiser"))
    assert refused(Judgement(**edge, verdict="unsure"))                                         # one per (context, from, to)
    assert refused(Judgement(**{**edge, "participant_id": b}, verdict="much wiser"))            # verdicts are the graph's
    assert refused(Hypothesis(context_id="hard-life-decision", from_card=ca, to_card=ca, story="", story_source="x"))
    assert refused(Card(card_id="c2", prompt_id="job", context_id="hard-life-decision", author_id=a, title="t",
                        description="d", policies=[]))                                          # one card per participant per prompt


def test_hostile_input_is_refused_or_escaped(tmp_path):
    "Markup in every field is shown as text; overlong text, replays, missing tokens and others' ids are refused with a clear message."
    app = create_app(study(demographics=["age"]), f"sqlite:///{tmp_path}/app.sqlite", llm=CardWriter(title=EVIL[:60]), admin_token="tok")
    owner, evil = TestClient(app), TestClient(app)
    assert "Which values are wise to consider?" in walk_to_select(owner, "OWNER").text
    # not signed in, no CSRF token, a bad panel id, a forged session cookie
    assert error_of(TestClient(app).get("/articulate")).startswith("You are not signed in")
    page = evil.get("/?PROLIFIC_PID=" + EVIL)
    assert EVIL not in page.text and "&lt;script&gt;" in page.text
    res = evil.post("/consent", data={"agree": "yes"})
    assert res.status_code == 403 and "did not come from this study" in error_of(res)
    res = evil.post("/consent", data={"csrf": csrf_of(page), "agree": "yes", "panel_id": EVIL[:60]})
    assert res.status_code == 400 and "panel id" in error_of(res)
    forged = TestClient(app)
    forged.cookies.set("wisemodel_session", owner.cookies.get("wisemodel_session")[:-3] + "abc")
    assert forged.get("/select").status_code == 401
    # sign up with markup everywhere
    page = evil.post("/consent", data={"csrf": csrf_of(page), "agree": "yes", "panel_id": "EVIL", "demo_age": EVIL[:64]})
    assert page.status_code == 200 and "/articulate" in str(page.url)
    cookie = page.history[0].headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    res = evil.post("/articulate/message", data={"csrf": csrf_of(page), "turn": turn_of(page), "message": "x" * 2001})
    assert res.status_code == 400 and "too long (2001 characters; at most 2000)" in error_of(res)
    res = evil.post("/articulate/message", data={"csrf": csrf_of(page), "turn": turn_of(page), "message": "bell\x07"})
    assert res.status_code == 400 and "control characters" in error_of(res)
    stale = {"csrf": csrf_of(page), "turn": turn_of(page), "message": EVIL}
    page = evil.post("/articulate/message", data=stale)
    assert EVIL not in page.text and "&lt;script&gt;alert" in page.text
    res = evil.post("/articulate/message", data=stale)                      # the same form again
    assert res.status_code == 409 and "already sent" in error_of(res)
    page = articulate(evil, page, [EVIL, EVIL])
    assert page.status_code == 200 and "<script>" not in page.text           # the guess, with markup in its title, escaped
    res = evil.post("/articulate/card", data={"csrf": csrf_of(page), "title": "t", "description": "d", "policies": "ONE\nTWO"})
    assert res.status_code == 400 and "3 to 7 attention policies" in error_of(res)
    page = confirm(evil, page, title=EVIL[:60], description=EVIL, policies=f"{EVIL}\nPEOPLE {EVIL}\nMOMENTS {EVIL}")
    assert "Which values are wise to consider?" in page.text and "<script>" not in page.text and "&lt;script&gt;" in page.text
    # votes: only for cards shown; a replayed vote form is "already saved"
    [owners_card] = re.findall(r'name="card_id" value="([^"]+)"', page.text)
    [evil_card] = [r["card_id"] for r in rows(app, "cards") if r["card_id"] != owners_card]
    res = evil.post("/select", data={"csrf": csrf_of(page), "card_id": evil_card})          # own card: not shown to them
    assert res.status_code == 403 and "only vote for cards shown to you" in error_of(res)
    res = evil.post("/select", data={"csrf": csrf_of(page), "card_id": "card-' OR 1=1 --"})
    assert res.status_code == 403
    vote = {"csrf": csrf_of(page), "card_id": owners_card}
    page = evil.post("/select", data=vote)
    assert evil.post("/select", data=vote).status_code == 409 and len(rows(app, "votes")) == 1
    # relate: markup in the reason; another participant's impression id; a replay; a verdict that is not one
    owner_page = owner.post("/select", data={"csrf": csrf_of(owner.get("/select")), "card_id": evil_card})
    owner_iid = re.search(r'name="impression_id" value="(\d+)"', owner_page.text).group(1)
    iid = re.search(r'name="impression_id" value="(\d+)"', page.text).group(1)
    assert iid != owner_iid
    res = evil.post("/relate", data={"csrf": csrf_of(page), "impression_id": owner_iid, "verdict": "wiser"})
    assert res.status_code == 403 and "only judge the pairs shown to you" in error_of(res)
    res = evil.post("/relate", data={"csrf": csrf_of(page), "impression_id": iid, "verdict": "much wiser"})
    assert res.status_code == 422 and "verdict" in error_of(res)
    res = evil.post("/relate", data={"csrf": csrf_of(page), "impression_id": iid, "verdict": "not_wiser", "reason": "r" * 1001})
    assert res.status_code == 400
    judge = {"csrf": csrf_of(page), "impression_id": iid, "verdict": "not_wiser", "reason": EVIL}
    page = evil.post("/relate", data=judge)
    assert evil.post("/relate", data=judge).status_code == 409 and len(rows(app, "judgements")) == 1
    assert 'id="survey"' in page.text and "<script>" not in page.text and "&lt;script&gt;" in page.text
    # the survey: only its answers, once
    res = evil.post("/survey", data={"csrf": csrf_of(page), "q_represented": EVIL, "q_fair": "agree", "q_learned": "agree"})
    assert res.status_code == 400 and "answer every question" in error_of(res) and not rows(app, "survey_answers")
    survey = {"csrf": csrf_of(page), "q_represented": "neutral", "q_fair": "agree", "q_learned": "agree", "q_" + EVIL: EVIL}
    page = evil.post("/survey", data=survey)
    assert "completion-code" in page.text and evil.post("/survey", data=survey).status_code == 409
    assert sorted(r["question_id"] for r in rows(app, "survey_answers")) == ["fair", "learned", "represented"]
    # only the study's simulated raters sign up as a persona (they give the admin token)
    pretender = TestClient(app)
    for token in ({}, {"simulation_token": "guess"}):
        res = pretender.post("/consent", data={"csrf": csrf_of(pretender.get("/")), "agree": "yes", "persona": "amara", **token})
        assert res.status_code == 403 and "simulated raters" in error_of(res)
    assert not any(r["simulated"] for r in rows(app, "participants"))
    # the finish picture is an image; the admin view escapes everything and needs its token
    assert evil.get("/finish/graph.png").headers["content-type"] == "image/png"
    assert "Admin token" in evil.get("/admin").text and evil.get("/admin/graph.json").status_code == 403
    res = evil.post("/admin/login", data={"csrf": csrf_of(evil.get("/admin")), "token": "guess"})
    assert res.status_code == 403
    evil.post("/admin/login", data={"csrf": csrf_of(evil.get("/admin")), "token": "tok"})
    admin = evil.get("/admin")
    assert "Live ranking" in admin.text and "<script>" not in admin.text and "&lt;script&gt;" in admin.text
    assert "script-src 'none'" in admin.headers["content-security-policy"]


def test_llm_failure_offers_a_retry_and_loses_nothing(tmp_path):
    "The interviewer's server is down: the message stays saved, the page offers a retry, and the retry shows the card."
    writer = CardWriter(down=1)
    app = create_app(study(), f"sqlite:///{tmp_path}/app.sqlite", llm=writer)
    client = TestClient(app)
    page = articulate(client, sign_up(client, "P"))
    assert 'id="retry"' in page.text and "could not answer just now" in page.text and ANSWERS[-1].split(",")[0] in page.text
    assert 'name="message"' not in page.text                                # nothing to resend: the answer is kept
    state = rows(app, "interviews")[0]["state"]
    assert (json.loads(state) if isinstance(state, str) else state)["stage"] == "guess"
    page = client.post("/articulate/retry", data={"csrf": csrf_of(page)})
    assert 'id="card-title"' in page.text and "Honest Tradeoffs" in page.text and writer.calls == 2


def test_llm_server_down_for_real(tmp_path):
    "The OpenAI-compatible backend pointed at a closed port: the same retry, with the reason."
    config = LLMConfig(backend="openai", model="m", base_url=f"http://127.0.0.1:{free_port()}/v1", max_attempts=1, timeout=5, cache=False)
    app = create_app(study(interviewer=config.model_dump()), f"sqlite:///{tmp_path}/app.sqlite")
    client = TestClient(app)
    page = articulate(client, sign_up(client, "P"))
    assert 'id="retry"' in page.text and "failed 1 times" in page.text


def test_a_slow_llm_shows_a_page_that_reloads(tmp_path):
    "The card and relate's stories take the LLM a while: the participant sees a self-reloading page until they are written."
    writer = CardWriter(story_seconds=1.5)
    app = create_app(study(stories="llm"), f"sqlite:///{tmp_path}/app.sqlite", llm=writer)
    first, second = TestClient(app), TestClient(app)
    first.post("/select", data={"csrf": csrf_of(walk_to_select(first, "A"))})
    writer.card_seconds = 2.5
    page = articulate(second, sign_up(second, "B"))
    assert 'id="writing"' in page.text and '<meta http-equiv="refresh" content="3">' in page.text and 'id="retry"' not in page.text
    for _ in range(10):
        if 'id="card-title"' in (page := second.get("/articulate")).text: break
        time.sleep(0.5)
    calls, writer.card_seconds = writer.calls, 0.0        # "change this": a second guess is written
    page = second.post("/articulate/message", data={"csrf": csrf_of(page), "turn": turn_of(page), "message": "No, it is more about listening."})
    assert 'id="card-title"' in page.text and writer.calls == calls + 1
    page = confirm(second, page)
    card_id = re.search(r'name="card_id" value="([^"]+)"', page.text).group(1)
    page = second.post("/select", data={"csrf": csrf_of(page), "card_id": card_id})
    assert 'id="preparing"' in page.text and '<meta http-equiv="refresh" content="3">' in page.text
    for _ in range(20):
        if "Did this person become wiser?" in (page := second.get("/relate")).text: break
    assert "Did this person become wiser?" in page.text and "STORY:" in page.text


def test_an_interviewer_that_cannot_be_made_fails_at_start(tmp_path):
    from wisemodel.core import InputError
    bad = study(interviewer={"backend": "openai", "model": "m", "api_key_env": "WISEMODEL_NO_SUCH_KEY"})
    with pytest.raises(InputError, match="WISEMODEL_NO_SUCH_KEY"): create_app(bad, f"sqlite:///{tmp_path}/app.sqlite")


def test_chat_is_rate_limited(tmp_path):
    app = create_app(study(chat_messages_per_minute=2), f"sqlite:///{tmp_path}/app.sqlite", llm=CardWriter())
    client = TestClient(app)
    page = articulate(client, sign_up(client, "P"), ANSWERS[:2])
    res = client.post("/articulate/message", data={"csrf": csrf_of(page), "turn": turn_of(page), "message": ANSWERS[2]})
    assert res.status_code == 429 and "wait" in error_of(res)
    state = rows(app, "interviews")[0]["state"]
    state = json.loads(state) if isinstance(state, str) else state
    assert [t["text"] for t in state["transcript"] if t["role"] == "participant"] == list(ANSWERS[:2])   # the refused one is not kept


def serving(app):
    "The app on a free loopback port, in a thread of this process, for real concurrent HTTP clients."
    return serve_in_thread(app)


def test_many_participants_vote_at_once(db_url):
    "12 participants, each sending their vote form twice at the same moment, over loopback: every vote once, none lost."
    import httpx
    n = 12
    app = create_app(study(select_cards=5), db_url, llm=CardWriter())
    with serving(app) as url:
        clients = [httpx.Client(base_url=url, follow_redirects=True, timeout=60) for _ in range(n)]
        for i, c in enumerate(clients): walk_to_select(c, f"P{i}")
        forms = []
        for c in clients:                       # each sees up to 5 others' cards (the first ones, fewer: shown on arrival)
            page = c.get("/select")
            forms.append({"csrf": csrf_of(page), "card_id": re.findall(r'name="card_id" value="([^"]+)"', page.text)})
        for c in clients: c.follow_redirects = False
        t0 = time.time()
        with ThreadPoolExecutor(2 * n) as pool:
            codes = list(pool.map(lambda i: clients[i % n].post("/select", data=forms[i % n]).status_code, range(2 * n)))
        took = time.time() - t0
        for c in clients: c.close()
    assert sorted(codes) == [303] * n + [409] * n, codes                  # one of each pair saved, the other refused
    votes = rows(app, "votes")
    expected = sum(len(f["card_id"]) for f in forms)
    assert len(votes) == expected == len({(v["participant_id"], v["card_id"]) for v in votes}) >= 4 * n
    assert took < 30, took


def test_a_crash_loses_nothing_acknowledged(tmp_path):
    "`wisemodel serve` killed (SIGKILL) right after acknowledging a message: the message is saved, and a restarted app knows the participant."
    import os, signal, subprocess, sys
    from pathlib import Path
    import httpx
    import yaml
    study_file = tmp_path / "study.yaml"
    study_file.write_text(yaml.safe_dump({"study": "crash", "prompts": [PROMPT], "database_url": f"sqlite:///{tmp_path}/app.sqlite"}))
    port = free_port()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "wisemodel"), "serve", "--study", str(study_file), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", follow_redirects=True)
        deadline = time.time() + 60
        while True:
            try: page = sign_up(client, "CRASH-1"); break
            except httpx.TransportError:
                assert proc.poll() is None and time.time() < deadline, "wisemodel serve did not start: " + (proc.stderr.read() if proc.poll() else "")
                time.sleep(0.2)
        res = client.post("/articulate/message", data={"csrf": csrf_of(page), "turn": turn_of(page), "message": ANSWERS[0]},
                          follow_redirects=False)
        assert res.status_code == 303                      # acknowledged ...
    finally:
        os.kill(proc.pid, signal.SIGKILL); proc.wait(10)   # ... and the server dies at once
    restarted = TestClient(create_app(study_file))         # the same database, the session key read back from it
    restarted.cookies.set("wisemodel_session", client.cookies["wisemodel_session"])
    page = restarted.get("/articulate")
    assert ANSWERS[0] in html.unescape(page.text) and "what mattered most to you" in page.text, page.text[-2000:]


def test_database_url_from_the_environment(monkeypatch):
    from wisemodel.app.db import DEFAULT_DATABASE_URL, database_url, shown_url
    from wisemodel.core import InputError
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert database_url() == DEFAULT_DATABASE_URL
    monkeypatch.setenv("DATABASE_URL", "postgres://study:s3cret@db.example:5432/pilot")
    assert database_url() == "postgresql+psycopg://study:s3cret@db.example:5432/pilot"     # the psycopg 3 driver
    assert database_url("sqlite:///other.sqlite") == "sqlite:///other.sqlite"             # an explicit URL wins
    assert "s3cret" not in shown_url(database_url())
    with pytest.raises(InputError, match="'mysql' is not supported"): database_url("mysql://u@h/d")


def test_sign_ups_and_admin_logins_are_rate_limited(tmp_path):
    "Per client address: the sign-up past the limit and the admin sign-in past the limit are refused with the wait; the right token then too."
    app = create_app(study(signups_per_minute=2, admin_logins_per_minute=2), f"sqlite:///{tmp_path}/app.sqlite", llm=CardWriter(),
                     admin_token="right-token")
    answers = [sign_up(TestClient(app), f"P{i}") for i in range(3)]          # one browser each, one address
    assert [r.status_code for r in answers] == [200, 200, 429] and "wait" in error_of(answers[2])
    assert len(rows(app, "participants")) == 2                                 # the refused one left nothing
    admin = TestClient(app)
    login = lambda token: admin.post("/admin/login", data={"csrf": csrf_of(admin.get("/admin")), "token": token})
    assert [login("wrong").status_code, login("wrong").status_code] == [403, 403]
    third = login("right-token")
    assert third.status_code == 429 and "wait" in error_of(third) and "Participants" not in admin.get("/admin").text
