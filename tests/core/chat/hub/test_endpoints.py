"""HTTP endpoints of a real hub: POST /api/token, the XSRF-protected /login form, /health, JSON errors,
and no token or cookie ever reaching a log."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPResponse

from core.chat.hub import Hub
from core.chat.hub.auth import COOKIE_NAME
from tests.conftest import LoopRunner
from tests.core.chat.hub.conftest import StartHub
from tests.core.chat.hub.wsclient import WsClient


@asynccontextmanager
async def http() -> AsyncIterator[AsyncHTTPClient]:
    client = AsyncHTTPClient(force_instance=True)
    try:
        yield client
    finally:
        client.close()


async def post_json(client: AsyncHTTPClient, hub: Hub, path: str, body: Any) -> HTTPResponse:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await client.fetch(hub.url + path, method="POST", body=data, raise_error=False)


def test_token_for_the_right_passphrase(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub()

    async def scenario() -> None:
        async with http() as client:
            reply = await post_json(client, hub, "/api/token", {"nick": "Zoë 🙂", "passphrase": hub.passphrase})
        assert reply.code == 200
        body = json.loads(reply.body)
        assert body["nick"] == "Zoë 🙂"
        assert body["expires_in"] == int(hub.config.token_ttl)
        c = await WsClient.connect(hub, None, token=body["token"])
        await c.join(nick="Zoë 🙂")
        await c.close()

    aloop.run(scenario())


def test_token_refusals_say_why(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub(failed_logins_per_minute=3)

    async def scenario() -> None:
        async with http() as client:
            cases: list[tuple[Any, int, str]] = [
                (b"{nope", 400, "must be JSON"),
                ([1], 400, "JSON object"),
                ({"nick": "", "passphrase": hub.passphrase}, 400, "1 to 32 characters"),
                ({"nick": "x" * 33, "passphrase": hub.passphrase}, 400, "1 to 32 characters"),
                ({"nick": "bell\x07", "passphrase": hub.passphrase}, 400, "printable"),
                ({"nick": " alice", "passphrase": hub.passphrase}, 400, "start or end with a space"),
                ({"nick": "alice"}, 401, "wrong passphrase"),
                ({"nick": "alice", "passphrase": "guess"}, 401, "wrong passphrase"),
                ({"nick": "alice", "passphrase": 12}, 401, "wrong passphrase"),
                ({"nick": "alice", "passphrase": "guess"}, 429, "wait a minute"),  # 3 wrong ones this minute
                ({"nick": "alice", "passphrase": hub.passphrase}, 429, "wait a minute"),  # even the right one
            ]
            for body, code, words in cases:
                reply = await post_json(client, hub, "/api/token", body)
                assert reply.code == code, (body, reply.code, reply.body)
                assert reply.headers["Content-Type"].startswith("application/json")
                assert words in json.loads(reply.body)["error"], (body, reply.body)

    aloop.run(scenario())


def test_a_body_too_big_for_a_login_is_refused_in_json(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub()

    async def scenario() -> None:
        async with http() as client:
            padded = {"nick": "alice", "passphrase": hub.passphrase, "pad": "x" * 20_000}
            reply = await post_json(client, hub, "/api/token", padded)
            assert reply.code == 413, reply.body
            assert "over 16 KiB" in json.loads(reply.body)["error"]
            assert (
                await post_json(client, hub, "/api/token", {"nick": "alice", "passphrase": hub.passphrase})
            ).code == 200

    aloop.run(scenario())


def _xsrf_from(response: HTTPResponse) -> tuple[str, str]:
    """(the _xsrf cookie, the form's _xsrf field) from GET /login."""
    cookies = response.headers.get_list("Set-Cookie")
    cookie = next(c.split(";")[0].split("=", 1)[1] for c in cookies if c.startswith("_xsrf="))
    match = re.search(rb'name="_xsrf" value="([^"]+)"', response.body)
    assert match is not None
    return cookie, match.group(1).decode()


def test_login_form_is_xsrf_protected_and_sets_a_signed_cookie(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub()

    async def scenario() -> None:
        async with http() as client:
            form = await client.fetch(hub.url + "/login")
            assert form.code == 200
            assert "frame-ancestors 'none'" in form.headers["Content-Security-Policy"]
            xsrf_cookie, xsrf_field = _xsrf_from(form)
            fields = f"nick=alice&passphrase={hub.passphrase}"

            async def login(body: str, cookie: str | None) -> HTTPResponse:
                headers = {"Cookie": f"_xsrf={cookie}"} if cookie else {}
                return await client.fetch(
                    hub.url + "/login", method="POST", body=body, headers=headers, raise_error=False
                )

            assert (await login(fields, None)).code == 403  # no XSRF token at all
            assert (await login(fields + f"&_xsrf={xsrf_field}", None)).code == 403  # field without its cookie
            other_cookie, _ = _xsrf_from(await client.fetch(hub.url + "/login"))
            assert (await login(fields + f"&_xsrf={xsrf_field}", other_cookie)).code == 403  # mismatched pair
            wrong = await login(f"nick=alice&passphrase=nope&_xsrf={xsrf_field}", xsrf_cookie)
            assert wrong.code == 401
            ok = await login(fields + f"&_xsrf={xsrf_field}", xsrf_cookie)
            assert ok.code == 200
            assert b"Signed in as alice" in ok.body
            set_cookie = next(c for c in ok.headers.get_list("Set-Cookie") if c.startswith(COOKIE_NAME + "="))
            assert "HttpOnly" in set_cookie
            assert "SameSite=Strict" in set_cookie
            signed = set_cookie.split(";")[0].split("=", 1)[1].strip('"')
            assert signed.startswith("2|")  # a Tornado signed value, version 2
        browser = await WsClient.connect(
            hub, None, headers={"Cookie": f"{COOKIE_NAME}={signed}", "Origin": f"http://127.0.0.1:{hub.port}"}
        )
        await browser.join(nick="alice")
        await browser.close()

    aloop.run(scenario())


def test_login_page_escapes_the_nick(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub()

    async def scenario() -> None:
        async with http() as client:
            form = await client.fetch(hub.url + "/login")
            xsrf_cookie, xsrf_field = _xsrf_from(form)
            reply = await client.fetch(
                hub.url + "/login",
                method="POST",
                body=f"nick=%3Cscript%3E&passphrase={hub.passphrase}&_xsrf={xsrf_field}",
                headers={"Cookie": f"_xsrf={xsrf_cookie}"},
            )
        assert b"<script>" not in reply.body
        assert b"&lt;script&gt;" in reply.body

    aloop.run(scenario())


def test_login_takes_the_fields_as_sent_and_refuses_like_the_token_endpoint(
    aloop: LoopRunner, start_hub: StartHub
) -> None:
    hub = start_hub()

    async def scenario() -> None:
        async with http() as client:
            xsrf_cookie, xsrf_field = _xsrf_from(await client.fetch(hub.url + "/login"))

            async def login(nick: str | None, passphrase: str) -> HTTPResponse:
                fields = {"nick": nick, "passphrase": passphrase, "_xsrf": xsrf_field}
                body = urlencode({k: v for k, v in fields.items() if v is not None})
                headers = {"Cookie": f"_xsrf={xsrf_cookie}"}
                return await client.fetch(
                    hub.url + "/login", method="POST", body=body, headers=headers, raise_error=False
                )

            cases = [
                (" alice", hub.passphrase, 400, "start or end with a space"),  # not quietly "alice"
                ("alice ", hub.passphrase, 400, "start or end with a space"),
                ("a\x01b", hub.passphrase, 400, "printable"),  # not quietly "a b"
                ("alice", f" {hub.passphrase} ", 401, "wrong passphrase"),  # as /api/token says
                (None, hub.passphrase, 400, "nick must be a string"),  # absent, as from a JSON body without it
            ]
            for nick, passphrase, code, words in cases:
                reply = await login(nick, passphrase)
                assert reply.code == code, (nick, reply.body)
                assert words in json.loads(reply.body)["error"]
                token_reply = await post_json(client, hub, "/api/token", {"nick": nick, "passphrase": passphrase})
                assert token_reply.code == code  # one rule for both doors
            assert (await login("alice", hub.passphrase)).code == 200

    aloop.run(scenario())


def test_wrong_methods_paths_and_missing_xsrf_get_json_that_says_so(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub()

    async def scenario() -> None:
        async with http() as client:
            cases = [
                ("POST", "/login", 403, "_xsrf field is missing or does not match"),  # no XSRF pair at all
                ("DELETE", "/login", 405, "DELETE is not allowed on /login"),  # not the XSRF message
                ("PUT", "/api/token", 405, "PUT is not allowed on /api/token"),
                ("POST", "/health", 405, "POST is not allowed on /health"),
                ("POST", "/nope", 404, "no such endpoint"),
                ("POST", "/ws", 405, "POST is not allowed on /ws"),
            ]
            for method, path, code, words in cases:
                body = None if method == "DELETE" else b"x=1"
                reply = await client.fetch(hub.url + path, method=method, body=body, raise_error=False)
                assert reply.code == code, (path, reply.body)
                assert reply.headers["Content-Type"].startswith("application/json")
                assert words in json.loads(reply.body)["error"], (path, reply.body)

    aloop.run(scenario())


def test_health_counts_connections_and_rooms(aloop: LoopRunner, start_hub: StartHub) -> None:
    hub = start_hub()

    async def scenario() -> None:
        async with http() as client:
            empty = json.loads((await client.fetch(hub.url + "/health")).body)
            assert empty["connections"] == 0
            assert empty["rooms"] == 0
            assert empty["protocol"] == 1
            assert empty["gateway"] is False
            assert set(empty) >= {"version", "uptime"}
            a = await WsClient.connect(hub, "a")
            b = await WsClient.connect(hub, "b")
            await a.join("one")
            await b.join("two")
            busy = json.loads((await client.fetch(hub.url + "/health")).body)
            assert (busy["connections"], busy["rooms"]) == (2, 2)
            assert busy["uptime"] >= empty["uptime"]
            missing = await client.fetch(hub.url + "/nope", raise_error=False)
            assert missing.code == 404
            assert "no such endpoint" in json.loads(missing.body)["error"]
            await a.close()
            await b.close()

    aloop.run(scenario())


def test_tokens_and_cookies_never_reach_a_log(
    aloop: LoopRunner, start_hub: StartHub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # everything, tornado's loggers included
    hub = start_hub()

    async def scenario() -> list[str]:
        secrets = [hub.passphrase]
        async with http() as client:
            reply = await post_json(client, hub, "/api/token", {"nick": "alice", "passphrase": hub.passphrase})
            token = json.loads(reply.body)["token"]
            secrets.append(token)
            await post_json(client, hub, "/api/token", {"nick": "alice", "passphrase": "wrong"})
            await client.fetch(hub.url + f"/health?token={token}")  # a token misplaced in a URL
            cookie = hub.context.authority.cookie_for("alice")
            secrets.append(cookie)
        c = await WsClient.connect(hub, None, token=token)
        await c.join(nick="alice")
        await c.close()
        d = await WsClient.connect(hub, None, headers={"Cookie": f"{COOKIE_NAME}={cookie}"})
        await d.close()
        with pytest.raises(HTTPClientError):  # a refused token is not logged either
            await WsClient.connect(hub, None, token=token + "x")
        return secrets

    secrets = aloop.run(scenario())
    logged = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records)
    assert "POST /api/token" in logged  # the requests were logged...
    for secret in secrets:
        assert secret not in logged  # ...without their secrets
        assert secret.split("|")[-1] not in logged  # not even a token's signature
