"""A small kustomize for the features k8s/ uses, for machines without kubectl.

Supported: ``resources`` (files and folders), ``namespace``, ``labels`` (without selectors or
templates), ``images``, ``replicas``, ``secretGenerator`` (``envs``, name without the content hash
that kustomize appends) and ``patches`` (JSON 6902, inline or from a file, with a target by kind,
name and/or label selector ``k=v[,k=v]``), applied in kustomize's order. Anything else raises,
so a kustomization that outgrows this renderer fails loudly instead of rendering wrong. Where
kubectl exists, tests/deploy/test_kubernetes.py checks that both render the same objects.
"""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

import yaml

SUPPORTED = {
    "apiVersion",
    "kind",
    "resources",
    "namespace",
    "labels",
    "images",
    "replicas",
    "secretGenerator",
    "patches",
}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass"}


def render(directory: Path) -> list[dict[str, Any]]:
    """The objects ``kubectl kustomize directory`` would print (secret names without hash)."""
    spec = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(spec) - SUPPORTED
    if unknown:
        raise NotImplementedError(f"{directory}: kustomization fields not supported here: {sorted(unknown)}")
    docs: list[dict[str, Any]] = []
    for resource in spec.get("resources", []):
        path = directory / resource
        if path.is_dir():
            docs += render(path)
        else:
            docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    docs += [_secret(directory, g) for g in spec.get("secretGenerator", [])]
    for patch in spec.get("patches", []):
        _patch(directory, docs, patch)
    for item in spec.get("replicas", []):
        for doc in docs:
            if doc["kind"] in ("Deployment", "StatefulSet") and doc["metadata"]["name"] == item["name"]:
                doc["spec"]["replicas"] = item["count"]
    for doc in docs:
        for container in _containers(doc):
            container["image"] = _image(container["image"], spec.get("images", []))
    if "namespace" in spec:
        for doc in docs:
            if doc["kind"] not in CLUSTER_SCOPED:
                doc["metadata"]["namespace"] = spec["namespace"]
    for label in spec.get("labels", []):
        if label.get("includeSelectors") or label.get("includeTemplates"):
            raise NotImplementedError("labels with includeSelectors/includeTemplates")
        for doc in docs:
            doc["metadata"].setdefault("labels", {}).update(label["pairs"])
    return docs


def _secret(directory: Path, generator: dict[str, Any]) -> dict[str, Any]:
    if set(generator) - {"name", "envs"}:
        raise NotImplementedError(f"secretGenerator fields: {sorted(generator)}")
    data: dict[str, str] = {}
    for env_file in generator.get("envs", []):
        for line in (directory / env_file).read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                key, _, value = line.partition("=")
                data[key] = base64.b64encode(value.encode()).decode()
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": generator["name"]},
        "type": "Opaque",
        "data": data,
    }


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc.get("spec", {})
    pod = spec.get("template", {}).get("spec") if "template" in spec else None
    if pod is None:
        return []
    return [*pod.get("initContainers", []), *pod.get("containers", [])]


def _image(image: str, rules: list[dict[str, Any]]) -> str:
    name, _, tag = image.partition(":")
    for rule in rules:
        if rule["name"] == name:
            return f"{rule.get('newName', name)}:{rule.get('newTag', tag)}".rstrip(":")
    return image


def _matches(doc: dict[str, Any], target: dict[str, Any]) -> bool:
    if "kind" in target and doc["kind"] != target["kind"]:
        return False
    if "name" in target and doc["metadata"]["name"] != target["name"]:
        return False
    labels = doc["metadata"].get("labels", {})
    for pair in filter(None, target.get("labelSelector", "").split(",")):
        key, _, value = pair.partition("=")
        if labels.get(key.strip()) != value.strip():
            return False
    return True


def _patch(directory: Path, docs: list[dict[str, Any]], patch: dict[str, Any]) -> None:
    target = patch["target"]
    if set(target) - {"kind", "name", "labelSelector"} or set(patch) - {"target", "patch", "path"}:
        raise NotImplementedError(f"patch form not supported: {patch}")
    text = (directory / patch["path"]).read_text() if "path" in patch else patch["patch"]
    matched = [d for d in docs if _matches(d, target)]
    if not matched:
        raise ValueError(f"patch target {target} not found")
    for doc in matched:
        for op in yaml.safe_load(text):
            *parents, last = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].lstrip("/").split("/")]
            node: Any = doc
            for part in parents:
                node = node[int(part)] if isinstance(node, list) else node[part]
            key: Any = int(last) if isinstance(node, list) and last != "-" else last
            if op["op"] == "replace":
                node[key] = copy.deepcopy(op["value"])
            elif op["op"] == "add":
                if isinstance(node, list):
                    node.insert(len(node) if key == "-" else key, copy.deepcopy(op["value"]))
                else:
                    node[key] = copy.deepcopy(op["value"])
            elif op["op"] == "remove":
                del node[key]
            else:
                raise NotImplementedError(f"JSON patch op {op['op']}")
