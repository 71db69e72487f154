"""With --token, in Chromium: the token lives in the page's storage for its origin, and the cookie a server on
another port could receive opens pages but runs no code (docs/security.md, "Other users of the same machine")."""

from __future__ import annotations

from playwright.sync_api import expect

CHECK_SECONDS = 240     # a check imports TensorFlow: slow on a loaded 2-core machine


def test_the_token_stays_in_this_origin_and_a_replayed_cookie_cannot_check(live_server, page, browser,
                                                                          browser_context_args):
    server = live_server({"ACCESS_TOKEN": "s3cret"})
    page.goto(server.url + "/exercises/1?token=s3cret")
    expect(page).to_have_url(server.url + "/exercises/1")          # the landing stored it, then left
    assert page.evaluate("localStorage.getItem('aurore-token')") == "s3cret"
    cookies = page.context.cookies()
    assert cookies and all("s3cret" not in cookie["value"] for cookie in cookies)
    page.click("#check-button")                                     # the page's fetch carries the token
    expect(page.locator("#exercise")).to_have_attribute("data-state", "failed", timeout=CHECK_SECONDS * 1000)

    # Another port's server received those cookies; replayed in a browser without the page's storage:
    replay = browser.new_context(**browser_context_args)
    try:
        replay.add_cookies(cookies)
        other = replay.new_page()
        other.goto(server.url + "/exercises/1")
        expect(other.locator("h1")).to_be_visible()                 # reading: the page opens
        other.click("#check-button")
        expect(other.locator("#check-status")).to_contain_text("?token=", timeout=30_000)
        expect(other.locator("#exercise")).not_to_have_attribute("data-state", "failed")
    finally:
        replay.close()
