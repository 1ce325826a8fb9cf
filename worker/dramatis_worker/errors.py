"""The one exception type the HTTP layer turns into an OpenAI-shaped error body."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ApiError(Exception):
    """An error with an HTTP status; rendered as {"error": {"message", "type", ...}}."""

    status: int
    message: str
    type: str = "invalid_request_error"
    param: str | None = None
    code: str | None = None

    def __str__(self) -> str:  # so logs and tracebacks show the message
        return self.message

    def body(self) -> dict:
        err: dict = {"message": self.message, "type": self.type}
        if self.param is not None:
            err["param"] = self.param
        if self.code is not None:
            err["code"] = self.code
        return {"error": err}


def bad_request(message: str, param: str | None = None) -> ApiError:
    return ApiError(400, message, "invalid_request_error", param)


def unprocessable(message: str, param: str | None = None) -> ApiError:
    # 422: the JSON is well formed and typed, but the content cannot be processed
    # (e.g. a prompt that encodes to zero tokens, a chat with no assistant tokens).
    return ApiError(422, message, "unprocessable_error", param)


def model_not_found(name: str) -> ApiError:
    return ApiError(404, f"The model `{name}` does not exist", "model_not_found", "model", "model_not_found")
