"""Runs the whole OAuth 1.0a three-legged dance with requests-oauthlib, unmodified, against
`tether sim flickr --auto-approve`, then one signed REST call with the access token.

The steps are the ones every Flickr app takes: request token, the user's visit to the authorize
page (here a plain GET whose redirect is read, not followed: the callback needs no server), the
verifier read from the redirect's Location, the access token, then `flickr.test.login`.

Environment: FLICKR_SIM_URL (e.g. http://127.0.0.1:8803, loopback only), FLICKR_CONSUMER_KEY and
FLICKR_CONSUMER_SECRET. On success prints one JSON line (the tokens and the user) and exits 0; on
any failure prints what failed to stderr and exits 1.
"""

import json
import os
import sys
import urllib.parse

try:
    import requests
    from requests_oauthlib import OAuth1Session
except ImportError as missing:
    sys.stderr.write(
        f"{missing}: run `python3 -m venv compat/flickr-python/.venv && "
        "compat/flickr-python/.venv/bin/pip install -r compat/flickr-python/requirements.txt`\n"
    )
    sys.exit(2)

# Nothing listens here: the redirect to it is read, never followed.
CALLBACK = "http://127.0.0.1:9/flickr-callback?state=compat"


class Failure(Exception):
    """A step whose answer was not what Flickr's protocol promises."""


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise Failure(f"the environment variable {name} is not set")
    return value


def main() -> None:
    base = env("FLICKR_SIM_URL").rstrip("/")
    host = urllib.parse.urlsplit(base).hostname
    if host != "127.0.0.1":
        raise Failure(f"FLICKR_SIM_URL must be on 127.0.0.1, not {host}")
    key = env("FLICKR_CONSUMER_KEY")
    secret = env("FLICKR_CONSUMER_SECRET")

    session = OAuth1Session(key, client_secret=secret, callback_uri=CALLBACK)
    request_token = session.fetch_request_token(f"{base}/services/oauth/request_token")
    if request_token.get("oauth_callback_confirmed") != "true":
        raise Failure(f"request token without oauth_callback_confirmed: {request_token}")

    authorize_url = session.authorization_url(f"{base}/services/oauth/authorize", perms="write")
    visit = requests.get(authorize_url, allow_redirects=False, timeout=30)
    if visit.status_code != 302:
        raise Failure(
            f"the authorize page answered {visit.status_code}, not a redirect "
            f"(is the simulator running with --auto-approve?): {visit.text[:200]}"
        )
    location = visit.headers["Location"]
    if not location.startswith(CALLBACK.split("?")[0]):
        raise Failure(f"the redirect goes to {location}, not to the callback")
    answered = session.parse_authorization_response(location)
    if answered.get("oauth_token") != request_token["oauth_token"]:
        raise Failure(f"the redirect names another token: {location}")
    if "oauth_verifier" not in answered:
        raise Failure(f"the redirect carries no oauth_verifier: {location}")

    access = session.fetch_access_token(f"{base}/services/oauth/access_token")
    for name in ("oauth_token", "oauth_token_secret", "user_nsid", "username"):
        if not access.get(name):
            raise Failure(f"the access token answer has no {name}: {access}")

    # The session now signs with the access token.
    login = session.get(
        f"{base}/services/rest",
        params={"method": "flickr.test.login", "format": "json", "nojsoncallback": "1"},
        timeout=30,
    )
    body = login.json()
    if body.get("stat") != "ok":
        raise Failure(f"flickr.test.login failed: {body}")
    if body["user"]["id"] != access["user_nsid"]:
        raise Failure(f"flickr.test.login answers {body['user']['id']}, not {access['user_nsid']}")

    print(
        json.dumps(
            {
                "request_token": request_token["oauth_token"],
                "verifier": answered["oauth_verifier"],
                "access_token": access["oauth_token"],
                "user_nsid": access["user_nsid"],
                "username": access["username"],
            }
        )
    )


if __name__ == "__main__":
    try:
        main()
    except Exception as failure:  # noqa: BLE001 - every failure must end in a clear exit 1.
        sys.stderr.write(f"flickr-python compat failed: {type(failure).__name__}: {failure}\n")
        sys.exit(1)
