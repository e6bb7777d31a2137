"""Finding a role's store in a node's own API description (``drivers.raml``,
``drivers.expressway_roles``): the X15.5 client store has no public REST document."""

from __future__ import annotations

from reconciler.drivers.expressway_roles import discover
from reconciler.drivers.raml import find, resources

RAML = """#%RAML 1.0
title: Expressway provisioning API
/api:
  /provisioning:
    # comments and blank lines are skipped

    /certs:
      /server:
        get:
          description: the server certificate
        post:
        /generate_csr:
          get:
          post:
      /client:
        get:
        post:
        /generate_csr:
          get:
          post:
    /sysinfo:
      get:
"""


def test_resources_are_the_nested_paths_with_their_methods() -> None:
    found = resources(RAML)
    assert ("GET", "/api/provisioning/certs/client/generate_csr") in found
    assert ("GET", "/api/provisioning/sysinfo") in found
    assert ("POST", "/api/provisioning/sysinfo") not in found
    assert find(found, "POST", "/certs/client") == "/api/provisioning/certs/client"
    assert find(found, "DELETE", "/certs/client") is None


def test_a_role_is_automated_only_where_the_raml_lists_it() -> None:
    listed = discover(RAML, {"client": "/certs/client"})["client"]
    assert listed.capabilities == ("cert.install", "csr.generate")
    assert listed.read == "/api/provisioning/certs/client"
    without = RAML.split("      /client:")[0]
    absent = discover(without, {"client": "/certs/client"})["client"]
    assert absent.read is None and absent.capabilities == ()
    upload_only = without + "      /client:\n        get:\n        post:\n"
    store = discover(upload_only, {"client": "/certs/client"})["client"]
    assert store.read is not None and store.capabilities == ("cert.install",)
