"""Structured output from the local model: validity rate and tokens/s, with and without grammar-constrained decoding.

Runs the embedded SmolLM2-135M-Instruct (greedy) on a fixed set of values-card requests, once per decoding method:
  prompt      the JSON schema in the prompt only (the baseline: what you get without constrained decoding)
  llguidance  wisemodel's llguidance logits processor (LLMConfig.grammar="llguidance")
  xgrammar    xgrammar's transformers logits processor (LLMConfig.grammar="xgrammar")
  outlines    outlines' JSON-schema logits processor (outlines_core backend)
  lmfe        lm-format-enforcer's prefix_allowed_tokens_fn
Methods are interleaved request by request, so load on a shared CPU falls on all of them alike: compare ratios
within one run. A library that fails to import or to run is recorded with its error, not dropped silently.

    PYTHONPATH=$PWD python benchmarks/llm_structured.py            # writes benchmarks/llm_structured.json
    PYTHONPATH=$PWD python benchmarks/llm_structured.py --n 3 --methods prompt llguidance --out /tmp/x.json
"""
from __future__ import annotations
import argparse, json, statistics, sys, time, traceback
from pathlib import Path

from pydantic import BaseModel, Field

from wisemodel.core import atomic_write_json, environment_info
from wisemodel.llm import DEFAULT_MODEL, LLMConfig, _grammar_processor, _load_local, _schema_prompt, _torch_threads, extract_json


class ValuesCardDraft(BaseModel):
    # A values card as an interviewer would draft it; lengths are bounded so a constrained answer fits the token budget.
    title: str = Field(max_length=40, description="a short name for the value")
    description: str = Field(max_length=120, description="one sentence: what this way of choosing is")
    policies: list[str] = Field(min_length=3, max_length=3, description="what a person living this value pays attention to, each starting with an upper-case plural noun")


SYSTEM = ("You help people put a value into words as a values card: a short title, one sentence that says what the "
          "value is, and attentional policies, the things the person pays attention to when they choose.")
SITUATIONS = [
    "My sister asked me to lie to our parents about where she was last weekend.",
    "I have to decide whether to move my father into a care home or look after him myself.",
    "A colleague keeps taking credit for my work in team meetings.",
    "My teenage son wants to drop out of school to work on his music.",
    "I found out my best friend's partner is cheating on her.",
    "I was offered a better-paid job at a company whose product I find harmful.",
    "A stranger on the train is being harassed and nobody is saying anything.",
    "My neighbour's dog barks all night and I am losing sleep.",
    "I am a doctor and a patient asks me not to tell his family how ill he is.",
    "My startup could grow faster if we collected more data about our users.",
]


def requests(n: int) -> list[list[dict]]:
    return [[{"role": "system", "content": SYSTEM},
             {"role": "user", "content": f"Here is my situation: {s} Write the values card that guides how I choose."}]
            for s in SITUATIONS[:n]]


def _outlines_processor(lm, tokenizer, schema: dict):
    import outlines
    from outlines.backends import get_json_schema_logits_processor
    return get_json_schema_logits_processor("outlines_core", outlines.from_transformers(lm, tokenizer), json.dumps(schema),
                                            whitespace_pattern=r"[ ]?")


def _lmfe_prefix_fn(tokenizer, schema: dict):
    try: import lmformatenforcer.integrations.transformers
    except ImportError:
        # lm-format-enforcer 0.11 imports PreTrainedTokenizerBase from transformers.tokenization_utils, which
        # transformers 5 no longer has there: point that name at tokenization_utils_base and import again.
        import transformers.tokenization_utils_base as tub
        sys.modules["transformers.tokenization_utils"] = tub
        sys.modules.pop("lmformatenforcer.integrations.transformers", None)
    from lmformatenforcer.integrations.transformers import build_transformers_prefix_allowed_tokens_fn, build_token_enforcer_tokenizer_data
    from lmformatenforcer import JsonSchemaParser
    return build_transformers_prefix_allowed_tokens_fn(build_token_enforcer_tokenizer_data(tokenizer), JsonSchemaParser(schema))


def generate(lm, tokenizer, messages, method: str, schema: dict, max_tokens: int) -> tuple[str, int, float]:
    "One greedy generation with `method`'s constraint; returns (text, completion tokens, seconds incl. grammar setup)."
    import torch
    t0 = time.perf_counter()
    inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    gen = dict(max_new_tokens=max_tokens, do_sample=False, temperature=None, top_p=None, top_k=None, pad_token_id=tokenizer.eos_token_id)
    if method in ("llguidance", "xgrammar"): gen["logits_processor"] = [_grammar_processor(method, tokenizer, lm.config.vocab_size, schema)]
    elif method == "outlines": gen["logits_processor"] = [_outlines_processor(lm, tokenizer, schema)]
    elif method == "lmfe": gen["prefix_allowed_tokens_fn"] = _lmfe_prefix_fn(tokenizer, schema)
    with torch.inference_mode(), _torch_threads(1):
        out = lm.generate(**inputs, **gen)
    completion = out[0, inputs["input_ids"].shape[1]:]
    return tokenizer.decode(completion, skip_special_tokens=True), int(len(completion)), time.perf_counter() - t0


def valid(text: str) -> tuple[bool, str | None]:
    try: ValuesCardDraft.model_validate(extract_json(text)); return True, None
    except ValueError as err: return False, f"{type(err).__name__}: {str(err).splitlines()[0][:160]}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10, help="number of requests (at most 10)")
    ap.add_argument("--max-tokens", type=int, default=192)
    ap.add_argument("--methods", nargs="+", default=["prompt", "llguidance", "xgrammar", "outlines", "lmfe"])
    ap.add_argument("--out", default=str(Path(__file__).with_suffix(".json")))
    ap.add_argument("--table", action="store_true", help="only print the markdown table of the results saved in --out")
    args = ap.parse_args(argv)
    if args.table: return print(table(json.loads(Path(args.out).read_text())))

    lm, tokenizer, _ = _load_local(LLMConfig())
    schema = ValuesCardDraft.model_json_schema()
    rows, failed = {m: [] for m in args.methods}, {}
    for i, messages in enumerate(requests(args.n)):
        messages = _schema_prompt(messages, schema)
        for method in args.methods:
            if method in failed: continue
            try: text, tokens, seconds = generate(lm, tokenizer, messages, method, schema, args.max_tokens)
            except Exception as err:
                failed[method] = f"{type(err).__name__}: {err}"
                print(f"{method}: FAILED {failed[method]}\n{traceback.format_exc(limit=3)}", file=sys.stderr); continue
            ok, why = valid(text)
            rows[method].append({"request": i, "valid": ok, "error": why, "tokens": tokens, "seconds": round(seconds, 3), "text": text})
            print(f"[{i}] {method:10s} valid={ok!s:5s} {tokens:4d} tok {seconds:6.1f}s {tokens / seconds:5.1f} tok/s  {text[:70]!r}", flush=True)
        summary = write(args, argv, schema, rows, failed)     # after every round, so an interrupted run still reports
    print(json.dumps({"summary": summary, "failed": failed}, indent=1))


def table(result: dict) -> str:
    "The summary as a markdown table (steady tokens/s leaves out each method's first request, which builds its tokenizer index)."
    lines = ["| method | valid | tokens/s | steady tokens/s | speed vs prompt-only | median s/request |", "|---|---|---|---|---|---|"]
    steady = {}
    for method, rs in result["runs"].items():
        rest = [r for r in rs if r["request"] > 0]
        if rest: steady[method] = sum(r["tokens"] for r in rest) / sum(r["seconds"] for r in rest)
    for method, s in result["summary"].items():
        lines.append(f"| {method} | {s['valid']}/{s['requests']} | {s['tokens_per_s']:.2f} | {steady.get(method, float('nan')):.2f} | "
                     f"{s['speed_vs_prompt']:.2f} | {s['median_s_per_request']:.1f} |")
    lines += [f"| {m} | failed: {e} | | | | |" for m, e in result["failed"].items()]
    return "\n".join(lines)


def write(args, argv, schema, rows, failed) -> dict:
    summary = {}
    for method, rs in rows.items():
        if not rs: continue
        tokens, seconds = sum(r["tokens"] for r in rs), sum(r["seconds"] for r in rs)
        summary[method] = {"requests": len(rs), "valid": sum(r["valid"] for r in rs), "validity": sum(r["valid"] for r in rs) / len(rs),
                           "tokens": tokens, "seconds": round(seconds, 1), "tokens_per_s": round(tokens / seconds, 2),
                           "median_s_per_request": round(statistics.median(r["seconds"] for r in rs), 2)}
    base = summary.get("prompt", {}).get("tokens_per_s")
    for s in summary.values(): s["speed_vs_prompt"] = round(s["tokens_per_s"] / base, 2) if base else None
    result = {"command": "PYTHONPATH=$PWD python benchmarks/llm_structured.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "model": DEFAULT_MODEL, "decoding": "greedy", "max_tokens": args.max_tokens, "threads": 1, "schema": schema,
              "summary": summary, "failed": failed, "runs": rows,
              "environment": environment_info(("wisemodel", "torch", "transformers", "llguidance", "xgrammar", "outlines",
                                               "outlines_core", "lm-format-enforcer"))}
    atomic_write_json(args.out, result)
    return summary


if __name__ == "__main__":
    main()
