"""Runs a standard OAuth 2.0 client (requests-oauthlib), unattended, through the whole
authorization-code flow of `tether sim ghl --auto-approve`: authorize URL, the redirect to a
loopback redirect_uri (read from the Location header, not followed), token exchange, refresh,
and one API call with the refreshed token.

Environment: GHL_SIM_URL (the simulator's base URL); GHL_CLIENT_ID and GHL_CLIENT_SECRET default
to the simulator's registered app. Prints each step; exits 1 on the first failure.
"""

import os
import sys

import requests
from requests_oauthlib import OAuth2Session

# The simulator listens on plain-HTTP loopback; oauthlib refuses http:// unless told otherwise.
os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"

# Never contacted: the client reads the redirect instead of following it.
REDIRECT_URI = "http://127.0.0.1:9/oauth/callback"
SCOPES = ["contacts.readonly", "contacts.write"]


def fail(step, message):
    print(f"FAIL {step}: {message}", file=sys.stderr)
    sys.exit(1)


def main():
    base_url = os.environ.get("GHL_SIM_URL")
    if not base_url:
        print("oauth_flow.py: set GHL_SIM_URL", file=sys.stderr)
        sys.exit(2)
    client_id = os.environ.get("GHL_CLIENT_ID", "sim-client-id")
    client_secret = os.environ.get("GHL_CLIENT_SECRET", "sim-client-secret")
    token_url = f"{base_url}/oauth/token"

    session = OAuth2Session(client_id, redirect_uri=REDIRECT_URI, scope=SCOPES)
    authorize_url, state = session.authorization_url(f"{base_url}/oauth/chooselocation")
    print(f"ok 1 authorize URL: {authorize_url}")

    answer = requests.get(authorize_url, allow_redirects=False, timeout=10)
    if answer.status_code != 302:
        fail("authorize", f"expected a 302, got {answer.status_code}: {answer.text[:200]}")
    callback = answer.headers["Location"]
    if not callback.startswith(REDIRECT_URI + "?"):
        fail("authorize", f"redirected to {callback}, not to the redirect_uri")
    print(f"ok 2 redirected to: {callback}")

    # fetch_token checks that the callback's `state` is the one sent (MismatchingStateError).
    try:
        token = session.fetch_token(
            token_url,
            authorization_response=callback,
            client_secret=client_secret,
            include_client_id=True,
        )
    except Exception as error:
        fail("token exchange", f"{type(error).__name__}: {error}")
    if not token.get("access_token") or not token.get("refresh_token"):
        fail("token exchange", f"no tokens in {token}")
    location_id = token.get("locationId")
    print(f"ok 3 code exchanged: token_type={token['token_type']} locationId={location_id} state={state}")

    first_refresh_token = token["refresh_token"]
    try:
        refreshed = session.refresh_token(
            token_url,
            client_id=client_id,
            client_secret=client_secret,
            include_client_id=True,
        )
    except Exception as error:
        fail("refresh", f"{type(error).__name__}: {error}")
    if refreshed.get("refresh_token") in (None, first_refresh_token):
        fail("refresh", f"the refresh token was not rotated: {refreshed}")
    print("ok 4 refreshed: a new access token and a new refresh token")

    answer = session.post(
        f"{base_url}/contacts/search",
        json={"locationId": location_id, "pageLimit": 5},
        headers={"Version": "2021-07-28"},
        timeout=10,
    )
    if answer.status_code != 200:
        fail("API call", f"{answer.status_code}: {answer.text[:200]}")
    body = answer.json()
    print(f"ok 5 API call with the refreshed token: {len(body.get('contacts', []))} contacts, total {body.get('total')}")
    print("all 5 steps passed")


if __name__ == "__main__":
    main()
