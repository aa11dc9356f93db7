"""The pictures of a moral graph: one self-contained, safe HTML page; figures written whole; `wisemodel graph show`."""
import json, re, subprocess, sys
from html.parser import HTMLParser
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import pytest
from click.testing import CliRunner

import wisemodel.cli_viz  # noqa: F401  (adds `graph show` to the CLI)
from wisemodel.aggregate import find_cycles, wise_values
from wisemodel.cli import cli
from wisemodel.graph import example_graph
from wisemodel.viz import graph_html, picture_data, plot_graph, plot_top_values, save_figure

ROOT = Path(__file__).resolve().parents[1]
XSS = "<img src=x onerror=alert(1)>"


class _Page(HTMLParser):
    "Every start tag with its attributes, and the text of every inline script."
    def __init__(self):
        super().__init__()
        self.tags, self.scripts, self._in_script = [], [], False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script: self.scripts.append("")

    def handle_endtag(self, tag):
        if tag == "script": self._in_script = False

    def handle_data(self, data):
        if self._in_script: self.scripts[-1] += data


def _parse(page: str) -> _Page:
    p = _Page(); p.feed(page); p.close()
    return p


def _data(page: str, name: str) -> list:
    "The JSON array a page assigns to `name` (nodeData or edgeData)."
    m = re.search(rf"\b{name} = (\[.*?\])(?:, edgeData =|;)", page, flags=re.S)
    assert m, f"{name} not found in the page"
    return json.loads(m.group(1))


@pytest.fixture(scope="module")
def graph():
    g = example_graph().copy()
    g.add_card("xss", XSS, f"A description with {XSS} & an ampersand.", [f"POLICIES that say {XSS}", "WORDS like </script><script>alert(2)</script>"],
               ["worried-parent"])
    g.add_vote("p01", "teen-messages", "xss")
    g.add_edge("p02", "worried-parent", "c06", "xss", "wiser", reason=XSS)
    return g


@pytest.fixture(scope="module")
def page(graph, tmp_path_factory):
    out = tmp_path_factory.mktemp("html") / "graph.html"
    graph_html(graph, out, scores=wise_values(graph, "inf"), cycles=find_cycles(graph))
    return out.read_text(encoding="utf-8")


def test_page_is_self_contained(page):
    "No script, stylesheet, image or frame is loaded from anywhere: vis-network is inlined."
    p = _parse(page)
    for tag, attrs in p.tags:
        for key in ("src", "href", "data", "srcset", "action", "poster"):
            assert key not in attrs or not re.match(r"\s*((https?|ftp):)?//", attrs[key]), (tag, attrs)
        if tag == "script": assert "src" not in attrs, attrs   # every script is inline
        if tag == "link": assert attrs.get("rel") != "stylesheet", attrs
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page)
    assert not re.search(r"@import|url\(\s*['\"]?(?:https?:)?//", page)
    assert any("vis.Network" in s for s in p.scripts) and max(map(len, p.scripts)) > 200_000   # the library itself


def test_card_text_never_becomes_markup(page):
    "A card titled with an HTML tag is text everywhere: escaped in the embedded JSON, never parsed as a tag."
    assert XSS not in page and "</script><script>alert(2)" not in page
    p = _parse(page)
    assert not any(tag == "img" for tag, _ in p.tags)
    assert sum(tag == "script" for tag, _ in p.tags) == 2   # vis-network and ours, none injected
    nodes = {n["id"]: n for n in _data(page, "nodeData")}
    assert nodes["xss"]["tip"]["head"] == XSS and nodes["xss"]["label"].startswith("<img")   # the text survives intact
    ours = p.scripts[-1]
    assert "textContent" in ours and "innerHTML" not in ours   # tooltips are built from text nodes


def test_size_width_and_cycles(graph, page):
    "Node size grows with the Γ score, edge width with the wiser likelihood; cycle members and their edges are red."
    nodes = {n["id"]: n for n in _data(page, "nodeData")}
    edges = _data(page, "edgeData")
    scores = wise_values(graph, "inf").groupby("card_id")["score"].max()
    ids = sorted(nodes, key=lambda c: scores.get(c, 0))
    sizes = [nodes[c]["size"] for c in ids]
    assert sizes == sorted(sizes) and sizes[-1] > sizes[0]
    _, table = picture_data(graph, scores=wise_values(graph, "inf"))
    width = {(e["from"], e["to"]): e["width"] for e in edges}
    for row in table.to_dict("records"):
        assert width[(row["from_card"], row["to_card"])] == pytest.approx(1 + 7 * max(row["wiser_likelihood"], 0))
    cycle_cards = {c for cards in find_cycles(graph)["cards"] for c in cards}
    assert {c for c, n in nodes.items() if n["color"]["background"] == "#d62728"} == cycle_cards == {"c02", "c04", "c06", "c07"}
    red = {(e["from"], e["to"]) for e in edges if e["color"] == "#d62728"}
    assert red and all(f in cycle_cards and t in cycle_cards for f, t in red)


def test_one_context(graph, tmp_path):
    "A context (by id or by its text) draws only its cards."
    text = graph.contexts.set_index("context_id").loc["political-advocacy", "text"]
    for ctx in ("political-advocacy", text):
        page = graph_html(graph, tmp_path / "p.html", context=ctx).read_text()
        assert {n["id"] for n in _data(page, "nodeData")} == {"c09", "c10", "c11", "c12"}
        assert text in page


def test_figures_are_deterministic_and_written_whole(graph, tmp_path):
    scores = wise_values(graph, "inf")
    a, b = plot_graph(graph, scores, seed=3), plot_graph(graph, scores, seed=3)
    assert a.collections[0].get_offsets().tolist() == b.collections[0].get_offsets().tolist()
    png = save_figure(a.figure, tmp_path / "fig" / "graph.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    before = png.read_bytes()
    fig = plot_top_values(scores, graph, top=3)
    with pytest.raises(ValueError): save_figure(fig, tmp_path / "fig" / "graph.notaformat")
    assert sorted(p.name for p in (tmp_path / "fig").iterdir()) == ["graph.png"] and png.read_bytes() == before
    save_figure(fig, png)   # replaces it whole
    assert png.read_bytes() != before and sorted(p.name for p in (tmp_path / "fig").iterdir()) == ["graph.png"]


def test_cli_graph_show(tmp_path):
    graph_dir = tmp_path / "g"
    example_graph().save(graph_dir)
    out = tmp_path / "pages" / "g.html"
    res = CliRunner().invoke(cli, ["graph", "show", str(graph_dir), "--html", str(out), "--context", "worried-parent"])
    assert res.exit_code == 0, res.output
    assert res.output.strip() == str(out)
    page = out.read_text()
    assert {n["id"] for n in _data(page, "nodeData")} == {"c06", "c07", "c08"}
    assert sorted(p.name for p in out.parent.iterdir()) == ["g.html"]


def test_cli_graph_show_for_real(tmp_path):
    "Through the console entry point: a page and its path, or one line on stderr and exit status 2."
    main = [sys.executable, "-c", "from wisemodel.cli import main; main()"]
    env = {"PYTHONPATH": str(ROOT), "PATH": str(Path(sys.executable).parent), "HOME": str(tmp_path)}
    example_graph().to_json(tmp_path / "g.json")
    ok = subprocess.run(main + ["graph", "show", str(tmp_path / "g.json"), "--html", str(tmp_path / "g.html")],
                        capture_output=True, text=True, env=env, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == str(tmp_path / "g.html") and (tmp_path / "g.html").stat().st_size > 200_000
    bad = subprocess.run(main + ["graph", "show", str(tmp_path / "g.json"), "--html", str(tmp_path / "x.html"), "--context", "nope"],
                         capture_output=True, text=True, env=env, cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "no context 'nope'" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "x.html").exists()


def test_show_graph_draws_without_warnings(graph):
    "show_graph in a notebook prints no IPython warning about its iframe (#10 item 14)."
    import warnings
    from wisemodel.viz import show_graph
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        html = show_graph(graph)
    assert "<iframe srcdoc=" in html.data


def test_figures_say_what_they_show(graph):
    "Each figure names its ranking (method, h) and its contexts, counts in good English, and cuts no label (#10 item 15)."
    from wisemodel.aggregate import rank
    from wisemodel.graph import edge_stats
    from wisemodel.viz import plot_edge_stats
    stats = edge_stats(graph)
    one = stats[stats.context_id == stats.context_id.iloc[0]]
    assert plot_edge_stats(one, graph)._suptitle.get_text().endswith("1 edge in 1 context") or \
           plot_edge_stats(one, graph)._suptitle.get_text().endswith(f"{len(one)} edges in 1 context")
    fig = plot_edge_stats(stats, graph)
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert not any("…" in t for t in ticks)
    assert sum(f"({c})" in t for t in ticks for c in set(stats.context_id)) == stats.context_id.nunique()   # a heading per context
    g2 = rank(graph, "gamma", h=2).assign(method="gamma", h="2")
    fig = plot_top_values(g2, graph, top=3)
    flat = lambda text: " ".join(text.split())                             # as wrapped in the figure, read as one line
    assert "h = 2" in flat(fig._suptitle.get_text()) and "h = 2" in flat(fig.axes[-1].get_xlabel())
    assert all(f"({c})" in flat(a.get_title(loc="left")).replace("- ", "-") for a, c in zip(fig.axes, dict.fromkeys(g2.context_id.astype(str))))
    assert "PageRank" in plot_top_values(rank(graph, "pagerank"), graph)._suptitle.get_text()
