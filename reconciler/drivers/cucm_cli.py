"""The CUCM platform CLI over SSH (asyncssh): the only way to restart Cisco Tomcat [C].

The conversation, as two independent public clients hold it [3P]: after login the CLI prints
a banner ("Welcome to the Platform Command Line Interface") and may need a newline before it
shows the ``admin:`` prompt (certops sends one as soon as the banner is complete, then again
after ``NUDGE_SECONDS`` of silence, up to ``NUDGES`` times, and gives up after
``PROMPT_SECONDS``); output may carry terminal escape
codes (stripped before anything is matched); a service restart prints progress and ends with
``<service>[STARTED]`` or ``[FAILED]``, which alone judge it (not words like "error"). A
command has its own timeout (``command_timeout``: a Tomcat restart takes 60–120 s [3P]), so
a hung CLI is a clear error within minutes, never a silent 15-minute wait.

The host key is checked against the key the inventory names, or the user's
``~/.ssh/known_hosts``; certops never accepts an unknown host key silently.

Failures map to the project's errors like HTTP ones: a host key that does not match and a
refused login are permanent (retrying cannot help); no connection is ``Unreachable``.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any

from reconciler.drivers.base import Endpoint
from reconciler.drivers.errors import (
    AuthError,
    ConfigError,
    PermanentError,
    TemporaryError,
    Unreachable,
)

PROMPT = "admin:"
FAILED = ("failed", "error", "not found", "invalid", "executed command unsuccessfully")
DEFAULT_PORT = 22
BANNER = "Welcome to the Platform Command Line Interface"  # [3P]
NUDGE_SECONDS = 3.0  # silence after which a newline is sent to wake the prompt [3P]
# Once the banner has been seen, a shorter silence is enough: the prompt follows it at once
# or only after a newline [3P]. (A newline too many only shows one more prompt.)
BANNER_QUIET_SECONDS = 1.0
NUDGES = 3
PROMPT_SECONDS = 30.0  # from login to the first prompt, newlines included
RESTART_SECONDS = 300.0  # one `utils service restart`: Tomcat takes 60-120 s [3P]
COMMAND_SECONDS = 60.0  # any other command
# Ciphers in order of preference: AES-GCM first (hardware AES through OpenSSL: a 600-file
# CLI read of a 12.5 node took 0.6x the client CPU of asyncssh's first choice, ChaCha20;
# benchmarks/README.md), then asyncssh's other defaults, so any server still negotiates.
CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com",
           "chacha20-poly1305@openssh.com", "aes256-ctr", "aes192-ctr", "aes128-ctr")
_RESTART = re.compile(r"^utils\s+service\s+restart\s+(?P<service>.+)$", re.IGNORECASE)
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()][0-~]|\x1b[0-~]|\r")


def strip_escapes(text: str) -> str:
    """The text without terminal escape codes and carriage returns."""
    return _ESCAPES.sub("", text)


def command_timeout(command: str) -> float:
    """How long one command may take before the CLI counts as hung."""
    return RESTART_SECONDS if _RESTART.match(command.strip()) else COMMAND_SECONDS


def parse_service_list(output: str) -> dict[str, str]:
    """``utils service list``: ``<name>[<STATUS>]`` per line -> {name: status} [3P]."""
    out: dict[str, str] = {}
    for line in strip_escapes(output).splitlines():
        found = re.match(r"^\s*(?P<name>[^\[\]]+?)\s*\[(?P<status>[A-Za-z ]+)\]", line)
        if found:
            out[found["name"]] = found["status"].strip().capitalize()
    return out


def active_version(output: str) -> str:
    """``show version active``: the ``Active Master Version:`` value [C: the command;
    U: the line's exact text]; else the first line of the output, else ``?``."""
    text = strip_escapes(output)
    found = re.search(r"Active Master Version:\s*(\S+)", text)
    if found:
        return found[1]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0][:80] if lines else "?"


def known_hosts_line(endpoint: Endpoint) -> str:
    """The known_hosts line pinning the inventory's host key (OpenSSH syntax: the port is
    written as ``[host]:port`` only when it is not 22)."""
    port = endpoint.ssh_port or DEFAULT_PORT
    host = endpoint.host if port == DEFAULT_PORT else f"[{endpoint.host}]:{port}"
    return f"{host} {endpoint.ssh_host_key}\n"


async def run_cli(endpoint: Endpoint, command: str, timeout: float = RESTART_SECONDS,
                  connect_timeout: float = 30.0) -> str:
    """Run one CLI command at the ``admin:`` prompt; the output, or a DriverError."""
    output = await cli_output(endpoint, command, timeout, connect_timeout)
    return cli_result(endpoint, command, output)


async def cli_output(endpoint: Endpoint, command: str, timeout: float = RESTART_SECONDS,
                     connect_timeout: float = 30.0) -> str:
    """The SSH part of ``run_cli``: the command's raw output (not yet judged), or a
    DriverError when the session itself fails (login, host key, network, no prompt)."""
    where: dict[str, Any] = {"method": "SSH", "path": command}
    async with ssh_shell(endpoint, connect_timeout, command) as process:
        try:
            output = await _converse(process, command, timeout)
        except CliHung as exc:
            raise TemporaryError(endpoint.name, f"SSH CLI hung: {exc}", **where,
                                 hint="log in to the node's CLI by hand and look") from None
    return output


@contextlib.asynccontextmanager
async def ssh_shell(endpoint: Endpoint, connect_timeout: float = 30.0,
                    label: str = "login") -> AsyncIterator[Any]:
    """A logged-in interactive shell (an asyncssh process on a vt100 PTY: the CLI has no
    exec [3P]), closed at the end; SSH failures as DriverErrors (``label`` says what for)."""
    try:
        import asyncssh
    except ImportError:  # the CUCM CLI is the only user: keep it an optional import
        raise ConfigError(f"{endpoint.name}: the SSH CLI needs the asyncssh package "
                          "(pip install asyncssh)") from None

    if not endpoint.username or not endpoint.password:
        raise ConfigError(f"{endpoint.name}: the SSH CLI needs the platform administrator's "
                          "credentials")
    where: dict[str, Any] = {"method": "SSH", "path": label}
    kwargs: dict[str, object] = {
        "port": endpoint.ssh_port or DEFAULT_PORT, "username": endpoint.username,
        "password": endpoint.password, "client_keys": None, "agent_path": None,
        "connect_timeout": connect_timeout, "encryption_algs": list(CIPHERS),
    }
    pinned = "the inventory's ssh_host_key" if endpoint.ssh_host_key else "~/.ssh/known_hosts"
    if endpoint.ssh_host_key:  # else asyncssh's default: ~/.ssh/known_hosts
        kwargs["known_hosts"] = asyncssh.import_known_hosts(known_hosts_line(endpoint))
    connected = False
    try:
        async with asyncssh.connect(endpoint.host, **kwargs) as conn:
            connected = True
            # 200 columns: long lines (file names, descriptions) do not wrap [3P].
            process = await conn.create_process(term_type="vt100", term_size=(200, 24))
            yield process
            process.close()
    except asyncssh.PermissionDenied:
        raise AuthError(endpoint.name, "SSH CLI: the login was refused", **where,
                        hint="check the platform administrator's username and password") from None
    except (asyncssh.HostKeyNotVerifiable, asyncssh.KeyExchangeFailed) as exc:
        if isinstance(exc, asyncssh.KeyExchangeFailed) and "host key" not in str(exc).lower():
            raise PermanentError(endpoint.name, f"SSH CLI: {exc}", **where) from None
        raise PermanentError(
            endpoint.name, f"SSH CLI: the node's host key does not match {pinned} ({exc})",
            **where, hint="if the node was reinstalled, verify its new key out of band and "
            "update ssh_host_key; otherwise someone may be in the middle") from None
    except (OSError, EOFError, asyncssh.Error) as exc:
        # A refused host key sometimes surfaces as "connection lost" (the server hangs up
        # while the client rejects its key): look at the key itself before calling it a
        # network problem, so a wrong key is never retried as if it were temporary.
        if endpoint.ssh_host_key and not connected and not await _key_matches(
                asyncssh, endpoint, connect_timeout):
            raise PermanentError(
                endpoint.name, f"SSH CLI: the node's host key does not match {pinned}",
                **where, hint="if the node was reinstalled, verify its new key out of band and "
                "update ssh_host_key; otherwise someone may be in the middle") from None
        raise Unreachable(endpoint.name, f"SSH CLI: {exc or type(exc).__name__}",
                          **where) from None


def cli_result(endpoint: Endpoint, command: str, output: str) -> str:
    """The output of a command that succeeded; PermanentError when the CLI refused it.

    A restart is judged by its markers only: ``<service>[STARTED]`` is success,
    ``[FAILED]`` or no ``[STARTED]`` is failure. Other commands fail on the CLI's refusal
    words ("Executed command unsuccessfully", "Invalid ...")."""
    text = strip_escapes(output)
    restart = _RESTART.match(" ".join(command.split()))
    if restart:
        service = re.escape(restart["service"].strip())
        if re.search(service + r"\s*\[STARTED\]", text, re.IGNORECASE) and not re.search(
                r"\[FAILED\]", text, re.IGNORECASE):
            return text
        why = "[FAILED]" if "[failed]" in text.lower() else "no [STARTED]"
        raise PermanentError(endpoint.name,
                             f"SSH CLI: {why}: {' '.join(text.split())[-200:]}",
                             method="SSH", path=command)
    lowered = text.lower()
    # "success" as a word start only: "Executed command unsuccessfully" is a refusal.
    if any(word in lowered for word in FAILED) and not re.search(r"\bsuccess", lowered):
        raise PermanentError(endpoint.name,
                             f"SSH CLI refused: {' '.join(text.split())[:200]}",
                             method="SSH", path=command)
    return text


async def _key_matches(asyncssh: Any, endpoint: Endpoint, timeout: float) -> bool:
    """Whether the node presents the pinned host key (True when it cannot be asked)."""
    try:
        key = await asyncio.wait_for(
            asyncssh.get_server_host_key(endpoint.host, endpoint.ssh_port or DEFAULT_PORT),
            timeout)
    except (OSError, asyncssh.Error):
        return True  # unreachable: let the caller report that
    if key is None:
        return True
    presented = key.export_public_key("openssh").decode().split()[:2]
    return bool(presented == (endpoint.ssh_host_key or "").split()[:2])


async def _converse(process: Any, command: str, timeout: float) -> str:
    """Log-in to prompt (``PROMPT_SECONDS``), then the command to the next prompt
    (``timeout``); the command's output with escape codes stripped."""
    try:
        await asyncio.wait_for(first_prompt(process), PROMPT_SECONDS)
    except TimeoutError:
        raise CliHung(f"no {PROMPT} prompt {PROMPT_SECONDS:.0f}s after login (a newline sent "
                      f"after the banner and after each of {NUDGES} silences)") from None
    process.stdin.write(command + "\n")
    try:
        return await asyncio.wait_for(_read_until_prompt(process), timeout)
    except TimeoutError:
        raise CliHung(f"no {PROMPT} prompt {timeout:.0f}s after the command") from None


class CliHung(Exception):
    """The CLI stopped answering (the message says where); not a network failure."""


async def first_prompt(process: Any) -> None:
    """The banner, then a newline at once (the prompt may wait for one [3P]; one too many
    only shows a bare prompt, which ``_read_until_prompt`` skips), then ``wait_for_prompt``.
    Waiting for ``BANNER_QUIET_SECONDS`` of silence before that newline cost every session
    a second (a Tomcat restart in the lab is a fraction of one)."""
    buf = ""
    while BANNER not in strip_escapes(buf):
        if strip_escapes(buf).rstrip().endswith(PROMPT):
            return
        try:
            chunk = await asyncio.wait_for(process.stdout.read(4096), NUDGE_SECONDS)
        except TimeoutError:
            break  # no banner: wait_for_prompt nudges
        if not chunk:
            raise EOFError("the CLI closed the session")
        buf += chunk
    if strip_escapes(buf).rstrip().endswith(PROMPT):
        return
    process.stdin.write("\n")
    await wait_for_prompt(process)


async def wait_for_prompt(process: Any) -> str:
    """Read the banner until the prompt; after ``NUDGE_SECONDS`` of silence send a newline
    (the CLI may need one to show its prompt [3P]), at most ``NUDGES`` times."""
    buf = ""
    nudges = 0
    while not strip_escapes(buf).rstrip().endswith(PROMPT):
        quiet = BANNER_QUIET_SECONDS if BANNER in strip_escapes(buf) else NUDGE_SECONDS
        try:
            chunk = await asyncio.wait_for(process.stdout.read(4096), quiet)
        except TimeoutError:
            if nudges < NUDGES:
                nudges += 1
                process.stdin.write("\n")
            continue
        if not chunk:
            raise EOFError("the CLI closed the session")
        buf += chunk
    return strip_escapes(buf)


async def _read_until_prompt(process: Any) -> str:
    """The command's output, up to the prompt that follows it. A bare prompt first (the
    answer to a nudge newline the CLI did not need) is skipped, not taken for the end."""
    buf = ""
    while True:
        chunk = await process.stdout.read(4096)
        if not chunk:
            raise EOFError("the CLI closed the session")
        buf += chunk
        text = _skip_bare_prompts(strip_escapes(buf)).rstrip()
        if text.endswith(PROMPT):
            return text[: -len(PROMPT)]


def _skip_bare_prompts(text: str) -> str:
    """``text`` without the empty prompts at its start (from newlines sent while waiting)."""
    rest = text.lstrip()
    while rest.startswith(PROMPT):
        rest = rest[len(PROMPT):].lstrip()
    return rest
