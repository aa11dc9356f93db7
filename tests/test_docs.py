"""The documentation site, read in headless Chromium: built quickly (the aggregation and viz chapters run, the others from
their source), served from a local folder, and every page opened as a reader would."""
import functools, http.server, threading
from pathlib import Path
import pytest
from wisemodel.docs import build_site, site_pages

ROOT = Path(__file__).resolve().parents[1]
RUN = {"02_aggregate.ipynb", "03_viz.ipynb"}
SEARCH_TERM = "bridging"   # a baseline named in the aggregation chapter, written out as a word in its text


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return build_site(tmp_path_factory.mktemp("docs") / "site", ROOT, execute=RUN, workers=2, quiet=True)


@pytest.fixture(scope="module")
def base(site):
    "The site served over HTTP on localhost; every request that does not start with this address leaves the site."
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args): pass
    class Server(http.server.ThreadingHTTPServer):
        def handle_error(self, request, client_address): pass   # the browser dropping a connection it no longer needs
    server = Server(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture(scope="module")
def browser(chromium):
    "The session's headless Chromium (tests/conftest.py): one Playwright per process, shared with the app's browser test."
    return chromium


class Visit:
    "A tab that records what each page it opens logs as errors, requests outside the site, and fails to load."
    def __init__(self, browser, base, path=None):
        self.page, self.base = browser.new_page(), base
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: r.url.startswith(("data:", "blob:", "about:", base)) or self.outside.append(r.url))
        self.page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.status} {r.url}"))
        if path: self.open(path, "networkidle")

    def open(self, path, wait="load"):
        self.errors, self.outside, self.failed = [], [], []
        self.page.goto(self.base + path, wait_until=wait)
        return self


def test_home_page_renders(browser, base):
    v = Visit(browser, base, "index.html")
    assert v.page.locator("h1").first.inner_text().strip() == "wisemodel"
    assert "Democratic Fine-Tuning" in v.page.inner_text("article")
    sidebar = {a.get_attribute("href") for a in v.page.locator(".sidebar-tree a.reference").all()}
    assert {"aggregate.html", "viz.html", "cli.html", "papers/dft/03_aggregate.html", "performance.html"} <= sidebar
    assert len(sidebar) == len(site_pages(ROOT)) - 1, sidebar   # every page but the home page is in the sidebar
    assert not (v.errors or v.outside or v.failed), (v.errors, v.outside, v.failed)


def test_every_page_loads_without_errors_or_outside_requests(browser, base):
    problems, v = {}, Visit(browser, base)
    for page in site_pages(ROOT):
        v.open(f"{page.name}.html")
        if v.errors or v.outside or v.failed or not v.page.locator("article h1").count():
            problems[page.name] = (v.errors, v.outside, v.failed)
    assert not problems, problems


def test_aggregation_chapter_shows_outputs_reference_and_math(browser, base):
    v = Visit(browser, base, "aggregate.html")
    text = v.page.inner_text("article")
    assert v.page.locator("article table").count() >= 2                          # executed examples: pandas tables
    assert v.page.locator("#wise_values").count() == 1 and "def wise_values(" in text   # show_doc reference
    assert "Not run for this page" in text and "flagged slow" in text.replace("`", "")   # the slow cell's note
    assert v.page.locator("mjx-container").count() > 10                          # MathJax typeset the formulas locally
    assert v.page.locator('a.reference.internal[href="graph.html#example_graph"]').count()   # a link to another chapter


def test_search_finds_the_aggregation_chapter(browser, base):
    v = Visit(browser, base, f"search.html?q={SEARCH_TERM}")
    v.page.wait_for_selector("#search-results ul li a", timeout=20_000)
    found = [a.get_attribute("href") for a in v.page.locator("#search-results ul li a").all()]
    assert any(h.split("?")[0].split("#")[0] == "aggregate.html" for h in found), found


def test_graph_page_draws_nodes(browser, base):
    v = Visit(browser, base, "viz.html")
    drawn = []
    for frame in v.page.frames[1:]:
        frame.wait_for_function("typeof network !== 'undefined'", timeout=20_000)
        drawn.append(frame.evaluate("Object.keys(network.getPositions()).length"))
        assert frame.locator("#moral-graph canvas").count() == 1
    assert drawn and all(n > 0 for n in drawn), drawn
    assert not (v.errors or v.outside), (v.errors, v.outside)


def test_unrun_pages_say_so(browser, base):
    stage = Visit(browser, base, "papers/dft/03_aggregate.html").page.inner_text("article")
    assert "papermill" in stage and "Aggregation: the wisest values per context" in stage
    assert "Stage aggregate: ranks the cards" in stage and "top_card_per_context" in stage   # what it does and records
    assert "did not run it" in Visit(browser, base, "synth.html").page.inner_text("article")


def test_every_exported_name_renders_its_reference():
    """Each function and class a chapter exports renders with nbdev's `show_doc`, as `make docs` renders the reference
    (the quick build above runs two chapters only; a class whose signature nbdev cannot evaluate once stopped `make docs`)."""
    import importlib
    from nbdev.showdoc import show_doc
    from wisemodel._modidx import d as index          # the modules nbdev exports from the chapters
    failed, shown = [], 0
    for module_name in sorted(m for m in index["syms"] if ".migrations" not in m):   # Alembic's scripts run under Alembic only
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if not callable(obj): continue
            try: show_doc(obj)._repr_markdown_(); shown += 1
            except Exception as e: failed.append(f"{module.__name__}.{name}: {type(e).__name__}: {e}")
    assert not failed, failed
    assert shown > 100
