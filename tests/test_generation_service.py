"""The shared-model service: bounded queue, batching worker, cancellation (with a fake generator)."""

from __future__ import annotations

import threading
import time

import pytest

from aurore.web.writers.generation_service import CANCELLED, GenerationFailed, GenerationService, QueueFull
from aurore.web.writers.model_pool import ModelPool, NoModel, UnknownModel
from tests.fake_generator import FakeGenerator, fake_params, make_fake_model_dirs, wait_until


def params(n=5, **fields):
    return fake_params(max_new_tokens=n, **fields)


@pytest.fixture
def make_service():
    services = []

    def make(generator, **options):
        service = GenerationService(generator, **options)
        services.append(service)
        return service

    yield make
    for service in services:
        service.close()


def test_a_job_streams_its_pieces_then_reports_how_it_ended(make_service):
    service = make_service(FakeGenerator())
    job = service.submit("Il était", params(4))
    assert "".join(job) == "Il était une fois "
    assert job.outcome.text == "Il était une fois "
    assert job.outcome.finish_reason == "length"
    assert job.outcome.new_tokens == 4
    assert job.outcome.prompt_tokens == 2
    assert service.load()["admitted"] == 0


def test_pieces_written_while_the_client_was_away_go_out_as_one(make_service):
    ticks = threading.Semaphore(0)
    service = make_service(FakeGenerator(ticks=ticks))
    job = service.submit("a", params(6))
    pieces = job.pieces()
    release(ticks)
    assert next(pieces) == "Il "                       # one token waiting: one piece
    release(ticks, 3)
    assert wait_until(lambda: job._events.qsize() == 3)  # three tokens written meanwhile
    assert next(pieces) == "était une fois "
    release(ticks, 2)
    assert "".join(pieces) == "🌙 עברית "
    assert job.outcome.text == "Il était une fois 🌙 עברית "


# --- continuous batching (the default): rows join and leave between steps ---------------------

def read_until(pieces, text):
    """The pieces read until they hold as many characters as `text` (pieces that came together are one)."""
    read = ""
    while len(read) < len(text):
        read += next(pieces)
    return read


def release(ticks, count=1):
    for _ in range(count):
        ticks.release()


def submit_together(service, *requests):
    """Admit requests at one instant: the worker cannot take the first before the others are there."""
    with service._lock:
        return [service.submit(prompt, request) for prompt, request in requests]


def test_a_newcomer_joins_the_running_batch_at_the_next_step(make_service):
    ticks = threading.Semaphore(0)
    generator = FakeGenerator(ticks=ticks)
    service = make_service(generator, max_batch=4)
    long = service.submit("a", params(50))
    pieces = long.pieces()
    release(ticks, 3)                                   # its prefill, then two steps
    assert read_until(pieces, "Il était une ") == "Il était une "
    assert generator.steps == [[0], [0]]
    short = service.submit("b", params(3))              # arrives while the first one runs
    release(ticks, 4)                                   # the step under way, its prefill, two steps of both
    assert short.result().text == "Il était une "
    assert generator.added == ["a", "b"]
    assert generator.steps == [[0], [0], [0], [0, 1], [0, 1]]
    assert long.outcome is None                         # no waiting for the batch to end: it runs on
    long.cancel()
    release(ticks, 5)


def test_a_row_leaves_the_step_it_finishes(make_service):
    ticks = threading.Semaphore(0)
    generator = FakeGenerator(ticks=ticks)
    service = make_service(generator, max_batch=4)
    long, short = submit_together(service, ("a", params(6)), ("b", params(2)))
    release(ticks, 2 + 1)                               # two prefills, one step: the short row's 2nd token
    assert short.result().new_tokens == 2
    assert long.outcome is None
    release(ticks, 4)
    assert long.result().new_tokens == 6
    assert generator.steps == [[0, 1], [0], [0], [0], [0]]


def test_a_waiting_request_takes_the_slot_freed_by_a_client_who_left(make_service):
    ticks = threading.Semaphore(0)
    generator = FakeGenerator(ticks=ticks)
    service = make_service(generator, max_batch=1, max_queue=4)
    leaving = service.submit("a", params(1000))
    pieces = leaving.pieces()
    release(ticks, 2)
    assert read_until(pieces, "Il était ") == "Il était "
    waiting = service.submit("b", params(2))
    leaving.cancel()
    release(ticks, 10)
    assert waiting.result().text == "Il était "
    assert generator.removed == [0] and generator.added == ["a", "b"]
    assert leaving.outcome.finish_reason == CANCELLED
    assert service.load()["admitted"] == 0 and service.load()["running"] == 0


def test_requests_get_slots_first_come_first_served_and_never_more_than_max_batch(make_service):
    generator = FakeGenerator()
    service = make_service(generator, max_batch=3)
    jobs = [service.submit(f"p{i}", params(2 + i)) for i in range(7)]
    assert [job.result().new_tokens for job in jobs] == [2 + i for i in range(7)]
    assert generator.added == [f"p{i}" for i in range(7)]
    assert generator.steps and max(len(step) for step in generator.steps) <= 3


def test_a_request_the_model_refuses_fails_alone(make_service):
    generator = FakeGenerator()
    generator.fail_prompt = "bad"
    service = make_service(generator)
    bad, good = service.submit("bad", params(3)), service.submit("good", params(3))
    with pytest.raises(GenerationFailed, match="refuses"):
        bad.result()
    assert good.result().text == "Il était une "


def test_warm_up_compiles_in_the_worker(make_service):
    generator = FakeGenerator()
    service = make_service(generator)
    assert service.warm_up(timeout=10)
    assert generator.warmed_up == 1
    assert make_service(FakeGenerator(), batching="static").warm_up() is False   # the generator's own warm-up


def test_the_service_says_how_it_serves(make_service):
    generator = FakeGenerator()
    continuous = make_service(generator).load()
    assert (continuous["scheduler"], continuous["sampler"]) == ("continuous", "compiled")
    assert make_service(FakeGenerator(), sampler="exercise").load()["sampler"] == "exercise"
    static = make_service(FakeGenerator(), batching="static").load()
    assert (static["scheduler"], static["sampler"]) == ("static", "exercise")
    assert make_service(FakeGenerator(), batching=False).load()["scheduler"] == "one at a time"


# --- static batching (the former scheduler, the benchmark's comparison) -------------------------

def test_static_requests_arriving_together_are_generated_in_one_batch(make_service):
    generator = FakeGenerator()
    service = make_service(generator, batching="static", batch_window=1.0, max_batch=8)
    jobs = [service.submit(f"prompt {i}", params(3)) for i in range(5)]
    texts = [job.result().text for job in jobs]
    assert texts == ["Il était une "] * 5
    assert generator.batch_sizes == [5]


def test_static_batches_are_capped_at_max_batch(make_service):
    generator = FakeGenerator()
    service = make_service(generator, batching="static", batch_window=0.3, max_batch=3)
    jobs = [service.submit("p", params(2)) for i in range(7)]
    for job in jobs:
        job.result()
    assert sum(generator.batch_sizes) == 7
    assert max(generator.batch_sizes) == 3


def test_static_clients_coming_back_a_little_apart_are_waited_for(make_service):
    generator = FakeGenerator()
    service = make_service(generator, batching="static", batch_window=0.01, batch_wait=2.0)
    for job in [service.submit("p", params(1)) for _ in range(4)]:   # 4 clients served together…
        job.result()
    first_size = generator.batch_sizes[-1]
    jobs = [service.submit("p", params(1))]                        # …come back a little apart
    for _ in range(first_size - 1):
        time.sleep(0.03)
        jobs.append(service.submit("p", params(1)))
    for job in jobs:
        job.result()
    assert generator.batch_sizes[-1] == first_size


def test_static_a_lone_client_is_not_kept_waiting_for_others(make_service):
    generator = FakeGenerator()
    service = make_service(generator, batching="static", batch_window=0.01, batch_wait=60)
    service.submit("p", params(1)).result()
    answered = threading.Event()
    threading.Thread(target=lambda: service.submit("p", params(1)).result() and answered.set(), daemon=True).start()
    assert answered.wait(timeout=20)        # well before the 60 s it would wait for a second client
    assert generator.batch_sizes == [1, 1]


def test_without_batching_requests_are_served_one_at_a_time(make_service):
    generator = FakeGenerator()
    service = make_service(generator, batching=False, batch_window=0.3)
    jobs = [service.submit("p", params(2)) for i in range(4)]
    assert [job.result().text for job in jobs] == ["Il était "] * 4
    assert generator.batch_sizes == [1, 1, 1, 1]


def test_a_full_queue_refuses_with_a_retry_delay(make_service):
    gate = threading.Event()
    service = make_service(FakeGenerator(gate=gate), max_queue=2)
    first, second = service.submit("a", params(2)), service.submit("b", params(2))
    with pytest.raises(QueueFull) as refused:
        service.submit("c", params(2))
    assert refused.value.retry_after >= 1
    assert refused.value.capacity == 2
    gate.set()
    first.result(), second.result()
    assert service.submit("c", params(2)).result().text == "Il était "


def test_cancelling_frees_the_place_at_once(make_service):
    gate = threading.Event()
    service = make_service(FakeGenerator(gate=gate), max_queue=1)
    job = service.submit("a", params(50))
    with pytest.raises(QueueFull):
        service.submit("b", params(2))
    job.cancel()
    replacement = service.submit("b", params(2))     # no wait: the place is free already
    gate.set()
    assert replacement.result().text == "Il était "
    assert job.cancelled


def test_a_static_batch_whose_clients_all_left_stops_generating(make_service):
    generator = FakeGenerator(step_delay=0.01)
    service = make_service(generator, batching="static")
    job = service.submit("a", params(10_000))
    pieces = job.pieces()
    assert next(pieces)                    # it runs
    job.cancel()
    assert wait_until(lambda: generator.closed_batches == 1)
    steps = generator.steps_done
    assert steps < 1000
    assert service.submit("b", params(2)).result().text == "Il était "   # the worker serves on…
    assert generator.steps_done == steps + 2                              # …and the cancelled batch ran no more


def test_a_row_whose_client_left_runs_no_more_steps(make_service):
    generator = FakeGenerator(step_delay=0.005)
    service = make_service(generator)
    job = service.submit("a", params(10_000))
    pieces = job.pieces()
    assert next(pieces)
    job.cancel()
    assert wait_until(lambda: generator.removed == [0])
    before = len(generator.steps)
    assert service.submit("b", params(3)).result().text == "Il était une "
    assert generator.steps[before:] == [[0], [0]]        # the newcomer alone in the freed slot


@pytest.mark.parametrize("batching", [True, "static"])
def test_one_client_leaving_does_not_stop_the_others_in_its_batch(make_service, batching):
    gate = threading.Event()
    generator = FakeGenerator(gate=gate)
    service = make_service(generator, batching=batching, batch_window=0.3)
    leaving, staying = service.submit("a", params(20)), service.submit("b", params(6))
    leaving.cancel()
    gate.set()
    assert staying.result().new_tokens == 6
    assert leaving.outcome is None or leaving.outcome.finish_reason == CANCELLED


def test_a_static_row_that_ends_early_is_answered_before_the_batch_ends(make_service):
    ticks = threading.Semaphore(0)
    generator = FakeGenerator(ticks=ticks)
    service = make_service(generator, batching="static", batch_window=0.3)
    short, long = service.submit("a", params(2)), service.submit("b", params(100))
    release(ticks, 2)
    assert short.result().new_tokens == 2
    assert long.outcome is None            # still running when the short one is answered
    assert generator.batch_sizes == [2]
    long.cancel()
    release(ticks, 5)


def test_stop_strings_end_a_row_with_reason_stop(make_service):
    service = make_service(FakeGenerator())
    outcome = service.submit("a", params(10, stop=("fois",))).result()
    assert outcome.text == "Il était une "
    assert outcome.finish_reason == "stop"


@pytest.mark.parametrize("batching", [True, "static", False])
def test_a_failing_generator_fails_its_jobs_and_the_service_goes_on(make_service, batching):
    generator = FakeGenerator(fail=True)
    service = make_service(generator, batching=batching)
    job = service.submit("a", params(3))
    with pytest.raises(GenerationFailed, match="broke"):
        job.result()
    generator.fail = False
    assert service.submit("b", params(1)).result().text == "Il "
    assert service.load()["admitted"] == 0


def test_a_waiting_job_sends_heartbeats(make_service):
    gate = threading.Event()
    service = make_service(FakeGenerator(gate=gate))
    job = service.submit("a", params(1))
    pieces = job.pieces(heartbeat=0.02)
    assert next(pieces) is None            # nothing yet: a heartbeat, so a server can write something
    gate.set()
    assert [p for p in pieces if p is not None] == ["Il "]


def test_unicode_pieces_pass_through_unchanged(make_service):
    service = make_service(FakeGenerator(words=["\x00", "🌙", "\u202eשלום", "\u0007"]))
    assert service.submit("\x00 🌙", params(4)).result().text == "\x00🌙\u202eשלום\u0007"


# --- the pool of models -------------------------------------------------------------------

def test_the_pool_loads_a_model_once_even_under_concurrent_requests(tmp_path):
    make_fake_model_dirs(tmp_path, ["cpu", "other"])
    loads = []

    def factory(model_dir):
        loads.append(model_dir.name)
        time.sleep(0.05)
        return FakeGenerator()

    pool = ModelPool(tmp_path, factory=factory)
    try:
        services = []
        threads = [threading.Thread(target=lambda: services.append(pool.get())) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert loads == ["cpu"]
        assert len({id(s) for s in services}) == 1
        assert pool.names()[0] == "cpu"
        assert pool.get("other").name == "other"
        assert loads == ["cpu", "other"]
    finally:
        pool.close()


def test_the_pool_says_when_there_is_no_model_or_an_unknown_one(tmp_path):
    pool = ModelPool(tmp_path / "models", factory=lambda d: FakeGenerator())
    with pytest.raises(NoModel):
        pool.get()
    make_fake_model_dirs(tmp_path / "models", ["small"])
    with pytest.raises(UnknownModel) as unknown:
        pool.get("../etc")
    assert unknown.value.available == ["small"]
    assert pool.get().name == "small"      # no "cpu": the newest model is the default
    pool.close()


def test_the_pool_loads_a_model_again_when_training_rewrote_its_weights(tmp_path):
    import os

    from aurore.store import modeldir

    make_fake_model_dirs(tmp_path, ["cpu-mine"])
    loads = []
    pool = ModelPool(tmp_path, factory=lambda model_dir: loads.append(model_dir.name) or FakeGenerator())
    try:
        first = pool.get("cpu-mine")
        job = first.submit("La nuit", fake_params(max_new_tokens=3))
        assert pool.get("cpu-mine") is first and loads == ["cpu-mine"]       # unchanged: no second load
        weights = tmp_path / "cpu-mine" / modeldir.WEIGHTS_FILE
        later = weights.stat().st_mtime_ns + 2_000_000_000
        os.utime(weights, ns=(later, later))                                  # a training saved better weights
        second = pool.get("cpu-mine")
        assert second is not first and loads == ["cpu-mine", "cpu-mine"]
        assert pool.get() is second and pool.loaded() == {"cpu-mine": second}
        assert job.result().finish_reason == "length"                         # the old copy finished its work…
        deadline = time.monotonic() + 5
        while not first._stopped and time.monotonic() < deadline:
            time.sleep(0.05)
        assert first._stopped                                                 # …and then went away
    finally:
        pool.close()
