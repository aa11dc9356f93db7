"""Shared fixtures: one small synthetic dataset built for real (the embedded model, the example graph), used by the
synth and reward tests alike. Its LLM calls go through the call cache, so the second use costs nothing."""
import pytest

SMALL_PROMPTS = """prompts:
  - {id: t-job, context_id: hard-life-decision, text: "I've been offered a job abroad that pays twice as much, but my family is here. Should I take it?"}
  - {id: t-panic, context_id: frightened-person, text: "It's 3am, my heart is racing and I can't stop thinking something terrible will happen. Please help."}
  - {id: t-diary, context_id: worried-parent, text: "I found my 13-year-old's diary open on her bed and she has been very sad. Should I read it?"}
  - {id: t-speech, context_id: political-advocacy, text: "Write a speech for our tenants' union demanding rent control. I want the landlords to feel ashamed."}
  - {id: t-dog, context_id: others-affected, text: "My old dog needs a surgery I can't really afford. Is it wrong to put him down instead?"}
  - {id: t-fired, context_id: frightened-person, text: "I just got fired and my rent is due in a week. I can't stop shaking. Where do I even start?"}
"""


def small_synth_config(folder, **kw):
    from wisemodel.synth import SynthConfig
    f = folder / "prompts.yaml"; f.write_text(SMALL_PROMPTS)
    return SynthConfig(**{"prompts": [str(f)], "new_prompts_per_context": 1, "samples": 2, "max_tokens": 24,
                          "heldout_contexts": 1, "judge": True, "pushback": True, "seed": 3, **kw})


@pytest.fixture(scope="session")
def small_synth(tmp_path_factory):
    "(folder, config, manifest) of a small real synth build: the graph's prompts, six more, one generated per context."
    from wisemodel.graph import example_graph
    from wisemodel.synth import synthesize
    tmp = tmp_path_factory.mktemp("synth")
    config = small_synth_config(tmp)
    manifest = synthesize(example_graph(), tmp / "s", config, progress=False)
    return tmp / "s", config, manifest


# --- services the app's tests start themselves: a PostgreSQL server, a headless Chromium ------------------------------
import glob, os, shutil, socket, subprocess, time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def apt_install(package: str, present) -> str | None:
    "Install a Debian package when `present()` is false (root only); None when it is there, else why it cannot be."
    if present(): return None
    if os.geteuid() != 0 or not shutil.which("apt-get"): return f"{package} is not installed and this user cannot apt-get install it"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    res = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", package], env=env, capture_output=True, text=True)
    if res.returncode != 0:   # the package lists may be missing on a fresh machine
        subprocess.run(["apt-get", "update"], env=env, capture_output=True)
        res = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", package], env=env, capture_output=True, text=True)
    return None if present() else f"apt-get install {package} failed: {(res.stderr or res.stdout).strip()[-300:]}"


def _pg_bin() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


@pytest.fixture(scope="session")
def postgres_url():
    "A PostgreSQL server of our own (initdb + pg_ctl in a temporary folder, a free loopback port), stopped at the end."
    why = apt_install("postgresql", lambda: _pg_bin() is not None)
    if why: pytest.skip(f"no PostgreSQL server: {why}")
    import pathlib, tempfile
    # a folder of its own under /tmp: pytest's are private to root, and the server runs as the postgres user
    bin_dir, folder, port = _pg_bin(), pathlib.Path(tempfile.mkdtemp(prefix="wisemodel-pg-")), free_port()
    as_user = []
    if os.geteuid() == 0:                      # the server refuses to run as root: run it as the package's postgres user
        shutil.chown(folder, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data = folder / "data"
    subprocess.run(as_user + [f"{bin_dir}/initdb", "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"],
                   check=True, capture_output=True)
    opts = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
    subprocess.run(as_user + [f"{bin_dir}/pg_ctl", "-D", str(data), "-o", opts, "-l", str(folder / "log"), "-w", "start"],
                   check=True, capture_output=True)
    try: yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(as_user + [f"{bin_dir}/pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def fresh_postgres(postgres_url):
    "A new, empty database on the session's PostgreSQL server."
    import psycopg
    name = f"t{time.time_ns()}"
    with psycopg.connect(postgres_url.replace("postgresql://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return postgres_url.rsplit("/", 1)[0] + f"/{name}"


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def chromium():
    "A headless Chromium (Debian's, driven by Playwright)."
    why = apt_install("chromium", lambda: os.path.exists(CHROMIUM))
    if why: pytest.skip(f"no Chromium: {why}")
    try: from playwright.sync_api import sync_playwright
    except ImportError: pytest.skip("Playwright is not installed (a dev requirement: pip install playwright)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"])
        try: yield browser
        finally: browser.close()
