#!/usr/bin/env bash
# Validate the Kubernetes manifests offline (no cluster, no network): the kustomization lists exactly the
# YAML files of its directory, and each of them validates against the Kubernetes API schemas that
# kubernetes-validate ships, strictly (an unknown or misspelt field is an error).
#   scripts/k8s-validate.sh [DIR]    (default deploy/kubernetes; K8S_VERSION overrides the version)
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-deploy/kubernetes}"
# The oldest Kubernetes minor the manifests must run on; raise it deliberately (docs/deployment.md).
version="${K8S_VERSION:-1.33.0}"
# Prints the listed resource files, one a line, after checking the list against the directory.
resources="$(.venv/bin/python - "$dir" <<'PY'
import pathlib
import sys

import yaml

directory = pathlib.Path(sys.argv[1])
kustomization = directory / "kustomization.yaml"
if not kustomization.is_file():
    sys.exit(f"{kustomization}: missing")
listed = yaml.safe_load(kustomization.read_text()).get("resources") or []
problems = []
if len(set(listed)) != len(listed):
    problems.append("a resource is listed twice")
for name in listed:
    if not (directory / name).is_file():
        problems.append(f"listed but missing: {name}")
present = {p.name for p in directory.iterdir() if p.suffix in (".yaml", ".yml")} - {kustomization.name}
for name in sorted(present - set(listed)):
    problems.append(f"not listed in kustomization.yaml: {name}")
if problems:
    sys.exit("\n".join(f"{kustomization}: {problem}" for problem in problems))
print("\n".join(str(directory / name) for name in listed))
PY
)"

mapfile -t files <<<"$resources"
.venv/bin/kubernetes-validate --strict --quiet --kubernetes-version "$version" "${files[@]}"
echo "$dir: ${#files[@]} resources valid for Kubernetes $version"
