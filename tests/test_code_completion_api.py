"""Issue 27: the `syntax` option of /v1/completions, end to end with the real `openai` client (requirements-dev.txt).

The app runs on a free 127.0.0.1 port with waitress; the "code" model is
scripted (what a model would write, by seed), so the choice is checked exactly.
"""

from __future__ import annotations

import threading

import openai
import pytest
import waitress

from aurore.web import create_app
from aurore.web.server import waitress_options
from tests.fake_generator import FakeGenerator, FakeSteps, fake_factory, make_fake_model_dirs

# -- the API's `syntax` option, with the real openai client --------------------------------------

#: What the scripted model writes after "def f(x):", by seed.
SCRIPTS = {5: ["\n", "    return (", "x\n"], 6: ["\n", "    pass\n"],
           7: ["\n", "    y = x + 1\n", "    return y\n", "\ndef later", "():\n", "    pass\n"]}


class ScriptedSteps(FakeSteps):
    """Each row writes its seed's script, piece by piece, and stops before a stop string."""

    def __init__(self, generator, prompts, params):
        super().__init__(generator, prompts, params)
        self.scripts = [SCRIPTS.get(p.seed, ["\n", "    return ((\n"] * 20) for p in params]
        self.texts = [""] * len(prompts)

    def __next__(self):
        if self.closed or all(reason is not None for reason in self.finish_reasons):
            raise StopIteration
        self.generator.wait_a_step()
        pieces = []
        for row, script in enumerate(self.scripts):
            if self.finish_reasons[row] is not None:
                pieces.append("")
                continue
            piece = script[self.new_tokens[row]]
            cut = min((self.texts[row] + piece).find(stop) for stop in self.stops[row]
                      if stop in self.texts[row] + piece) if any(
                stop in self.texts[row] + piece for stop in self.stops[row]) else -1
            if cut >= 0:
                pieces.append((self.texts[row] + piece)[len(self.texts[row]):cut])
                self.finish_reasons[row] = "stop"
                continue
            self.texts[row] += piece
            pieces.append(piece)
            self.new_tokens[row] += 1
            if self.new_tokens[row] >= min(len(script), self.limits[row]):
                self.finish_reasons[row] = "end_of_text" if len(script) <= self.limits[row] else "length"
        self.generator.steps_done += 1
        return pieces


class ScriptedGenerator(FakeGenerator):
    def stream_batch(self, prompts, params):
        with self.lock:
            self.batch_sizes.append(len(prompts))
            self.params_seen.extend(params)
        return ScriptedSteps(self, prompts, params)


@pytest.fixture
def server(tmp_path):
    """The app on a free 127.0.0.1 port, serving the scripted model as "code"; yields (openai client, generator)."""
    generator = ScriptedGenerator()
    make_fake_model_dirs(tmp_path / "models", ("code",))
    # Static batching: the scripted model writes through `stream_batch` (continuous batching steps slots instead).
    app = create_app({"DATA_DIR": str(tmp_path), "TESTING": True, "GENERATION_FACTORY": fake_factory(generator),
                      "GENERATION_BATCHING": "static"})
    running = waitress.create_server(app, host="127.0.0.1", port=0, **waitress_options(4))
    threading.Thread(target=running.run, daemon=True).start()
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{running.effective_port}/v1", api_key="unused", max_retries=0)
    yield client, generator
    running.close()
    app.extensions["aurore_generation"].close()


def test_the_openai_client_streams_a_completion_cut_by_an_editors_stop_sequences(server):
    client, generator = server
    generator.step_delay = 0.1      # tokens 0.1 s apart: a client that reads them as they come gets them apart
    stream = client.completions.create(model="code", prompt="def f(x):", max_tokens=20, seed=7, stream=True,
                                       stop=["\ndef ", "\nclass ", "\nif ", "\n#"])
    chunks = list(stream)
    assert "".join(chunk.choices[0].text for chunk in chunks) == "\n    y = x + 1\n    return y\n"
    assert chunks[-1].choices[0].finish_reason == "stop" and len(chunks) > 2          # piece by piece


def test_the_openai_client_gets_the_parse_guided_choice_and_its_draws(server):
    client, generator = server
    found = client.completions.create(model="code", prompt="def f(x):\n", max_tokens=20, seed=5, temperature=0.8,
                                      extra_body={"syntax": "parse", "best_of": 3})
    assert found.choices[0].text == "    y = x + 1\n    return y\n\n"
    assert found.choices[0].finish_reason == "stop"
    assert found.model_extra["aurore"]["draws"] == 3 and found.model_extra["aurore"]["parses"] is True
    assert [params.seed for params in generator.params_seen] == [5, 6, 7]            # one seed per draw
    assert found.usage.completion_tokens == 3 + 2 + 6
    streamed = list(client.completions.create(model="code", prompt="def f(x):\n", max_tokens=20, seed=5,
                                              stream=True, extra_body={"syntax": "parse", "best_of": 3}))
    assert "".join(chunk.choices[0].text for chunk in streamed) == found.choices[0].text


def test_best_of_bounds_the_draws_and_the_dedent_mode_draws_once(server):
    client, generator = server
    found = client.completions.create(model="code", prompt="def f(x):\n", max_tokens=6, seed=100,
                                      extra_body={"syntax": "parse", "best_of": 2})
    assert found.model_extra["aurore"] == {**found.model_extra["aurore"], "draws": 2, "parses": False}
    generator.params_seen.clear()
    once = client.completions.create(model="code", prompt="def f(x):\n", max_tokens=20, seed=7,
                                     extra_body={"syntax": "dedent"})
    assert once.choices[0].text == "    y = x + 1\n    return y\n\n" and len(generator.params_seen) == 1


@pytest.mark.parametrize("extra, field", [({"syntax": "ast"}, "syntax"), ({"best_of": 2}, "best_of"),
                                          ({"syntax": "parse", "best_of": 9}, "best_of"),
                                          ({"syntax": "parse", "best_of": True}, "best_of")])
def test_a_bad_syntax_option_is_a_clear_422(server, extra, field):
    client, _ = server
    with pytest.raises(openai.UnprocessableEntityError) as raised:
        client.completions.create(model="code", prompt="def f(x):\n", extra_body=extra)
    assert raised.value.body["field"] == field and raised.value.body["allowed"]
