"""The server app ``mlops-kit ui`` runs: MLflow's own, whose page opens in the Model training view.

MLflow 3.17's UI shows every experiment in the view its GenAI / Model training switch holds: the
switch's state lives in the browser (``localStorage["mlflow.workflowType_v1"]``, GenAI when unset),
and with the switch enabled the UI no longer reads an experiment's ``mlflow.experimentKind`` tag.
So a click on an experiment opened its GenAI "Overview" (traces, tokens) instead of its runs. This
app is MLflow's FastAPI app (``mlflow.server.fastapi_app:app``) with one script added to its page:
where the browser holds no choice yet, it chooses Model training; a choice the user made with the
switch is kept. ``mlops-kit ui`` runs it through ``mlflow server --app-name mlops-kit`` (the
``mlflow.app`` entry point in pyproject.toml), so everything else is MLflow's server unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]
]

#: Where MLflow's UI keeps the switch (its ``useLocalStorage`` key with version 1) and the value.
WORKFLOW_KEY = "mlflow.workflowType_v1"
MODEL_TRAINING = '"machine_learning"'  # JSON text, as the UI stores it

CHOOSE_MODEL_TRAINING = (
    f"<script>try{{if(localStorage.getItem('{WORKFLOW_KEY}')===null)"
    f"localStorage.setItem('{WORKFLOW_KEY}','{MODEL_TRAINING}')}}catch(e){{}}</script>"
).encode()


class ModelTrainingFirst:
    """ASGI middleware: MLflow's page (``GET /``) with ``CHOOSE_MODEL_TRAINING`` first in its head."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") != "GET" or scope.get("path") != "/":
            await self.app(scope, receive, send)
            return
        start: Message = {}
        chunks: list[bytes] = []

        async def edited(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            headers, body = _with_script(start, b"".join(chunks))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, edited)


def _with_script(start: Message, body: bytes) -> tuple[list[tuple[bytes, bytes]], bytes]:
    headers = [(bytes(k), bytes(v)) for k, v in start.get("headers", [])]
    named = {k.lower(): v for k, v in headers}
    is_page = named.get(b"content-type", b"").startswith(b"text/html") and b"content-encoding" not in named
    if start.get("status") != 200 or not is_page or b"<head>" not in body:
        return headers, body
    body = body.replace(b"<head>", b"<head>" + CHOOSE_MODEL_TRAINING, 1)
    headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    return [*headers, (b"content-length", str(len(body)).encode())], body


def _mlflow_app() -> ASGIApp:
    from mlflow.server.fastapi_app import app as mlflow_app

    return mlflow_app  # type: ignore[return-value]


app = ModelTrainingFirst(_mlflow_app())
