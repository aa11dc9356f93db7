"""wisemodel.llm against real models: the embedded SmolLM2 in process, and the same checkpoint behind a real
OpenAI-compatible server (`transformers serve`) spoken to with the real `openai` client."""
import http.server, json, os, shutil, socket, subprocess, sys, threading, time, urllib.request
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from wisemodel.core import InputError
from wisemodel.llm import LLMConfig, LLMError, LLMRoles, bf16_supported, get_llm, default_llm, local_dtype, smollm2_checkpoint

BIN = Path(sys.executable).parent


class Answer(BaseModel):
    answer: str


class CardDraft(BaseModel):
    title: str = Field(max_length=30)
    policies: list[str] = Field(min_length=2, max_length=2)


def test_chat_is_cached_and_counted(tmp_path):
    "A second identical call is served from the cache; another temperature is a miss; usage is totalled."
    llm = get_llm(LLMConfig(cache_path=str(tmp_path / "calls.sqlite"), max_tokens=8))
    msgs = [{"role": "user", "content": "Name one thing a good friend does."}]
    first = llm.chat(msgs)
    assert isinstance(first, str) and first.strip()
    assert llm.chat(msgs) == first
    assert (llm.cache.hits, llm.cache.misses) == (1, 1)
    llm.chat(msgs, temperature=0.9, seed=1)
    assert (llm.cache.hits, llm.cache.misses) == (1, 2)
    u = llm.usage
    assert (u["calls"], u["cached"]) == (3, 1) and 0 < u["completion_tokens"] <= 24 and u["prompt_tokens"] > 0
    # a new object on the same cache file replays the answer without running the model
    again = get_llm(LLMConfig(cache_path=str(tmp_path / "calls.sqlite"), max_tokens=8))
    assert again.chat(msgs) == first and again.usage["cached"] == 1
    # cache=False bypasses it; greedy decoding gives the same answer
    assert get_llm(LLMConfig(cache=False, max_tokens=8)).chat(msgs) == first


def test_dtype_is_resolved_here_and_keys_the_cache(tmp_path):
    "float32 by default; auto is bfloat16 exactly where this CPU computes it natively; each dtype has its own weights and cache entries."
    import torch
    from wisemodel.llm import _load_local
    assert local_dtype(LLMConfig()) == "float32"
    assert local_dtype(LLMConfig(dtype="auto")) == ("bfloat16" if bf16_supported() else "float32")
    msgs = [{"role": "user", "content": "Name one thing a good friend does."}]
    path = str(tmp_path / "calls.sqlite")
    answers = {}
    for dtype in ("float32", "bfloat16"):
        config = LLMConfig(cache_path=path, max_tokens=8, dtype=dtype)
        assert local_dtype(config) == dtype and _load_local(config)[0].dtype == getattr(torch, dtype)
        llm = get_llm(config)
        before = (llm.cache.hits, llm.cache.misses)
        answers[dtype] = llm.chat(msgs)
        assert (llm.cache.hits, llm.cache.misses) == (before[0], before[1] + 1), f"{dtype} was answered from another dtype's cache entry"
        assert answers[dtype].strip()
    with pytest.raises(Exception, match="dtype"): LLMConfig(dtype="float16")


def test_structured_local_is_valid_by_construction(tmp_path):
    "Grammar-constrained decoding returns a valid model instance (pydantic schema) and a dict (JSON schema)."
    llm = get_llm(LLMConfig(cache_path=str(tmp_path / "calls.sqlite"), max_tokens=64, structured_retries=0))
    card = llm.structured("Write a values card for someone who cares about honesty with friends.", CardDraft)
    assert isinstance(card, CardDraft) and len(card.policies) == 2 and len(card.title) <= 30
    schema = {"type": "object", "properties": {"wiser": {"enum": ["yes", "no", "unsure"]}}, "required": ["wiser"]}
    verdict = llm.structured("Someone who used to follow rules now attends to the person in front of them. Did they become wiser?", schema)
    assert isinstance(verdict, dict) and verdict["wiser"] in ("yes", "no", "unsure")
    assert llm.calls[-1]["completion_tokens"] < 20


def test_roles_and_bad_input(tmp_path):
    p = tmp_path / "llm.yaml"
    p.write_text("default: {max_tokens: 32}\njudge: {backend: openai, model: m, base_url: 'http://127.0.0.1:9/v1'}\n")
    roles = LLMRoles.load(p)
    assert type(get_llm("judge", roles)).__name__ == "OpenAILLM" and roles.interviewer.max_tokens == 32
    assert default_llm() is default_llm() and default_llm().config == LLMConfig()
    with pytest.raises(InputError, match="unknown generation parameter 'temprature'"):
        default_llm().chat("hi", temprature=0)
    with pytest.raises(InputError, match="messages"):
        default_llm().chat([])
    with pytest.raises(InputError, match="NO_SUCH_KEY"):
        get_llm({"backend": "openai", "model": "m", "api_key_env": "NO_SUCH_KEY"})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]


class _RateLimited(http.server.BaseHTTPRequestHandler):
    "A stand-in server that answers 429 twice, then 503 once, then a valid chat completion (tests the backoff only)."
    failures = [429, 429, 503]
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        code = self.failures.pop(0) if self.failures else 200
        body = json.dumps({"error": {"message": "slow down"}} if code != 200 else {
            "id": "x", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}).encode()
        self.send_response(code); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass


def test_openai_backoff_on_429_and_5xx():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RateLimited)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        llm = get_llm(LLMConfig(backend="openai", model="m", base_url=url, cache=False, backoff=0.05, max_attempts=4))
        assert llm.chat("hi") == "ok" and llm.usage["completion_tokens"] == 1
        _RateLimited.failures = [500] * 5
        llm = get_llm(LLMConfig(backend="openai", model="m", base_url=url, cache=False, backoff=0.01, max_attempts=2))
        with pytest.raises(LLMError, match="failed 2 times"):
            llm.chat("hi")
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def served_smollm2():
    "`transformers serve` with the converted SmolLM2 checkpoint on a free local port; stopped after the tests."
    ckpt, port = smollm2_checkpoint(), _free_port()
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"wisemodel-serve-{port}.log", "w")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([str(BIN / "transformers"), "serve", str(ckpt), "--host", "127.0.0.1", "--port", str(port),
                             "--device", "cpu"], stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    if r.status == 200: break
            except OSError: pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(f"transformers serve did not become ready: {Path(log.name).read_text()[-2000:]}")
            time.sleep(1)
        yield {"base_url": f"http://127.0.0.1:{port}/v1", "model": str(ckpt)}
    finally:
        proc.terminate()
        try: proc.wait(timeout=20)
        except subprocess.TimeoutExpired: proc.kill(); proc.wait()
        log.close()


def test_openai_backend_against_transformers_serve(served_smollm2, tmp_path):
    "Chat, structured output and concurrent `map` through the real openai client against a real local server."
    cfg = LLMConfig(backend="openai", cache_path=str(tmp_path / "calls.sqlite"), max_tokens=24, **served_smollm2)
    llm = get_llm(cfg)
    reply = llm.chat([{"role": "user", "content": "What is a good friend? One sentence."}])
    assert isinstance(reply, str) and reply.strip()
    assert llm.calls[-1]["prompt_tokens"] > 0 and 0 < llm.calls[-1]["completion_tokens"] <= 24
    # transformers serve ignores response_format: the schema travels in the prompt, the answer is validated
    ans = llm.structured("What is the capital of France?", Answer)
    assert isinstance(ans, Answer) and "Paris" in ans.answer
    replies = llm.map([[{"role": "user", "content": f"Say the number {i}."}] for i in range(3)], max_workers=3)
    assert len(replies) == 3 and all(isinstance(r, str) for r in replies)
    # the run replays from the cache: same answers, no requests
    again = get_llm(cfg)
    assert again.chat([{"role": "user", "content": "What is a good friend? One sentence."}]) == reply
    assert again.usage["cached"] == 1
