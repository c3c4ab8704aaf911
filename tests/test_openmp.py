import os
import subprocess
import sys

from giraffehd.openmp import SPIN_COUNT, prefer_short_spin


def test_the_short_spin_is_set_only_when_nobody_chose_and_torch_is_not_loaded():
    environ = {}
    assert prefer_short_spin(environ, modules={}) and environ == {"GOMP_SPINCOUNT": SPIN_COUNT}
    for chosen in ({"OMP_WAIT_POLICY": "PASSIVE"}, {"GOMP_SPINCOUNT": "1000"}, {"GIRAFFEHD_OMP_DEFAULT": "1"}):
        environ = dict(chosen)
        assert not prefer_short_spin(environ, modules={}) and environ == chosen
    environ = {}
    assert not prefer_short_spin(environ, modules={"torch": object()}) and environ == {}


def _spin_count_seen_by_a_fresh_process(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    code = "import giraffehd.train, os; print(os.environ.get('GOMP_SPINCOUNT', 'unset'))"
    result = subprocess.run(
        [sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True, check=True
    )
    return result.stdout.strip().splitlines()[-1]


def test_an_entry_point_module_sets_it_before_torch_loads_and_keeps_the_users():
    assert _spin_count_seen_by_a_fresh_process() == SPIN_COUNT
    assert _spin_count_seen_by_a_fresh_process(OMP_WAIT_POLICY="PASSIVE") == "unset"
    assert _spin_count_seen_by_a_fresh_process(GIRAFFEHD_OMP_DEFAULT="1") == "unset"
