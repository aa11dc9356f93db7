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
