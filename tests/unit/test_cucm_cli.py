"""The CUCM CLI conversation as public clients met it: banner, a prompt that needs a
newline, escape codes, progress lines, ``[STARTED]``/``[FAILED]``, a timeout per command.

A scripted process stands in for the SSH channel (fast, no sockets); the lab's SSH server
plays the same conversation over real SSH in tests/drivers/test_cucm.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from reconciler.drivers import Endpoint, PermanentError
from reconciler.drivers import cucm_cli as cli
from reconciler.drivers.cucm_cli import (
    CliHung,
    _converse,
    cli_result,
    command_timeout,
    parse_service_list,
    strip_escapes,
)

EP = Endpoint("cucm-pub", "cucm", "https://cucm-pub.example:8443", "admin", "pw")
BANNER = "\x1b[?1h\x1b=\nWelcome to the Platform Command Line Interface\n\n"
PROMPT = "\x1b[1madmin:\x1b[0m "
RESTART = "utils service restart Cisco Tomcat"


class Script:
    """A CLI session: ``on_newline`` answers a bare newline, ``on_command`` a command."""

    def __init__(self, banner: str, on_newline: str = PROMPT,
                 on_command: str | None = None) -> None:
        self.out: asyncio.Queue[str] = asyncio.Queue()
        self.out.put_nowait(banner)
        self.on_newline, self.on_command = on_newline, on_command
        self.sent: list[str] = []
        self.stdout, self.stdin = self, self

    async def read(self, n: int) -> str:
        return await self.out.get()

    def write(self, text: str) -> None:
        self.sent.append(text)
        if text == "\n":
            self.out.put_nowait(self.on_newline)
        elif self.on_command is not None:
            self.out.put_nowait(self.on_command)


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(cli, "NUDGE_SECONDS", 0.02)
    monkeypatch.setattr(cli, "BANNER_QUIET_SECONDS", 0.02)
    monkeypatch.setattr(cli, "PROMPT_SECONDS", 0.3)
    yield


async def test_a_newline_wakes_the_prompt_after_the_banner() -> None:
    done = ("Service Manager is running\n\x1b[KCisco Tomcat[STOPPING]\n"
            "Cisco Tomcat[STARTING]\nCisco Tomcat[STARTED]\n" + PROMPT)
    script = Script(BANNER, on_command=done)
    output = await _converse(script, RESTART, 1.0)
    assert script.sent == ["\n", RESTART + "\n"]
    assert "\x1b" not in output and "Cisco Tomcat[STARTED]" in output
    assert cli_result(EP, RESTART, output)


async def test_the_newline_goes_as_soon_as_the_banner_is_complete(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """No silence is waited for after the banner: with an hour's quiet period the session
    would hang; it reaches the command at once."""
    monkeypatch.setattr(cli, "BANNER_QUIET_SECONDS", 3600.0)
    monkeypatch.setattr(cli, "PROMPT_SECONDS", 3600.0)
    script = Script(BANNER, on_command="Cisco Tomcat[STARTED]\n" + PROMPT)
    output = await asyncio.wait_for(_converse(script, RESTART, 3600.0), 5.0)
    assert script.sent == ["\n", RESTART + "\n"]
    assert "Cisco Tomcat[STARTED]" in output


async def test_a_cli_that_never_prompts_is_a_clear_error() -> None:
    script = Script(BANNER, on_newline="\n")  # echoes the newline, never a prompt
    with pytest.raises(CliHung, match=r"no admin: prompt 0s after login \(a newline sent "
                       r"after the banner and after each of 3 silences\)"):
        await asyncio.wait_for(_converse(script, RESTART, 1.0), 2.0)
    assert script.sent == ["\n"] * 4


async def test_a_restart_that_never_ends_is_a_clear_error() -> None:
    script = Script(BANNER + PROMPT, on_command="Cisco Tomcat[STOPPING]\n")
    with pytest.raises(CliHung, match="no admin: prompt 0s after the command"):
        await _converse(script, RESTART, 0.1)


def test_a_restart_is_judged_by_its_markers_only() -> None:
    noisy = ("Do not press Ctrl+C ... If the service has not restarted properly, error "
             "messages are logged\n\x1b[1mCisco Tomcat[STARTED]\x1b[0m\n")
    assert cli_result(EP, RESTART, noisy)  # "error" in a progress line is no failure
    with pytest.raises(PermanentError, match=r"\[FAILED\]"):
        cli_result(EP, RESTART, "Cisco Tomcat[STOPPING]\nCisco Tomcat[FAILED]\n")
    with pytest.raises(PermanentError, match=r"no \[STARTED\]"):
        cli_result(EP, RESTART, "Executed command unsuccessfully\nInvalid service\n")
    with pytest.raises(PermanentError, match=r"no \[STARTED\]"):  # another service started
        cli_result(EP, RESTART, "Cisco HAProxy[STARTED]\n")


def test_a_tomcat_restart_fits_its_timeout_and_nothing_waits_900_seconds() -> None:
    assert 120 < command_timeout(RESTART) <= 300
    assert command_timeout("utils service list") <= 60


def test_the_service_list_and_escape_codes() -> None:
    text = "\x1b[KCisco Tomcat[STARTED]\r\nCisco DRF Local[STOPPED]  Service Not Activated\n"
    assert parse_service_list(text) == {"Cisco Tomcat": "Started", "Cisco DRF Local": "Stopped"}
    assert strip_escapes("\x1b[?1h\x1b=a\x1b[0mb\r\n") == "ab\n"


async def test_a_stray_prompt_before_the_output_is_not_taken_for_its_end() -> None:
    """A nudge newline the CLI did not need shows one more prompt before the command's
    output: the output is still read up to the prompt after it."""
    from reconciler.drivers.cucm_cli import _read_until_prompt

    class Out:
        def __init__(self, chunks: list[str]) -> None:
            self.chunks = chunks

        async def read(self, n: int) -> str:
            return self.chunks.pop(0) if self.chunks else ""

    class Proc:
        stdout = Out(["admin: ", "Cisco Tomcat[STARTED]\n", "admin: "])

    assert (await _read_until_prompt(Proc())).strip() == "Cisco Tomcat[STARTED]"
