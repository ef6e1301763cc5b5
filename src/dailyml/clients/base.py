"""A small synchronous HTTP client base: timeouts, admin token, errors as exceptions with the
service's own message (``{"error", "message", "detail"}``), never a raw traceback."""

from __future__ import annotations

from typing import Any

import httpx

from dailyml.observability.context import HEADER, current_request_id, new_request_id


class ServiceError(Exception):
    """The service answered with an error status. ``message`` is fit to show a user."""

    def __init__(self, status: int, code: str, message: str, detail: Any = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.detail = status, code, message, detail


class ServiceUnavailable(ServiceError):
    """The service could not be reached (down, refused, timed out)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(0, "unavailable", f"cannot reach {url}: {reason}")


class ServiceClient:
    """Base of the per-service clients. One ``httpx.Client`` per instance; safe across threads."""

    def __init__(
        self,
        base_url: str,
        *,
        admin_token: str | None = None,
        read_token: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        # The read token (DAILYML_READ_TOKEN) is what the UIs send; the admin token also admits reads.
        token = admin_token or read_token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout, transport=transport)

    def close(self) -> None:
        """Close the underlying HTTP connections."""
        self._http.close()

    def __enter__(self) -> ServiceClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request; the decoded JSON body, or ServiceError / ServiceUnavailable.

        Sends ``X-Request-ID``: the id of the request or run in progress (so one run can be
        followed through every service's log), or a fresh one per call outside of any.
        """
        kwargs["headers"] = {HEADER: current_request_id() or new_request_id(), **kwargs.get("headers", {})}
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ServiceUnavailable(self.base_url, type(exc).__name__) from exc
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {}
            if not isinstance(body, dict):
                body = {}
            raise ServiceError(
                response.status_code,
                str(body.get("error", "http_error")),
                str(body.get("message") or response.reason_phrase),
                body.get("detail"),
            )
        return response.json() if response.content else None

    def get(self, path: str, **params: Any) -> Any:
        """``GET path`` with the non-None ``params`` as the query; the decoded JSON body."""
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, json: Any = None, **params: Any) -> Any:
        """``POST path`` with ``json`` as body and the non-None ``params`` as query; the decoded JSON body."""
        return self.request("POST", path, json=json, params={k: v for k, v in params.items() if v is not None})

    def ready(self) -> bool:
        """Whether the service's /readyz says it is ready."""
        try:
            self.get("/readyz")
            return True
        except ServiceError:
            return False
