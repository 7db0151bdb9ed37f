"""What a trial asks Ray for (search.ray.trial, search.ray.families), worked out from the nodes,
and the one-line errors of a request no node holds and of Ray not installed."""

import pytest

from automl.config.schema import RayConfig
from automl.errors import ConfigError
from automl.ray_search import capacity, trial_resources


def node(cpus, gpus=0):
    return {"Alive": True, "Resources": {"CPU": cpus, **({"GPU": gpus} if gpus else {})}}


def test_auto_is_a_whole_cpu_node_or_one_gpu_with_its_share_of_cpus():
    ray = RayConfig()
    assert trial_resources(ray, "small_cnn", [node(0), node(4), node(2)]) == {"num_cpus": 2, "num_gpus": 0}
    assert trial_resources(ray, "small_cnn", [node(0), node(16, 4), node(8, 1)]) == {"num_cpus": 4, "num_gpus": 1}
    assert capacity({"num_cpus": 2, "num_gpus": 0}, [node(0), node(4), node(2)]) == 3
    assert capacity({"num_cpus": 4, "num_gpus": 1}, [node(16, 4), node(8, 1)]) == 5


def test_a_family_of_its_own_and_a_request_no_node_holds():
    ray = RayConfig(trial={"cpus": 1}, families={"efficientnet": {"gpus": 2}})
    nodes = [node(8, 2), node(8, 1)]
    assert trial_resources(ray, "small_cnn", nodes) == {"num_cpus": 1, "num_gpus": 1}
    assert trial_resources(ray, "efficientnet", nodes) == {"num_cpus": 1, "num_gpus": 2}
    with pytest.raises(ConfigError, match=r"search.ray.families.efficientnet: a trial asks for 1 CPU\(s\) and 4 GPU"):
        trial_resources(RayConfig(families={"efficientnet": {"gpus": 4}}), "efficientnet", nodes)


def test_negative_resources_are_refused_by_the_schema():
    with pytest.raises(ValueError, match="expected 'auto' or a number of at least 0"):
        RayConfig(trial={"cpus": -1})


def test_the_ray_engine_without_ray_installed_is_one_line(monkeypatch):
    import importlib.util

    from automl.distributed import require_ray

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    with pytest.raises(ConfigError, match=r"pip install 'automl\[ray\]'"):
        require_ray("ray")
    require_ray("local")


def test_a_cluster_address_where_nothing_answers_is_one_line_before_any_work(monkeypatch):
    import socket

    from automl.distributed import require_ray

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConfigError, match=rf"search.ray.address '127.0.0.1:{port}': nothing answers there"):
        require_ray("ray", f"127.0.0.1:{port}")
    with pytest.raises(ConfigError, match="expected HOST:PORT"):
        require_ray("ray", "head-node")
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{port}")
    with pytest.raises(ConfigError, match="RAY_ADDRESS"):
        require_ray("ray", "auto")
