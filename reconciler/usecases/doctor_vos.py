"""``certops doctor`` on VOS nodes (Unified CM and the kinds that share its APIs): the two
accounts beyond the REST API, and a verdict per capability from what answered.

Which transport carries the certificates (``transport``: the REST API, or the platform CLI
where the REST API answers 404 or ``connection.transport`` says so). The OS administrator
logs in over SSH (the pinned host key only) and runs ``show version active``; on a CLI node
also the read-only certificate commands (``cli commands``, one session); the application
user asks SOAP ``soapGetServiceStatus`` (a POST that only reads: the one evidenced read of
ControlCenterServices) whether the node lists every service the kind restarts (the
driver's own check, ``CucmDriver.check_known``). Where SOAP is not used
(``VosCliDriver``) that list comes from ``utils service list`` over SSH. Nothing is written.
"""

from __future__ import annotations

import asyncio

from reconciler.drivers import AuthError, ConfigError, DriverError, Endpoint
from reconciler.drivers.cucm import CucmDriver, UnknownServices
from reconciler.kinds import kind_of
from reconciler.model.doctor import Check
from reconciler.usecases.session import Session

# What passed, by name ("rest.auth", "rest.reads", "ssh.login" -> the version, "soap.auth",
# "soap.services", "ssh.services"): what the verdicts are made of.
Facts = dict[str, str]
FACT_TEXT = {
    "rest.auth": "REST authentication", "rest.reads": "the REST reads",
    "ssh.login": "the SSH login", "soap.services": "the SOAP service list",
    "ssh.services": "the SSH service list", "cli.commands": "the CLI certificate commands",
}
REST_NEEDS = ("rest.auth", "rest.reads")
CLI_NEEDS = ("ssh.login", "cli.commands")  # a node without the REST API (12.5)
# Per route of service restarts: what ``service.restart`` needs. On Unified CM Cisco Tomcat
# restarts only over the SSH CLI, the rest over SOAP.
RESTART_NEEDS = {"rest": REST_NEEDS, "soap": ("soap.services", "ssh.login"),
                 "ssh": ("ssh.login", "ssh.services")}


def os_account(ep: Endpoint) -> str:
    """The heading of the administrator's checks, as the kind names the account and its
    APIs (VOS: the OS administrator on the REST API and the SSH CLI)."""
    kind = kind_of(ep.type)
    return f"{kind.admin_role} {ep.username}: {kind.admin_apis}"


def transport_check(ep: Endpoint, facts: Facts) -> Check:
    """Which transport reads and changes the node's certificates, and why."""
    why = facts.get("transport.cli")
    if why is None:
        # A declared CLI (ssh_port or ssh_host_key) also reads the pending CSRs and the
        # version, which the REST API does not show (drivers.cucm._cli_pending).
        declared = ep.ssh_port is not None or ep.ssh_host_key is not None
        csrs = ("; pending CSRs and the version over the declared platform CLI" if declared
                else "; pending CSRs not readable (csr.pending_unknown): declare "
                "connection.ssh_port or ssh_host_key to read them over the platform CLI")
        return Check(ep.name, "transport", "ok", "Certificate Management REST API (release "
                     f"14+){csrs}", account=os_account(ep))
    return Check(ep.name, "transport", "ok", f"the platform CLI over SSH ({why}: no REST API "
                 "used; release 12.5 has none)", account=os_account(ep))


def app_account(ep: Endpoint) -> str:
    return f"application user {ep.app_username or '(not set)'}: SOAP"


def restarted_services(ep: Endpoint) -> tuple[str, ...]:
    """Every service the kind may restart on this node (trust changes, identity install)."""
    kind = kind_of(ep.type)
    services = set(kind.services_after_trust(kind.stores)) | set(kind.after_install.services)
    return kind.order_services(services)


async def ssh_checks(session: Session, driver: CucmDriver, ep: Endpoint,
                     facts: Facts) -> list[Check]:
    """The host key to pin, the OS administrator's login, and (no SOAP) the service list."""
    account = os_account(ep)
    if session.the_factory().cli_for(ep.name) is not None:
        out = [Check(ep.name, "ssh host key", "info",
                     "the CLI is replaced in this run: not checked", account=account)]
    else:
        out = [await host_key(ep)]
        if out[0].status != "ok":
            return [*out, Check(ep.name, "ssh login", "info", "not tried: certops logs in "
                                "only where the host key is pinned", account=account)]
    out.append(await _login(driver, ep, facts))
    if "ssh.login" in facts and "transport.cli" in facts:
        out.append(await _cli_commands(driver, ep, facts))
    if "ssh.login" in facts and driver.SERVICE_LIST[0] == "SSH":
        out.extend(await _services(driver, ep, facts, "ssh"))
    return out


async def host_key(ep: Endpoint) -> Check:
    """The SSH host key the node presents, and whether the node file pins it."""
    import asyncssh

    account, port = os_account(ep), ep.ssh_port or 22
    try:
        key = await asyncio.wait_for(asyncssh.get_server_host_key(ep.host, port), 10)
    except (OSError, TimeoutError, asyncssh.Error) as exc:
        return Check(ep.name, "ssh host key", "fail", f"SSH on port {port}: {exc}",
                     "set connection.ssh_port, or allow SSH from here", account)
    if key is None:
        return Check(ep.name, "ssh host key", "fail", "the SSH server showed no host key",
                     "", account)
    line = " ".join(key.export_public_key("openssh").decode().split()[:2])
    fingerprint = key.get_fingerprint("sha256")
    if ep.ssh_host_key and ep.ssh_host_key.split()[:2] == line.split():
        return Check(ep.name, "ssh host key", "ok", f"pinned ({fingerprint})", account=account)
    what = "does not match the pinned key" if ep.ssh_host_key else "is not pinned"
    return Check(ep.name, "ssh host key", "fail", f"the host key {fingerprint} {what}",
                 f"check it on the console (show ssh host key), then set "
                 f"connection.ssh_host_key: '{line}'", account)


async def _login(driver: CucmDriver, ep: Endpoint, facts: Facts) -> Check:
    """Log in as the OS administrator and run ``show version active`` (reads only)."""
    account = os_account(ep)
    try:
        version = await driver.cli_version()
    except AuthError:
        return Check(ep.name, "ssh login", "fail", f"the CLI refused {ep.username}'s login",
                     f"check the password of the OS administrator {ep.username} (the "
                     "variables the node file's credentials name); the SSH CLI takes the OS "
                     "administrator, not the application user", account)
    except (ConfigError, DriverError) as exc:
        hint = getattr(exc, "hint", None) or "log in to the node's CLI by hand and look"
        return Check(ep.name, "ssh login", "fail", str(exc), hint, account)
    facts["ssh.login"] = version
    return Check(ep.name, "ssh login", "ok",
                 f"{ep.username} logged in; show version active: {version}", account=account)


async def _cli_commands(driver: CucmDriver, ep: Endpoint, facts: Facts) -> Check:
    """The read-only certificate commands certops needs, in one session (nothing changes;
    ``set cli pagination off`` lasts for the session only [C])."""
    account = os_account(ep)
    try:
        lines = await driver.cli_commands()
    except DriverError as exc:
        hint = exc.hint or "run the command by hand at the admin: prompt and report its output"
        return Check(ep.name, "cli commands", "fail", str(exc), hint, account)
    facts["cli.commands"] = ""
    return Check(ep.name, "cli commands", "ok", "; ".join(lines), account=account)


async def soap_checks(driver: CucmDriver, ep: Endpoint, facts: Facts, *,
                      trusted: bool) -> list[Check]:
    """The application user's SOAP authentication and the node's service list."""
    if driver.SERVICE_LIST[0] != "SOAP":
        return []  # services restart over the SSH CLI (checked there)
    account = app_account(ep)
    if not trusted:
        return [Check(ep.name, "authentication (SOAP)", "info", "not tried: certops does not "
                      "trust the API certificate (see tls)", account=account)]
    if not ep.app_username or not ep.app_password:
        return [Check(ep.name, "authentication (SOAP)", "fail", "no application user: SOAP "
                      "service control does not take the OS administrator",
                      "set app_credentials in the node file to the environment variables "
                      "holding the application user (CCM administrator)", account)]
    return await _services(driver, ep, facts, "soap")


async def _services(driver: CucmDriver, ep: Endpoint, facts: Facts,
                    via: str) -> list[Check]:
    """The driver's own service-list check for the services the kind restarts."""
    wanted = restarted_services(ep)
    account = app_account(ep) if via == "soap" else os_account(ep)
    name = "services (SOAP soapGetServiceStatus)" if via == "soap" else "services (SSH)"
    auth = [Check(ep.name, "authentication (SOAP)", "ok", f"{ep.app_username} is accepted",
                  account=account)] if via == "soap" else []
    try:
        known = await driver.check_known(wanted)
    except AuthError:
        return [Check(ep.name, "authentication (SOAP)", "fail", f"SOAP refused "
                      f"{ep.app_username}", _app_fix(ep), account)]
    except UnknownServices as exc:
        return [*auth, Check(ep.name, name, "fail", exc.detail, exc.hint or "", account)]
    except DriverError as exc:
        return [Check(ep.name, name, "fail", str(exc), exc.hint or "", account)]
    facts[f"{via}.services"] = ""
    listed = ", ".join(f"{s} ({known[s]})" for s in wanted)
    return [*auth, Check(ep.name, name, "ok", f"lists the {len(wanted)} services certops "
                         f"restarts: {listed}", account=account)]


def _app_fix(ep: Endpoint) -> str:
    return (f"check the password of the application user {ep.app_username} (the variables "
            "the node file's app_credentials name); SOAP service control takes the "
            "application user (CCM administrator), not the OS administrator")


def verdict(ep: Endpoint, cap: str, on: bool, facts: Facts, route: str) -> Check:
    """Ready when the capability is on and every check it depends on passed; never proven
    (doctor does not write)."""
    if not on:
        return Check(ep.name, f"capability {cap}", "info", "off on this node (not evidenced, "
                     "or no API): planned as a manual step with the GUI path or CLI command")
    over = CLI_NEEDS if "transport.cli" in facts else REST_NEEDS
    needs = RESTART_NEEDS[route] if cap == "service.restart" else over
    missing = [FACT_TEXT[n] for n in needs if n not in facts]
    if missing:
        return Check(ep.name, f"capability {cap}", "info",
                     f"NOT READY: {', '.join(missing)} did not pass (fix the problems above)")
    return Check(ep.name, f"capability {cap}", "ok",
                 f"ready: {', '.join(FACT_TEXT[n] for n in needs)} passed (doctor never "
                 "writes)")
