"""The Kubernetes base (deploy/kubernetes): valid offline, the same processes as compose, every production
setting supplied (secrets by reference only), non-root with a read-only root filesystem, probes on real routes.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.urls import Resolver404, resolve

ROOT = Path(__file__).resolve().parent.parent
BASE = ROOT / "deploy/kubernetes"
KUSTOMIZATION = yaml.safe_load((BASE / "kustomization.yaml").read_text())
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SECRET_NAME = "manas360-secrets"


def _resources() -> dict[str, dict]:
    documents = {}
    for name in KUSTOMIZATION["resources"]:
        document = yaml.safe_load((BASE / name).read_text())
        documents[f"{document['kind']}/{document['metadata']['name']}"] = document
    return documents


RESOURCES = _resources()
WORKLOADS = {
    "api": RESOURCES["Deployment/manas360-api"],
    "worker": RESOURCES["Deployment/manas360-worker"],
    "migrate": RESOURCES["Job/manas360-migrate"],
}


def _pod(workload: dict) -> dict:
    return workload["spec"]["template"]["spec"]


def _containers(workload: dict) -> list[dict]:
    pod = _pod(workload)
    return pod.get("initContainers", []) + pod["containers"]


def _secret_keys(container: dict) -> set[str]:
    return {
        item["valueFrom"]["secretKeyRef"]["key"]
        for item in container.get("env", [])
        if "secretKeyRef" in item.get("valueFrom", {})
    }


def _validate(directory: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ROOT / "scripts/k8s-validate.sh"), str(directory)], capture_output=True, text=True, timeout=120
    )


def test_the_base_validates_against_the_kubernetes_schemas():
    result = _validate(BASE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(KUSTOMIZATION['resources'])} resources valid" in result.stdout


def test_validation_catches_an_unknown_field_and_a_resource_list_out_of_step(tmp_path):
    copy = tmp_path / "base"
    shutil.copytree(BASE, copy)
    deployment = copy / "worker-deployment.yaml"
    deployment.write_text(deployment.read_text().replace("periodSeconds: 30", "periodSecond: 30"))
    typo = _validate(copy)
    assert typo.returncode != 0
    assert "periodSecond" in typo.stdout + typo.stderr

    shutil.copy(BASE / "worker-deployment.yaml", deployment)
    (copy / "extra.yaml").write_text((BASE / "api-service.yaml").read_text())
    (copy / "api-pdb.yaml").unlink()
    out_of_step = _validate(copy)
    assert out_of_step.returncode != 0
    assert "not listed in kustomization.yaml: extra.yaml" in out_of_step.stderr
    assert "listed but missing: api-pdb.yaml" in out_of_step.stderr


def test_the_same_processes_as_compose():
    api, worker, migrate = (WORKLOADS[name]["spec"]["template"]["spec"]["containers"][0] for name in WORKLOADS)
    # The API runs the image's own command, as compose's backend does: the server is named in the Dockerfile only.
    assert "command" not in COMPOSE["services"]["backend"]
    assert "command" not in api
    assert "args" not in api
    assert worker["command"] == COMPOSE["services"]["worker"]["command"]
    assert migrate["command"] == COMPOSE["services"]["migrate"]["command"]
    liveness = worker["livenessProbe"]["exec"]["command"]
    assert liveness == COMPOSE["services"]["worker"]["healthcheck"]["test"][1:]


def test_every_container_runs_the_kustomization_image():
    images = {image["name"] for image in KUSTOMIZATION["images"]}
    used = {container["image"] for workload in WORKLOADS.values() for container in _containers(workload)}
    assert used == images == {"manas360-backend"}
    assert COMPOSE["services"]["backend"]["image"].split(":")[0] == "manas360-backend"


def test_every_production_setting_is_supplied_and_secrets_only_by_reference():
    production = {
        line.split("=", 1)[0]
        for line in (ROOT / "deploy/production.env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    config = RESOURCES["ConfigMap/manas360-config"]["data"]
    documented_secrets = {
        line.split("=", 1)[0]
        for line in (BASE / "secret.env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert not any(document["kind"] == "Secret" for document in RESOURCES.values())
    for name, workload in WORKLOADS.items():
        for container in _containers(workload):
            assert container["envFrom"] == [{"configMapRef": {"name": "manas360-config"}}], name
            references = [item["valueFrom"]["secretKeyRef"] for item in container["env"]]
            assert {reference["name"] for reference in references} == {SECRET_NAME}
            # Every env entry is a reference: no literal value, secret or not, hides in a pod spec.
            assert all("value" not in item for item in container["env"]), name
            keys = _secret_keys(container)
            assert keys == documented_secrets, name
            assert production <= keys | set(config), (name, production - keys - set(config))
            assert not keys & set(config), name


def test_non_root_read_only_and_the_uid_of_the_dockerfile():
    uid = int(re.search(r"useradd .*--uid (\d+)", (ROOT / "Dockerfile").read_text()).group(1))
    for name, workload in WORKLOADS.items():
        pod = _pod(workload)
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == uid, name
        assert pod["automountServiceAccountToken"] is False, name
        for container in _containers(workload):
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, (name, container["name"])
            assert security["allowPrivilegeEscalation"] is False
            assert security["capabilities"]["drop"] == ["ALL"]
            # The one writable directory (request temp files, multi-process metrics).
            assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"], (name, container["name"])
            assert container["resources"]["requests"]
            assert container["resources"]["limits"]["memory"]


def test_api_probes_use_the_health_routes_with_an_allowed_host():
    api = WORKLOADS["api"]["spec"]["template"]["spec"]["containers"][0]
    assert api["livenessProbe"]["httpGet"]["path"] == "/health"
    assert api["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    allowed_hosts = RESOURCES["ConfigMap/manas360-config"]["data"]["ALLOWED_HOSTS"].split(",")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        request = api[probe]["httpGet"]
        assert request["port"] == "http" == api["ports"][0]["name"]
        resolve(request["path"])  # a real route of the API
        assert {"name": "Host", "value": "127.0.0.1"} in request["httpHeaders"]
        assert "127.0.0.1" in allowed_hosts
    with pytest.raises(Resolver404):
        resolve("/health/nowhere")
    # The server's 30 s graceful shutdown plus the preStop pause fit in the grace period.
    pause = int(api["lifecycle"]["preStop"]["exec"]["command"][1])
    assert WORKLOADS["api"]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 30 + pause


def test_the_service_budgets_and_autoscaler_select_the_pods_they_mean():
    autoscaler = RESOURCES["HorizontalPodAutoscaler/manas360-api"]["spec"]
    # The autoscaler owns the API's replica count: a `replicas` in the Deployment would reset it on every apply.
    assert "replicas" not in WORKLOADS["api"]["spec"]
    least = {"api": autoscaler["minReplicas"], "worker": WORKLOADS["worker"]["spec"]["replicas"]}
    for component, deployment in (("api", WORKLOADS["api"]), ("worker", WORKLOADS["worker"])):
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        budget = RESOURCES[f"PodDisruptionBudget/manas360-{component}"]
        assert budget["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
        assert budget["spec"]["minAvailable"] < least[component]
    assert RESOURCES["Service/manas360-api"]["spec"]["selector"].items() <= (
        WORKLOADS["api"]["spec"]["template"]["metadata"]["labels"].items()
    )
    target = autoscaler["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "manas360-api")
