"""Patching coexists with other libraries' wrapt wrappers, in either order, and undoes cleanly."""

from __future__ import annotations

import sys
import types
from typing import Any

import wrapt

from wattmeter._usage import Usage
from wattmeter.instrument._core import Endpoint, Request
from wattmeter.instrument._patching import patch_method
from wattmeter.testing import capture


class _Client:
    def create(self, model: str) -> dict[str, Any]:
        return {"model": model, "usage": 3}


class _Endpoint(Endpoint):
    provider = "toy"

    def request(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
        return Request("toy", kwargs["model"], "chat", kwargs)

    def usage(self, response: Any, req: Request) -> Usage:
        return Usage("toy", req.model, output_tokens=response["usage"])


def _module() -> types.ModuleType:
    mod = types.ModuleType("toy_sdk")
    mod._Client = _Client  # type: ignore[attr-defined]
    sys.modules["toy_sdk"] = mod
    return mod


def _foreign(calls: list[str]) -> Any:
    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        calls.append("foreign")
        return wrapped(*args, **kwargs)

    return wrapper


def test_foreign_wrapper_underneath_is_kept_and_metered() -> None:
    _module()
    original = _Client.__dict__["create"]
    calls: list[str] = []
    wrapt.wrap_function_wrapper(_Client, "create", _foreign(calls))
    foreign = _Client.__dict__["create"]
    try:
        patch = patch_method("toy_sdk", "_Client.create", _Endpoint())
        with capture() as fps:
            assert _Client().create(model="m") == {"model": "m", "usage": 3}
        assert calls == ["foreign"] and [f.output_tokens for f in fps] == [3]
        patch.undo()
        assert _Client.__dict__["create"] is foreign
    finally:
        _Client.create = original  # type: ignore[method-assign]


def test_foreign_wrapper_on_top_survives_our_undo() -> None:
    _module()
    original = _Client.__dict__["create"]
    calls: list[str] = []
    try:
        patch = patch_method("toy_sdk", "_Client.create", _Endpoint())
        wrapt.wrap_function_wrapper(_Client, "create", _foreign(calls))
        patch.undo()  # ours is underneath theirs: it becomes a pass-through
        with capture() as fps:
            assert _Client().create(model="m")["usage"] == 3
        assert calls == ["foreign"] and fps == []
    finally:
        _Client.create = original  # type: ignore[method-assign]


def test_patching_twice_is_refused() -> None:
    _module()
    original = _Client.__dict__["create"]
    try:
        patch_method("toy_sdk", "_Client.create", _Endpoint())
        try:
            patch_method("toy_sdk", "_Client.create", _Endpoint())
        except RuntimeError as exc:
            assert "already wrapped by wattmeter" in str(exc)
        else:  # pragma: no cover
            raise AssertionError("expected RuntimeError")
    finally:
        _Client.create = original  # type: ignore[method-assign]


def test_instrument_defers_libraries_not_yet_imported() -> None:
    import subprocess
    import textwrap

    code = textwrap.dedent("""
        import sys, wattmeter
        from wattmeter.instrument import instrumented
        handle = wattmeter.instrument()
        assert "openai" in handle.libraries, handle
        assert "openai" not in sys.modules and "litellm" not in sys.modules
        assert instrumented() == []
        import openai
        assert instrumented() == ["openai"], instrumented()
        wattmeter.uninstrument()
        assert instrumented() == []
        import anthropic  # disarmed: stays unpatched
        assert instrumented() == []
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.strip() == "ok", out.stderr
