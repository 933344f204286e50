"""Signing in to the console in a real browser: through the trust's OpenID
provider, and what a signed-in form is refused for (no CSRF token, a session
that has expired). Password and authenticator code are how every other
browser test signs in (`conftest.signed_in`)."""
from __future__ import annotations

from sqlalchemy import text

from console.identity import SESSION_COOKIE
from store import accounts

from .conftest import LEAD, SSO_LEAD, SSO_LOGIN, new_page, signed_in


def placements(console) -> int:
    with console.engine.connect() as c:
        return c.execute(text("select count(*) from placements")).scalar_one()


async def test_signing_in_with_the_trusts_identity_provider(browser, console):
    page = await new_page(browser, console)
    await page.goto("/placements")
    assert "/sign-in" in page.url
    await page.get_by_role("button", name="Sign in with the trust").click()
    # At the provider: its own login form, then its consent.
    await page.locator('input[name="login"]').fill(SSO_LOGIN)
    await page.locator('input[name="password"]').fill("any")
    await page.locator('button[type="submit"]').click()
    await page.wait_for_load_state()
    if not page.url.startswith(console.url):
        await page.locator('button[type="submit"]').click()
    await page.wait_for_url(f"{console.url}/placements")
    assert await page.get_by_role("heading", name="Placements").count() == 1
    user = accounts.user_by_email(console.engine, SSO_LEAD.email)
    assert ("signed_in", "via=oidc") in [(e.event, e.detail) for e in accounts.events(console.engine, user.user_id)]


async def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(browser, console):
    page = await signed_in(browser, console, LEAD)
    await page.goto("/placements/new")
    before = placements(console)
    await page.evaluate("document.querySelectorAll('input[name=csrf_token]').forEach(e => e.remove())")
    async with page.expect_navigation() as sent:
        await page.locator("#submit").click()
    assert (await sent.value).status == 403
    assert await page.title() == "This form could not be sent – apflow"
    assert placements(console) == before


async def test_a_form_sent_after_the_session_expired_goes_back_to_sign_in(browser, console):
    page = await signed_in(browser, console, LEAD)
    await page.goto("/placements/new")
    before = placements(console)
    cookie = next(c["value"] for c in await page.context.cookies() if c["name"] == SESSION_COOKIE)
    with console.engine.begin() as c:  # left idle past the timeout
        c.execute(text("update user_sessions set last_seen_at = '2020-01-01 00:00:00' where session_hash = :h"),
                  {"h": accounts.digest(cookie)})
    async with page.expect_navigation():
        await page.locator("#submit").click()
    assert "/sign-in" in page.url, page.url
    assert placements(console) == before
