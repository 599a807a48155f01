"""The authenticated caller, as every feature sees it: roles, permissions and trust scope."""

from __future__ import annotations

from dataclasses import dataclass

from gmc.audit.service import Actor
from gmc.common.errors import PermissionDenied


@dataclass(frozen=True)
class Principal:
    """Who is calling, what they may do, and which trusts' data they may see."""

    user_id: int
    username: str
    full_name: str
    roles: frozenset[str]
    permissions: frozenset[str]
    centre_id: int | None
    #: Trust ids whose data the caller may see; None means every trust (national staff).
    trust_scope: frozenset[int] | None
    #: "session" for a browser, "token" for the API.
    auth_method: str = "session"
    token_id: int | None = None
    #: Works for every trust of the centre (may change the centre's resources: freezers, shipments, QC rules).
    centre_wide: bool = False

    @property
    def actor(self) -> Actor:
        """This caller as an audit actor (id 0 is no user: the system or the command line's OS operator)."""
        return Actor(user_id=self.user_id or None, name=self.username)

    def has(self, permission: str) -> bool:
        """True when the caller holds the permission."""
        return str(permission) in self.permissions

    def require(self, permission: str) -> None:
        """Raises PermissionDenied unless the caller holds the permission."""
        if not self.has(permission):
            raise PermissionDenied(f"your role does not allow {permission}")

    def can_see_trust(self, trust_id: int | None) -> bool:
        """True when data of this trust is within the caller's scope."""
        return self.trust_scope is None or (trust_id is not None and trust_id in self.trust_scope)

    def require_trust(self, trust_id: int | None) -> None:
        """Raises PermissionDenied when the trust is outside the caller's scope."""
        if not self.can_see_trust(trust_id):
            raise PermissionDenied("that record belongs to a trust outside your scope")
