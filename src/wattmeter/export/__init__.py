"""Exporters: OpenTelemetry spans and metrics, Prometheus metrics."""
