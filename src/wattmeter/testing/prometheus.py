"""A real Prometheus server for tests and offline examples: scrapes loopback targets on a
free port, keeps its data in a temporary directory removed on `stop()`.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

__all__ = ["BINARY", "PrometheusProcess", "available"]

BINARY = "/usr/bin/prometheus"


def available(binary: str = BINARY) -> bool:
    """Whether the Prometheus binary is installed (Debian's package puts it in /usr/bin)."""
    return Path(binary).exists() or shutil.which("prometheus") is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrometheusProcess:
    """``/usr/bin/prometheus`` scraping `targets` (``{job: [(host:port, metrics_path)]}``)
    every `scrape_interval`; a context manager."""

    def __init__(self, targets: dict[str, list[tuple[str, str]]],
                 scrape_interval: str = "250ms", binary: str = BINARY) -> None:
        self.targets = targets
        self.scrape_interval = scrape_interval
        self.binary = binary if Path(binary).exists() else (shutil.which("prometheus") or binary)
        self.port = 0
        self._dir: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 30.0) -> PrometheusProcess:
        self._dir = tempfile.mkdtemp(prefix="wattmeter-prometheus-")
        config = Path(self._dir) / "prometheus.yml"
        jobs = []
        for job, pairs in self.targets.items():
            for i, (target, path) in enumerate(pairs):
                jobs.append({"job_name": f"{job}-{i}", "metrics_path": path,
                             "static_configs": [{"targets": [target]}]})
        config.write_text(json.dumps({  # JSON is YAML
            "global": {"scrape_interval": self.scrape_interval,
                       "scrape_timeout": self.scrape_interval},
            "scrape_configs": jobs}))
        self.port = _free_port()
        self._proc = subprocess.Popen(
            [self.binary, f"--config.file={config}",
             f"--storage.tsdb.path={Path(self._dir) / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=error"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                try:
                    with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as resp:
                        if resp.status == 200:
                            return self
                except OSError:
                    pass
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"Prometheus ({self.binary}) did not become ready")
                time.sleep(0.1)
        except BaseException:  # not ready, or interrupted while waiting: leave nothing
            self.stop()
            raise

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The result of an instant query now."""
        url = f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
        with urllib.request.urlopen(url, timeout=10) as resp:
            body = json.loads(resp.read())
        return list(body["data"]["result"])

    def wait_for(self, expr: str, timeout_s: float = 30.0) -> list[dict[str, Any]]:
        """Poll until `expr` has a non-empty result (RuntimeError past `timeout_s`)."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                result = self.query(expr)
                if result:
                    return result
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"Prometheus never answered {expr!r}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> PrometheusProcess:
        return self.start() if self._proc is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()
