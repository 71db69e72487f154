"""Take docs/screenshots/writers-page.png with a trained model.

    python docs/screenshots/take_writers_screenshot.py   # uses ./data/models/cpu (or AURORE_DATA)

Serves the app (waitress, loopback, free port), writes a text from a fixed
prompt and seed on the writers' page in headless Chromium, and saves the
screenshot once the text is complete.
"""

from __future__ import annotations

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
    server = waitress.create_server(create_app(), host="127.0.0.1", port=0, threads=8)
    threading.Thread(target=server.run, daemon=True).start()
    url = f"http://127.0.0.1:{server.effective_port}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url + "/generate")
        page.fill("#prompt", "La nuit était douce, et")
        page.click("summary")
        page.fill("#max_new_tokens", "120")
        page.fill("#seed", "7")
        page.click("#write")
        expect(page.locator("#status")).to_contain_text("Terminé", timeout=120_000)
        out = ROOT / "docs" / "screenshots" / "writers-page.png"
        page.screenshot(path=str(out), full_page=True)
        print(page.locator("#output-text").text_content())
        print(f"saved {out}")
        browser.close()
    server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
