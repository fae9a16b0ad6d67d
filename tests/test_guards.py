"""The test suite's own guards fail when they should: WARNING logs, stray task errors, leftover tasks."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CONFTEST = 'pytest_plugins = ["tests.conftest"]\n'
ROOT = Path(__file__).resolve().parent.parent


def _run(pytester: pytest.Pytester, body: str) -> pytest.RunResult:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(body)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error")


def test_an_unexpected_warning_log_fails_the_test(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    result = _run(
        pytester,
        """
import logging, pytest
def test_logs():
    logging.getLogger("squall.x").warning("disk is melting")
@pytest.mark.allow_logs("expected thing")
def test_allowed():
    logging.getLogger("squall.x").warning("an expected thing")
""",
    )
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*unexpected log records*", "*WARNING squall.x: disk is melting*"])


def test_stray_task_errors_and_leftover_tasks_fail_the_test(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    result = _run(
        pytester,
        """
import asyncio, gc
def test_stray_error(aloop):
    async def boom():
        raise ValueError("lost")
    async def scenario():
        t = asyncio.ensure_future(boom())
        await asyncio.sleep(0.01)
        del t
    aloop.run(scenario())
    gc.collect()
def test_leftover(aloop):
    async def scenario():
        asyncio.ensure_future(asyncio.sleep(3600))
    aloop.run(scenario())
""",
    )
    result.assert_outcomes(passed=2, errors=2)
    result.stdout.fnmatch_lines(["*Task exception was never retrieved*", "*task left running at teardown*"])
