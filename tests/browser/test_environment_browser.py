"""The environment page's GPU row answers at once when the system shows no GPU, and says what it is doing
while TensorFlow's probe runs when it shows one. The answers are staged (page.route) so that the test
means the same on a machine with a GPU and one without."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def open_environment(live_server, page, quick):
    """The quick answer staged; TensorFlow's probes are held (returned) for the test to answer."""
    server = live_server({"CHECK_WORKER": False})
    probes = []

    def answer(route):
        if "quick=1" in route.request.url:
            route.fulfill(json=quick)
        else:
            probes.append(route)

    page.route("**/environment/gpu*", answer)
    page.goto(server.url + "/environment")
    return probes


def test_no_gpu_is_said_at_once_without_loading_tensorflow(live_server, page):
    probes = open_environment(live_server, page, {"ok": True, "known": True, "devices": []})
    expect(page.locator("#gpu")).to_contain_text("Aucun GPU")
    assert probes == []                                   # TensorFlow's 20-second probe was not needed


def test_a_gpu_the_system_shows_is_checked_and_the_page_says_so(live_server, page):
    probes = open_environment(live_server, page, {"ok": True, "known": True, "devices": ["GPU 0: NVIDIA H100"]})
    gpu = page.locator("#gpu")
    expect(gpu).to_contain_text("Le système voit un GPU : GPU 0: NVIDIA H100")
    expect(gpu).to_contain_text("vérification que TensorFlow peut s'en servir")     # while TensorFlow loads
    page.wait_for_function("() => true")
    assert len(probes) == 1
    probes[0].fulfill(json={"ok": True, "devices": ["/physical_device:GPU:0"], "error": None})
    expect(gpu).to_contain_text("/physical_device:GPU:0", timeout=15_000)
