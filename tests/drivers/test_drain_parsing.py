"""Reading what a node says about draining: its RAML (is there a maintenance-mode
resource?) and its status XML (how many calls?), against hostile and garbage answers.

Pure parsing (``drivers.raml``, ``drivers.expressway_status``): no node needed. The shapes
are the public ones: py-expressway's status.xml fixture (namespace, ``item`` attributes)
and centreon-plugins' call types [3P]."""

from __future__ import annotations

import re

import pytest

from reconciler.drivers.expressway import MAINTENANCE_SEGMENT
from reconciler.drivers.expressway_status import ShapeError, active_calls, registrations
from reconciler.drivers.raml import MAX_BYTES, RamlError, parse_raml

RAML = b"""#%RAML 1.0
title: Expressway provisioning API
baseUri: https://{host}/api
/provisioning:
  description: |
    An example inside a block scalar is text, not a resource:
    /common:
      /maintenancemode:
        put:
  /sysinfo:
    get:
  /common:
    /maintenancemode:
      get:
      put:
        body:
          application/json:
            example: '{"MaintenanceMode": "On"}'
/other:
  get:
"""


def test_raml_lists_nested_resources_and_methods() -> None:
    raml = parse_raml(RAML)
    assert raml.base_path == "/api"
    assert raml.resources["/api/provisioning/sysinfo"] == {"get"}
    assert raml.find(MAINTENANCE_SEGMENT) == [
        ("/api/provisioning/common/maintenancemode", frozenset({"get", "put"}))]
    assert "/api/other" in raml.resources


def test_a_resource_named_only_in_a_description_is_not_one() -> None:
    text = RAML.replace(b"  /common:\n    /maintenancemode:\n      get:\n      put:\n", b"")
    assert parse_raml(text).find(MAINTENANCE_SEGMENT) == []


@pytest.mark.parametrize("data, why", [
    (b"<html>Login</html>", "does not start with '#%RAML'"),
    (b"\xff\xfe#%RAML", "not UTF-8"),
    (b"#%RAML 1.0\n" + b"#" * MAX_BYTES, "over"),
    (b"#%RAML 1.0\n/" + b"a" * 600 + b":\n", "over 512 characters"),
])
def test_garbage_raml_is_refused_with_a_reason(data: bytes, why: str) -> None:
    with pytest.raises(RamlError, match=re.escape(why)):
        parse_raml(data)


def test_raml_tags_and_anchors_are_only_text() -> None:
    """YAML features a loader would act on (tags, anchors, includes) are never acted on."""
    text = (b"#%RAML 1.0\n!!python/object/apply:os.system ['touch /tmp/x']\n"
            b"x: &a [*a, *a]\n/m: !include /etc/passwd\n/maintenance-mode:\n  get:\n  post:\n")
    assert parse_raml(text).find(MAINTENANCE_SEGMENT) == [
        ("/maintenance-mode", frozenset({"get", "post"}))]


def status(calls: str, regs: str = "0") -> bytes:
    kinds = "".join(f'<{k} item="1"><Current item="1">{n}</Current><Max item="1">9</Max>'
                    f'<Total item="1">9</Total></{k}>'
                    for k, n in (("Traversal", calls), ("NonTraversal", "2")))
    return (f'<Status xmlns="http://www.tandberg.no/XML/CUIL/1.0" version="X8.11.3">'
            f'<ResourceUsage item="1"><Calls item="1">{kinds}</Calls>'
            f'<Registrations item="1"><Current item="1">{regs}</Current></Registrations>'
            f'</ResourceUsage><Calls item="1"/></Status>').encode()


def test_calls_sum_every_type_and_registrations_read() -> None:
    assert active_calls(status("3")) == 5
    assert registrations(status("0", regs="7")) == 7
    idle = b'<Status><ResourceUsage><Calls/></ResourceUsage></Status>'
    assert active_calls(idle) == 0


@pytest.mark.parametrize("data, why", [
    (b'{"calls": 3}', "not XML"),
    (b"<Status><ResourceUsage/></Status>", "Status/ResourceUsage has no <Calls>"),
    (b"<Other/>", "root element is <Other>"),
    (status("many"), "Traversal/Current is 'many', not a count"),
    (b"<XPathError><Reason>No match</Reason></XPathError>", "XPathError: No match"),
    (b'<!DOCTYPE x [<!ENTITY a "aaaa">]><Status/>', "DTD or entities"),
])
def test_an_unknown_calls_shape_says_what_was_seen(data: bytes, why: str) -> None:
    with pytest.raises(ShapeError, match=re.escape(why)):
        active_calls(data)
