from endpoint_relay.core.models import Autoscaling
from endpoint_relay.core.replica_bounds import replica_bounds
from endpoint_relay.core.v2_models import DeploymentAutoscaling


def test_v1_bounds_read_as_sent() -> None:
    assert replica_bounds(Autoscaling(min_replicas=1, max_replicas=3)) == (1, 3)


def test_a_v2_bound_upstream_omitted_stays_unknown() -> None:
    assert replica_bounds(DeploymentAutoscaling.from_dict({"maxReplicas": 4})) == (None, 4)


def test_no_autoscaling_means_both_bounds_unknown() -> None:
    assert replica_bounds(None) == (None, None)
