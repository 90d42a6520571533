"""Structure of deploy/docker-compose.yml and deploy/Dockerfile (Docker cannot run here):
services, exact image tags, loopback-only ports, health checks, depends_on conditions,
environment, and commands that the CLI really has."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "deploy" / "docker-compose.yml"
DOCKERFILE = REPO / "deploy" / "Dockerfile"
QUEUES = ("poll", "fetch", "enrich", "index", "alerts")
EXACT_TAG = re.compile(r"^[\w./-]+:\d+\.\d+\.\d+([-.][\w.-]+)?$")
ONE_SHOT = {"init", "kibana-setup"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def test_services_present(services):
    expected = {"elasticsearch", "kibana", "redis", "beat", "flower", "init", "kibana-setup"} | {f"worker-{q}" for q in QUEUES}
    assert expected <= set(services)


def test_images_pinned_to_exact_versions(services):
    images = {name: svc["image"] for name, svc in services.items()}
    for name, image in images.items():
        assert "latest" not in image, name
        assert EXACT_TAG.match(image), f"{name}: {image} is not pinned to an exact x.y.z tag"
    es_version = images["elasticsearch"].rsplit(":", 1)[1]
    assert images["elasticsearch"].startswith("docker.elastic.co/elasticsearch/elasticsearch:8.")
    assert images["kibana"] == f"docker.elastic.co/kibana/kibana:{es_version}"  # Kibana must match ES exactly
    assert images["redis"].startswith("redis:7.")
    assert images["flower"] == images["beat"], "Flower must run from our image against workers.app"


def test_dockerfile_base_pinned_and_unprivileged():
    text = DOCKERFILE.read_text()
    (base,) = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert base.startswith("python:3.11.") and "-slim" in base and EXACT_TAG.match(base)
    assert re.search(r"^USER\s+(?!root)\w+", text, re.M)
    assert "pip install ." in text and "--require-hashes" in text
    for path in ("pipeline", "workers", "wirewatch", "deploy"):
        assert re.search(rf"^COPY {path} ", text, re.M), path
    for name, svc in yaml.safe_load(COMPOSE.read_text())["services"].items():
        if "build" in svc:
            assert svc["build"]["dockerfile"] == "deploy/Dockerfile" and svc["build"]["context"] == ".."


def test_ports_bound_to_loopback(services):
    published = {}
    for name, svc in services.items():
        for port in svc.get("ports", []):
            host_ip, host_port, container_port = str(port).split(":")
            assert host_ip == "127.0.0.1", f"{name} publishes {port} on every interface"
            published[name] = (int(host_port), int(container_port))
    assert published == {"elasticsearch": (9200, 9200), "kibana": (5601, 5601), "redis": (6379, 6379), "flower": (5555, 5555)}


def test_every_long_running_service_has_a_health_check(services):
    for name, svc in services.items():
        hc = svc.get("healthcheck")
        assert hc is not None, name
        if name in ONE_SHOT:
            assert hc.get("disable") is True and svc["restart"] == "no"
            continue
        assert hc["test"][0] in ("CMD", "CMD-SHELL") and len(hc["test"]) >= 2, name
        for key in ("interval", "timeout", "retries"):
            assert key in hc, (name, key)
    for q in QUEUES:
        assert f"-d {q}@$$HOSTNAME" in services[f"worker-{q}"]["healthcheck"]["test"][1]


def test_depends_on_use_conditions(services):
    allowed = {"service_healthy", "service_completed_successfully", "service_started"}
    for name, svc in services.items():
        deps = svc.get("depends_on", {})
        assert isinstance(deps, dict), f"{name}: depends_on must be a mapping with conditions"
        for dep, cond in deps.items():
            assert dep in services, (name, dep)
            assert cond["condition"] in allowed, (name, dep)
            if cond["condition"] == "service_healthy":
                assert not services[dep]["healthcheck"].get("disable"), (name, dep)
    for name in [f"worker-{q}" for q in QUEUES] + ["beat"]:
        deps = services[name]["depends_on"]
        assert deps["redis"]["condition"] == "service_healthy"
        assert deps["elasticsearch"]["condition"] == "service_healthy"
        assert deps["init"]["condition"] == "service_completed_successfully"
    assert services["kibana"]["depends_on"]["elasticsearch"]["condition"] == "service_healthy"
    assert services["kibana-setup"]["depends_on"]["kibana"]["condition"] == "service_healthy"


def test_environment_and_settings_names(services):
    from pipeline.settings import Settings

    known = {f"WIREWATCH_{n.upper()}" for n in Settings.model_fields}
    for name, svc in services.items():
        if "build" not in svc:
            continue
        env = svc["environment"]
        assert env["WIREWATCH_SEARCH_ENGINE"] == "elasticsearch"
        assert env["WIREWATCH_SEARCH_URL"] == "http://elasticsearch:9200"
        assert env["WIREWATCH_REDIS_URL"] == "redis://redis:6379/0"
        unknown = {k for k in env if k.startswith("WIREWATCH_")} - known
        assert not unknown, f"{name}: {unknown} are not settings"
        # secrets come from the outside, never written into the file
        for key in ("WIREWATCH_WEBHOOK_SECRET", "WIREWATCH_SEARCH_PASSWORD"):
            assert str(env[key]).startswith("${"), key
    es = services["elasticsearch"]["environment"]
    assert es["discovery.type"] == "single-node"
    assert es["xpack.security.enabled"] == "false"  # documented in the file's header
    assert "SECURITY" in COMPOSE.read_text()
    assert services["redis"]["command"][:3] == ["redis-server", "--appendonly", "yes"]


def test_volumes(compose, services):
    assert set(compose["volumes"]) == {"es-data", "redis-data", "wirewatch-state"}
    assert "es-data:/usr/share/elasticsearch/data" in services["elasticsearch"]["volumes"]
    assert "redis-data:/data" in services["redis"]["volumes"]
    for q in QUEUES:
        assert "wirewatch-state:/var/lib/wirewatch" in services[f"worker-{q}"]["volumes"]


def test_commands_exist_in_cli(services):
    """Every wirewatch command the compose file runs is a real CLI command with real options."""
    import typer.main

    from wirewatch.cli import app

    group = typer.main.get_command(app)
    queues_seen = set()
    for name, svc in services.items():
        if "build" not in svc:
            continue
        argv = list(svc["command"])
        cmd = group
        while argv and hasattr(cmd, "commands") and argv[0] in cmd.commands:
            cmd = cmd.commands[argv.pop(0)]
        assert not hasattr(cmd, "commands"), f"{name}: {svc['command']} is not a command"
        opts = {o for p in cmd.params for o in getattr(p, "opts", [])}
        for arg in argv:
            if arg.startswith("--"):
                assert arg in opts, f"{name}: {arg} is not an option of {svc['command'][0]}"
        if svc["command"][0] == "worker":
            queues_seen.add(svc["command"][svc["command"].index("--queues") + 1])
    assert queues_seen == set(QUEUES)
