"""Electricity Maps' carbon-intensity API, simulated: ``GET /v3/carbon-intensity/latest``.

Shaped like Electricity Maps' published v3 API: the token goes in the ``auth-token``
header, the zone in ``?zone=``. The token steers the answer so tests can exercise every
path: a missing token or one starting with ``invalid`` gets 401; ``error-500`` (any status)
gets that status; ``slow-2.5`` answers after 2.5 seconds. Intensities are deterministic:
`INTENSITY` for a few zones, else `intensity_of(zone)`.
"""

from __future__ import annotations

import time

from ._server import Response, SimRequest, Simulator, json_response

__all__ = ["INTENSITY", "intensity_of", "register"]

#: Fixed answers (gCO2e/kWh) for zones tests like to name.
INTENSITY = {"FR": 21.0, "DE": 312.0, "US-MIDA-PJM": 401.0, "SE-SE3": 9.0, "GB": 150.0}


def intensity_of(zone: str) -> float:
    """The simulated live intensity of `zone` (deterministic)."""
    if zone in INTENSITY:
        return INTENSITY[zone]
    return float(100 + sum(zone.encode()) % 500)


def _error(status: int, message: str) -> Response:
    return json_response({"status": "error", "message": message}, status)


def register(sim: Simulator) -> None:
    """Add the Electricity Maps routes to `sim`."""

    @sim.route("GET", r"/v3/carbon-intensity/latest")
    def latest(req: SimRequest) -> Response:
        token = req.headers.get("auth-token", "")
        if not token or token.startswith("invalid"):
            return _error(401, "Authentication failed: missing or invalid auth-token")
        if token.startswith("error-"):
            try:
                status = int(token.split("-", 1)[1][:3])
            except ValueError:
                status = 500
            return _error(status, f"simulated error {status}")
        if token.startswith("slow-"):
            try:
                time.sleep(float(token.split("-", 1)[1]))
            except ValueError:
                time.sleep(1.0)
        zone = (req.query.get("zone") or [""])[0]
        if not zone:
            return _error(400, "Missing zone parameter")
        now = time.strftime("%Y-%m-%dT%H:00:00.000Z", time.gmtime())
        return json_response({
            "zone": zone,
            "carbonIntensity": intensity_of(zone),
            "datetime": now,
            "updatedAt": now,
            "createdAt": now,
            "emissionFactorType": "lifecycle",
            "isEstimated": True,
            "estimationMethod": "TIME_SLICER_AVERAGE",
        })
