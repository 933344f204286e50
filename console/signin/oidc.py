"""Single sign-on with the trust's OpenID provider (Microsoft Entra ID,
Google Workspace, ...), by authlib: the authorization code flow with PKCE,
its `state` and `nonce` kept in a short-lived signed cookie (Starlette's
session, on these two paths only) and checked on return, the ID token's
signature, issuer, audience and nonce checked by authlib.

The person is matched to an apflow account by the ID token's `email`, and
only when the provider says it has verified that address
(`email_verified`): an unverified address could be anyone's. No apflow
account is made here: an unknown, unverified or disabled one is refused,
with the reason, and audited."""
from __future__ import annotations

import logging
import warnings

import authlib.deprecate  # noqa: F401  (before the filter below: it sets its own on import)
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from joserfc.errors import JoseError
from starlette.middleware.sessions import SessionMiddleware

from apflow.settings import Settings, SignInSettings
from store import accounts

from . import audit, establish, keys, pages

try:  # what authlib talks to the provider through: httpx2 when installed, else httpx
    import httpx2 as http
except ImportError:
    import httpx as http

with warnings.catch_warnings():
    # authlib prefers httpx2 and says so, always, at import, when it finds
    # httpx instead; httpx is the project's HTTP client and serves it well.
    warnings.filterwarnings("ignore", "The httpx module is deprecated", DeprecationWarning)
    from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App

log = logging.getLogger(__name__)

PATH = "/sign-in/oidc"
CALLBACK = f"{PATH}/callback"
STATE_COOKIE = "apflow_oidc"
STATE_LIFETIME_S = 600  # a sign-in at the provider takes minutes, not hours


def configured(s: SignInSettings) -> bool:
    return bool(s.oidc_issuer and s.oidc_client_id and s.oidc_client_secret)


def _client(s: SignInSettings) -> StarletteOAuth2App:
    oauth = OAuth()
    return oauth.register(
        "trust",
        server_metadata_url=s.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_id=s.oidc_client_id,
        client_secret=s.oidc_client_secret,
        client_kwargs={"scope": "openid email", "code_challenge_method": "S256"},
    )


def install(app: FastAPI, settings: Settings) -> None:
    """The routes, and the state cookie they need, when a provider is configured."""
    if not configured(settings.signin):
        return
    app.add_middleware(SessionMiddleware, secret_key=keys.derived(settings, "oidc state")[-1].hex(),
                       session_cookie=STATE_COOKIE, max_age=STATE_LIFETIME_S, path=PATH,
                       same_site="lax", https_only=settings.signin.cookie_secure)
    app.include_router(router(settings))


def router(settings: Settings) -> APIRouter:
    client = _client(settings.signin)
    redirect_uri = settings.base_url + CALLBACK  # the public address: never one a request's Host names
    routes = APIRouter(include_in_schema=False)

    @routes.get(PATH)
    async def start(request: Request, next: str | None = None) -> Response:
        request.session.clear()
        request.session["next"] = pages.local_path(next)
        try:
            return await client.authorize_redirect(request, redirect_uri)
        except (http.HTTPError, ValueError, RuntimeError) as e:
            log.warning("the OpenID provider's discovery failed: %s", type(e).__name__)
            return _unreachable(request)

    @routes.get(CALLBACK)
    async def callback(request: Request) -> Response:
        next_path = pages.local_path(request.session.get("next"))
        try:
            token = await client.authorize_access_token(request)
        except MismatchingStateError:
            return _refused(request, "state mismatch", "This sign-in did not start in this browser, "
                            "or it took too long. Start again from the sign-in page.")
        except OAuthError as e:
            return _refused(request, f"provider said {e.error}", "Your trust's sign-in service did not sign you in "
                            f"({e.description or e.error}). Start again from the sign-in page.")
        except (AuthlibBaseError, JoseError) as e:
            return _refused(request, f"id token {type(e).__name__}", "Your trust's sign-in service sent an answer "
                            "that could not be verified, so it cannot sign you in. Start again from the sign-in page.")
        except http.HTTPError as e:
            log.warning("the OpenID provider did not answer: %s", type(e).__name__)
            return _unreachable(request)
        finally:
            request.session.clear()
        claims = token.get("userinfo") or {}
        email = claims.get("email")
        if not isinstance(email, str) or not email:
            return _refused(request, "no email", "Your trust's sign-in service did not say your email address, "
                            "so apflow cannot tell which account is yours. Ask your trust's apflow administrator.")
        user = accounts.user_by_email(request.app.state.engine, email)
        if claims.get("email_verified") not in (True, "true"):
            return _refused(request, "email not verified", "Your trust's sign-in service has not verified your "
                            "email address, so apflow cannot match it to an account. Ask your trust's IT team "
                            "to verify it, or sign in with your apflow password.", user)
        if user is None:
            return _refused(request, "no account", "There is no apflow account for the email address your trust's "
                            "sign-in service gave. Ask your trust's apflow administrator to add you.")
        if not user.active:
            return _refused(request, "account disabled", "Your apflow account has been disabled, so it cannot sign "
                            "in. If you still need it, ask your trust's apflow administrator.", user)
        return establish.start_session(request, user.user_id, "oidc", next_path)

    return routes


def _refused(request: Request, reason: str, message: str, user: accounts.UserRow | None = None) -> HTMLResponse:
    audit.record(request, "sign_in_failed", subject=user.user_id if user else None, detail=f"via=oidc reason={reason}")
    return pages.refusal(request, 403, "You could not be signed in", message)


def _unreachable(request: Request) -> HTMLResponse:
    return pages.refusal(request, 502, "Your trust's sign-in service is not answering",
                         "apflow could not reach your trust's sign-in service. Try again in a few minutes, "
                         "or sign in with your apflow password.")
