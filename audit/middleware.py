"""Ties the changes a request makes to its user and address."""

from auditlog.cid import set_cid
from auditlog.middleware import AuditlogMiddleware

from audit.context import audit_context
from portfolio.client_address import client_address


class AuditMiddleware(AuditlogMiddleware):
    """auditlog's middleware, with the client address the login lockout uses.

    auditlog's own takes the first ``X-Forwarded-For`` entry, which any client can write;
    ``client_address`` trusts it only as far as ``TRUSTED_PROXY_COUNT`` says.
    """

    def __call__(self, request):
        set_cid(request)
        with audit_context(
            actor=self._get_actor(request),
            remote_addr=client_address(request),
            source="web",
            method=request.method,
            path=request.path,
        ):
            return self.get_response(request)
