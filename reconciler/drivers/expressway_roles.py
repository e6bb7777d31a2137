"""Expressway's certificate stores beyond the server one (X15.5's client store), found at
run time in the node's own API description (``drivers.raml``).

No public document names the client store's REST resources [U]. The node lists its API at
``GET /api/raml`` [C]; a role's resources are used only where that list has them, under
the resource the kind's role table names (``RoleProfile.api_resource``: the server store's
shape, ``.../certs/client`` and ``.../certs/client/generate_csr``; the lab's assumption,
documented as [U]). A role the node has but does not list is
reported unreadable, and its steps are manual (the kind's GUI path).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from reconciler.drivers.errors import BadResponse, NotFound
from reconciler.drivers.http import NodeHttp
from reconciler.drivers.pemtext import CSR_BLOCK, split_pems
from reconciler.drivers.raml import Raml, find, resources

RAML = ("GET", "/api/raml")  # [C] every Expressway describes its API here
CSRF = {"X-CSRF-Header": "certops"}


@dataclass
class RoleStore:
    """The resources of one role's store, as the node's RAML lists them (None: absent)."""

    read: str | None = None
    upload: str | None = None
    csr_read: str | None = None
    csr_generate: str | None = None

    @property
    def capabilities(self) -> tuple[str, ...]:
        return tuple(cap for cap, path in (("cert.install", self.upload),
                                           ("csr.generate", self.csr_generate)) if path)


def discover(raml: str | Raml, resources_of: Mapping[str, str]) -> dict[str, RoleStore]:
    """Each role's store, found by the resource its kind names (``role -> /certs/client``,
    the server store's shape) and its ``/generate_csr`` beneath it."""
    found = resources(raml)
    return {
        role: RoleStore(
            read=find(found, "GET", resource),
            upload=find(found, "POST", resource),
            csr_read=find(found, "GET", f"{resource}/generate_csr"),
            csr_generate=find(found, "POST", f"{resource}/generate_csr"),
        )
        for role, resource in resources_of.items() if resource
    }


@dataclass
class RoleStores:
    """The role stores of one node: discovered once per read, then used by the steps."""

    name: str
    http: NodeHttp
    resources_of: Mapping[str, str]  # role -> its resource (the kind's role table)
    stores: dict[str, RoleStore] = field(default_factory=dict)
    # The node's RAML as its driver read it (once, shared with the drain); None: read here.
    describe: Callable[[], Awaitable[Raml | None]] | None = None

    async def _description(self) -> str | Raml:
        if self.describe is not None:
            return await self.describe() or Raml()  # none: no role store listed
        return (await self.http.request(*RAML)).text

    async def discover(self, roles: Sequence[str]) -> None:
        if not roles:
            self.stores = {}
            return
        self.stores = discover(await self._description(),
                               {r: self.resources_of.get(r, "") for r in roles})

    def store(self, role: str) -> RoleStore:
        return self.stores.get(role) or RoleStore()

    async def _store(self, role: str) -> RoleStore:
        """The role's store, reading the node's RAML first if this session has not."""
        if role not in self.stores:
            self.stores.update(discover(await self._description(),
                                        {role: self.resources_of.get(role, "")}))
        return self.store(role)

    async def certificate(self, role: str) -> str | None:
        path = (await self._store(role)).read
        if path is None:
            return None
        pems = split_pems((await self.http.request("GET", path)).text)
        return pems[0] if pems else None

    async def csr_read(self, role: str) -> str | None:
        path = (await self._store(role)).csr_read
        if path is None:
            return None
        try:
            response = await self.http.request("GET", path)
        except NotFound:
            return None
        match = CSR_BLOCK.search(response.text)
        return match.group(0) + "\n" if match else None

    async def csr_generate(self, role: str, body: dict[str, object]) -> str:
        path = (await self._store(role)).csr_generate
        if path is None:
            raise BadResponse(self.name, f"the node's API lists no CSR for its {role} "
                              "certificate: do it by hand", method="POST", path="/api/raml")
        await self.http.request("POST", path, json=body, headers=CSRF, retry=False)
        pem = await self.csr_read(role)
        if pem is None:
            raise BadResponse(self.name, f"the node generated no readable {role} CSR",
                              method="GET", path=path)
        return pem

    async def install(self, role: str, leaf_pem: str) -> None:
        path = (await self._store(role)).upload
        if path is None:
            raise BadResponse(self.name, f"the node's API lists no upload of its {role} "
                              "certificate: do it by hand", method="POST", path="/api/raml")
        leaf = (f"{role}.pem", leaf_pem.encode(), "application/x-pem-file")
        await self.http.request("POST", path, headers=CSRF, retry=False, files={"file": leaf})
