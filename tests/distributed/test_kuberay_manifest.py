"""examples/kuberay/raycluster.yaml is a RayCluster KubeRay accepts and pods Kubernetes accepts.

`kubectl apply --dry-run=client` needs an API server (it downloads the OpenAPI schema from it), and
KubeRay's CRD is not shipped by any package this project installs. So the RayCluster's own fields are
checked against a schema written from KubeRay's API types (ray.io/v1: `RayClusterSpec`,
`HeadGroupSpec`, `WorkerGroupSpec`; required where their JSON tags have no omitempty), and every pod
template and the volume claim field by field against the Kubernetes API's own models (the
`kubernetes` client's: an unknown or misspelt key anywhere fails)."""

from __future__ import annotations

import re
import shlex

import jsonschema
import pytest
import yaml

from tests.conftest import REPO

kubernetes = pytest.importorskip("kubernetes")

MANIFEST = REPO / "examples" / "kuberay" / "raycluster.yaml"

_STRINGS = {"type": "object", "additionalProperties": {"type": "string"}}
_REPLICAS = {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
RAY_CLUSTER = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "ray.io/v1"},
        "kind": {"const": "RayCluster"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "required": ["headGroupSpec"],
            "additionalProperties": False,
            "properties": {
                "rayVersion": {"type": "string"},
                "enableInTreeAutoscaling": {"type": "boolean"},
                "autoscalerOptions": {"type": "object"},
                "headServiceAnnotations": _STRINGS,
                "suspend": {"type": "boolean"},
                "headGroupSpec": {
                    "type": "object",
                    "required": ["rayStartParams", "template"],
                    "additionalProperties": False,
                    "properties": {"serviceType": {"type": "string"}, "headService": {"type": "object"},
                                   "enableIngress": {"type": "boolean"}, "rayStartParams": _STRINGS,
                                   "template": {"type": "object"}},
                },
                "workerGroupSpecs": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["groupName", "minReplicas", "maxReplicas", "rayStartParams", "template"],
                        "additionalProperties": False,
                        "properties": {"groupName": {"type": "string"}, "replicas": _REPLICAS,
                                       "minReplicas": _REPLICAS, "maxReplicas": _REPLICAS,
                                       "numOfHosts": {"type": "integer", "minimum": 1}, "rayStartParams": _STRINGS,
                                       "template": {"type": "object"}, "scaleStrategy": {"type": "object"}},
                    },
                },
            },
        },
    },
}


def check_model(data, type_name: str, path: str) -> None:
    """`data` is what Kubernetes' `type_name` takes: every key a field of it, all the way down."""
    import kubernetes.client as k8s

    if type_name.startswith(("List[", "list[")):
        assert isinstance(data, list), f"{path}: expected a list"
        for i, item in enumerate(data):
            check_model(item, type_name[5:-1], f"{path}[{i}]")
    elif type_name.startswith(("Dict[", "dict(")):
        assert isinstance(data, dict), f"{path}: expected a mapping"
        value_type = re.split(r",\s*", type_name[5:-1], maxsplit=1)[1]
        for key, value in data.items():
            check_model(value, value_type, f"{path}.{key}")
    elif type_name in ("str", "int", "bool", "float", "object", "datetime"):
        expected = {"str": str, "int": int, "bool": bool, "float": (int, float)}.get(type_name, object)
        assert isinstance(data, expected), f"{path}: expected {type_name}, got {data!r}"
    else:
        model = getattr(k8s, type_name)
        assert isinstance(data, dict), f"{path}: expected a {type_name} mapping"
        fields = {json_key: attribute for attribute, json_key in model.attribute_map.items()}
        for key, value in data.items():
            assert key in fields, f"{path}.{key}: not a field of {type_name} ({', '.join(sorted(fields))})"
            check_model(value, model.openapi_types[fields[key]], f"{path}.{key}")


def documents() -> list[dict]:
    return [doc for doc in yaml.safe_load_all(MANIFEST.read_text()) if doc]


def test_the_raycluster_is_one_kuberay_takes_with_pods_kubernetes_takes():
    cluster, claim = documents()
    jsonschema.validate(cluster, RAY_CLUSTER)
    spec = cluster["spec"]
    check_model(cluster["metadata"], "V1ObjectMeta", "metadata")
    check_model(spec["headGroupSpec"]["template"], "V1PodTemplateSpec", "headGroupSpec.template")
    for i, group in enumerate(spec["workerGroupSpecs"]):
        check_model(group["template"], "V1PodTemplateSpec", f"workerGroupSpecs[{i}].template")
        assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]
    check_model(claim, "V1PersistentVolumeClaim", "claim")


def test_the_head_runs_no_trial_and_the_workers_have_gpus_and_the_shared_run_directory():
    cluster, claim = documents()
    head = cluster["spec"]["headGroupSpec"]
    assert head["rayStartParams"]["num-cpus"] == "0"
    assert head["rayStartParams"]["dashboard-host"] == "127.0.0.1"  # not reachable from outside the pod
    for group in cluster["spec"]["workerGroupSpecs"]:
        (container,) = group["template"]["spec"]["containers"]
        assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
        assert {"name": "runs", "mountPath": "/runs"} in container["volumeMounts"]
        (volume,) = group["template"]["spec"]["volumes"]
        assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]


def test_the_manifests_automl_command_is_one_the_cli_takes():
    from automl.cli import _parser

    (line,) = [line for line in MANIFEST.read_text().splitlines() if "automl run" in line and "kubectl exec" in line]
    argv = shlex.split(line.split("--", 1)[1].strip())
    args = _parser().parse_args(argv[1:])
    assert args.ray == "auto" and args.out == "/runs/my-run"
