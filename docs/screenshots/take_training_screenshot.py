"""Take docs/screenshots/training-run.png from a real training run in the browser.

Needs a data folder with a dataset and a tokenizer already made, e.g.:

    AURORE_DATA=/tmp/shot AURORE_SOURCE=/path/to/books python -m aurore prepare --books 39738,34204
    AURORE_DATA=/tmp/shot python -m aurore tokenizer --vocab-size 2000
    AURORE_DATA=/tmp/shot python docs/screenshots/take_training_screenshot.py

It serves the app (waitress, loopback, free port), opens the run page in
headless Chromium, starts the real `train` step with the solution (the tiny
preset, so that the curve moves within a minute on a laptop), waits for a few
evaluations on the live loss curve, and saves the screenshot.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import aurore  # noqa: E402,F401
import waitress  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

from aurore.web import create_app  # noqa: E402

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def main() -> int:
    data = os.environ["AURORE_DATA"]
    train = ["{python}", "-m", "aurore", "train", "--use", "{variant}", "--preset", "tiny",
             "--set", "max_steps=400", "--set", "eval_interval=25", "--set", "patience=0", "--max-minutes", "4"]
    app = create_app({"DATA_DIR": data, "ENV_GPU_PROBE": False,
                      "WORKSHOP_STEPS": {"train": {"title": {"fr": "Entraîner GPT-2", "en": "Train GPT-2"},
                                                   "argv": train}}})
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=8)
    threading.Thread(target=server.run, daemon=True).start()
    url = f"http://127.0.0.1:{server.effective_port}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url + "/run?step=train")
        page.check("input[name=variant][value=solution]")
        page.click("#run-button")
        expect(page.locator("#loss-figure")).to_be_visible(timeout=300_000)
        expect(page.locator("#job-log")).to_contain_text("step 150:", timeout=300_000)
        out = ROOT / "docs" / "screenshots" / "training-run.png"
        page.screenshot(path=str(out), full_page=True)
        print(f"saved {out}")
        page.click("#cancel-button")
        expect(page.locator("#job")).to_have_attribute("data-status", "cancelled", timeout=60_000)
        browser.close()
    server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
