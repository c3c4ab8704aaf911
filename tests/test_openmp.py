import os
import subprocess
import sys

from giraffehd.openmp import POLICY, prefer_passive_wait


def test_passive_wait_is_set_only_when_nobody_chose_and_torch_is_not_loaded():
    environ = {}
    assert prefer_passive_wait(environ, modules={}) and environ == {"OMP_WAIT_POLICY": POLICY}
    for chosen in ({"OMP_WAIT_POLICY": "ACTIVE"}, {"GOMP_SPINCOUNT": "1000"}, {"GIRAFFEHD_OMP_DEFAULT": "1"}):
        environ = dict(chosen)
        assert not prefer_passive_wait(environ, modules={}) and environ == chosen
    environ = {}
    assert not prefer_passive_wait(environ, modules={"torch": object()}) and environ == {}


def _policy_seen_by_a_fresh_process(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    code = "import giraffehd.train, os; print(os.environ.get('OMP_WAIT_POLICY', 'unset'))"
    result = subprocess.run(
        [sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True, check=True
    )
    return result.stdout.strip().splitlines()[-1]


def test_an_entry_point_module_sets_it_before_torch_loads_and_keeps_the_users():
    assert _policy_seen_by_a_fresh_process() == POLICY
    assert _policy_seen_by_a_fresh_process(OMP_WAIT_POLICY="ACTIVE") == "ACTIVE"
    assert _policy_seen_by_a_fresh_process(GIRAFFEHD_OMP_DEFAULT="1") == "unset"
