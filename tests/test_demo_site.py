"""The local demo site answers the demo data's .example links through the real checker (CHECK_HOSTS address:port)."""

import importlib.util
import threading
from collections import Counter

import pytest

from atlas.checker.engine import Engine, Item, Policy
from atlas.seed import SEEDS

_spec = importlib.util.spec_from_file_location("demo_site", SEEDS / "demo_site.py")
demo_site_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(demo_site_module)
checker_settings, demo_hosts, serve, verdict = (demo_site_module.checker_settings, demo_site_module.demo_hosts,
                                                demo_site_module.serve, demo_site_module.verdict)


@pytest.fixture
def demo_site(tmp_path):
    hosts = demo_hosts()
    server = serve("127.0.0.1", 0, tmp_path / "demo-site", hosts)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield checker_settings(hosts, "127.0.0.1", server.server_address[1], tmp_path / "demo-site" / "ca.pem")
    server.shutdown()
    server.server_close()


def policy(settings: dict) -> Policy:
    return Policy(allowed_networks=settings["CHECK_ALLOWED_NETWORKS"], hosts=settings["CHECK_HOSTS"],
                  ca_bundle=settings["CHECK_CA_BUNDLE"], host_interval=0.0, retries=0, robots=True,
                  connect_timeout=5, read_timeout=5, deadline=15)


def test_demo_hosts_come_from_the_seed_files():
    hosts = demo_hosts()
    assert len(hosts) > 100 and all(h.endswith(".example") for h in hosts)


def test_checker_sees_a_realistic_mix_without_leaving_the_machine(demo_site):
    urls = [f"https://{host}/" for host in sorted(demo_site["CHECK_HOSTS"])[:60]]
    expected = Counter(verdict(u.split("/")[2], "/") for u in urls)
    assert expected[200] > 40 and expected[200] < 60  # mostly fine, but not all
    with Engine(policy(demo_site)) as engine:
        outcomes = {item.url: outcome for item, outcome in engine.run([Item(key=None, url=u) for u in urls])}
    for url, outcome in outcomes.items():
        status = verdict(url.split("/")[2], "/")
        if status == 200:
            assert outcome.kind == "ok", (url, outcome)
        elif status == 301:
            assert outcome.redirects and outcome.redirects[0][0] == 301, (url, outcome)
        else:
            assert outcome.status == status, (url, outcome)


def test_the_ssrf_guard_still_applies_to_mapped_hosts(demo_site):
    with Engine(policy(demo_site | {"CHECK_ALLOWED_NETWORKS": []})) as engine:
        outcome = engine.check(next(f"https://{h}/" for h in demo_site["CHECK_HOSTS"]))
    assert outcome.kind != "ok"  # loopback stays blocked unless allowed
