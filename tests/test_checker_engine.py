"""The checking engine against local fake sites: every detection, politeness, deadlines, the SSRF guard."""

from __future__ import annotations

import socket
import time

import pytest
from checker_sites import FakeWeb, Reply, Request, Router, html, make_certificates, server_tls

from atlas.checker.engine import Engine, Item, Policy, parse_retry_after
from atlas.checker.net import AddressPolicy, Resolver

PAGE = html("Schuldnerberatung Lichtblick", "Wir beraten Menschen mit Schulden kostenlos und vertraulich. " * 8)


def make_policy(**overrides) -> Policy:
    """Timeouts generous for a loaded machine (tests of slow servers set their own), no politeness pause."""
    values = dict(allowed_networks=["127.0.0.0/8"], host_interval=0.0, connect_timeout=2.0, read_timeout=2.0,
                  deadline=5.0, retries=0, retry_delay=0.05, retry_after_max=2.0, robots=False,
                  fallback_user_agent="Mozilla/5.0 (X11) Browser")
    return Policy(**(values | overrides))


@pytest.fixture
def router() -> Router:
    return Router({"/": Reply(200, body=html("Start", "Willkommen auf unserer Startseite."))})


@pytest.fixture
def web(router):
    with FakeWeb(router, [("127.0.0.1", 0), ("127.0.0.2", 0)]) as server:
        yield server


def check(url: str, **policy) -> object:
    with Engine(make_policy(**policy)) as engine:
        return engine.check(url)


def test_working_page_is_ok_with_its_content(web, router):
    router["/angebot"] = Reply(200, body=PAGE)
    outcome = check(web.url("/angebot"))
    assert (outcome.kind, outcome.status, outcome.method) == ("ok", 200, "GET")
    assert outcome.page.title == "Schuldnerberatung Lichtblick"
    assert "kostenlos" in outcome.page.excerpt
    agent = web.requests_for("/angebot")[0].headers["user-agent"]
    assert agent.startswith("Netzwerkatlas-Pruefdienst/") and "+https://" in agent and "link" not in agent.lower()
    assert web.requests_for("/angebot")[0].headers["range"] == "bytes=0-65535"


@pytest.mark.parametrize(("status", "kind"), [(404, "http_404"), (410, "http_410"), (500, "http_server"),
                                              (502, "http_server"), (400, "http_client"), (401, "ok")])
def test_http_status_codes(web, router, status, kind):
    router["/x"] = Reply(status, body="Fehler")
    assert check(web.url("/x")).kind == kind


def test_temporary_failure_is_retried_once_within_the_run(web, router):
    router["/wackelt"] = [Reply(503), Reply(200, body=PAGE)]
    outcome = check(web.url("/wackelt"), retries=1)
    assert (outcome.kind, outcome.attempts) == ("ok", 2)
    assert len(web.requests_for("/wackelt")) == 2


def test_unknown_domain_and_refused_connection():
    with Engine(make_policy(hosts={"weg.test": None})) as engine:
        assert engine.check("https://weg.test/angebot").kind == "dns"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert check(f"http://127.0.0.1:{port}/").kind == "refused"


def test_hanging_streaming_and_trickling_servers_do_not_stall_the_run(web, router):
    router["/haengt"] = Reply(mode="hang")
    router["/endlos"] = Reply(mode="stream")
    router["/tropft"] = Reply(mode="trickle")
    router["/ok"] = Reply(200, body=PAGE)
    urls = ["/haengt", "/endlos", "/tropft"] + ["/ok"] * 5
    started = time.monotonic()
    with Engine(make_policy(read_timeout=1.0, deadline=2.5, concurrency=4)) as engine:
        results = {item.url: outcome for item, outcome in
                   engine.run([Item(i, web.url(path) + f"?n={i}") for i, path in enumerate(urls)])}
    elapsed = time.monotonic() - started
    kinds = {url.split("/")[-1].split("?")[0]: o.kind for url, o in results.items()}
    assert kinds == {"haengt": "timeout", "endlos": "ok", "tropft": "timeout", "ok": "ok"}
    assert len(results) == len(urls)
    assert elapsed < 20  # generous for a loaded machine; without the limits the servers go on for an hour
    stream = next(o for u, o in results.items() if "endlos" in u)
    assert stream.duration_ms < 2500  # the body read stopped at the cap, well before the deadline


@pytest.mark.parametrize("framing", ["length", "close", "chunked"])
def test_deadline_cuts_a_dripping_body_however_it_is_framed(web, router, framing):
    """One byte every 0.1 s never trips the read timeout; only the deadline ends it (the server would go on 30 s)."""
    router["/tropft"] = Reply(200, mode="drip", framing=framing, limit=30)
    started = time.monotonic()
    outcome = check(web.url("/tropft"), read_timeout=1.0, deadline=2.0)
    assert outcome.kind == "timeout"
    assert time.monotonic() - started < 15  # 1 s deadline plus slack for a loaded machine; without it 30 s


def test_deadline_cuts_a_dripping_body_on_a_kept_alive_connection(router):
    router["/erst"] = Reply(200, body=PAGE)
    router["/tropft"] = Reply(200, mode="drip", limit=30)
    with FakeWeb(router) as site:
        started = time.monotonic()
        with Engine(make_policy(concurrency=1, per_host=1, read_timeout=1.0, deadline=2.0)) as engine:
            kinds = [o.kind for _, o in engine.run([Item(1, site.url("/erst")), Item(2, site.url("/tropft"))])]
        assert kinds == ["ok", "timeout"]
        assert time.monotonic() - started < 15
        first, second = site.requests_for("/erst")[0], site.requests_for("/tropft")[0]
        assert first.connection == second.connection  # the second request reused the pooled connection


def test_tls_problems_are_told_apart(tmp_path):
    certs = make_certificates(tmp_path)
    router = Router({"/": Reply(200, body=PAGE)})
    expected = {"good": "ok", "expired": "tls_expired", "self_signed": "tls_self_signed",
                "wrong_host": "tls_hostname"}
    for label, kind in expected.items():
        with FakeWeb(router, tls=server_tls(certs[label])) as site:
            outcome = check(site.url("/"), ca_bundle=str(certs["ca"]))
            assert outcome.kind == kind, (label, outcome.detail)
    with FakeWeb(router, tls=server_tls(certs["good"])) as site:
        assert check(site.url("/")).kind == "tls_untrusted"  # our test CA is not in the default bundle


def test_permanent_redirect_suggests_the_new_address(web, router):
    router["/alt"] = Reply(301, headers={"Location": "/neu"})
    router["/neu"] = Reply(200, body=PAGE)
    outcome = check(web.url("/alt"))
    assert outcome.kind == "redirect_permanent"
    assert outcome.suggested_url == web.url("/neu")
    assert outcome.redirects == [(301, web.url("/neu"))]


def test_temporary_redirect_is_fine(web, router):
    router["/termin"] = Reply(302, headers={"Location": "/termin/2025"})
    router["/termin/2025"] = Reply(200, body=PAGE)
    outcome = check(web.url("/termin"))
    assert (outcome.kind, outcome.suggested_url) == ("ok", None)


def test_redirect_loop_and_too_many_redirects(web, router):
    router["/a"] = Reply(302, headers={"Location": "/b"})
    router["/b"] = Reply(302, headers={"Location": "/a"})
    for i in range(6):
        router[f"/kette{i}"] = Reply(302, headers={"Location": f"/kette{i + 1}"})
    router["/kette6"] = Reply(200, body=PAGE)
    assert check(web.url("/a")).kind == "redirect_loop"
    assert check(web.url("/kette0"), max_redirects=3).kind == "too_many_redirects"
    assert check(web.url("/kette0")).kind == "ok"


def test_redirect_to_home_page_or_another_site_means_the_page_is_gone(web, router):
    port = web.bound[0][1]
    hosts = {"beratung-alt.test": "127.0.0.1", "www.beratung-alt.test": "127.0.0.1", "fremd.test": "127.0.0.1"}
    router["/angebote/schulden"] = Reply(301, headers={"Location": "/"})
    router["/kurs"] = Reply(302, headers={"Location": f"http://fremd.test:{port}/werbung"})
    router["/werbung"] = Reply(200, body=PAGE)
    router["/umzug"] = Reply(301, headers={"Location": f"http://www.beratung-alt.test:{port}/neu"})
    router["/neu"] = Reply(200, body=PAGE)
    home = check(f"http://beratung-alt.test:{port}/angebote/schulden", hosts=hosts)
    assert home.kind == "redirect_home"
    other = check(f"http://beratung-alt.test:{port}/kurs", hosts=hosts)
    assert other.kind == "redirect_other_domain"
    same_site = check(f"http://beratung-alt.test:{port}/umzug", hosts=hosts)
    assert same_site.kind == "redirect_permanent"  # www. of the same registrable domain: just update the URL


@pytest.mark.parametrize(("title", "text"), [
    ("Seite nicht gefunden", "Leider konnten wir die gewünschte Seite nicht finden."),
    ("Page not found", "Sorry, this page does not exist."),
    ("Beratungsstelle", "Fehler 404 – die angeforderte Seite wurde entfernt."),
    ("Willkommen", "Dieses Angebot wurde eingestellt."),
])
def test_soft_404_in_german_and_english(web, router, title, text):
    router["/weg"] = Reply(200, body=html(title, text))
    assert check(web.url("/weg")).kind == "soft_404"


def test_long_page_mentioning_not_found_is_not_a_soft_404(web, router):
    text = "Sie haben nicht gefunden, was Sie suchen? Rufen Sie uns an. " + "Wir beraten Sie gern. " * 60
    router["/faq"] = Reply(200, body=html("Häufige Fragen", text))
    assert check(web.url("/faq")).kind == "ok"


def test_parked_and_for_sale_domains(web, router):
    port = web.bound[0][1]
    router["/verkauf"] = Reply(200, body=html("beratung-x.de", "Diese Domain steht zum Verkauf! Jetzt anfragen."))
    router["/baustelle"] = Reply(200, body=html("Willkommen", "Hier entsteht eine neue Internetpräsenz."))
    router["/geparkt"] = Reply(302, headers={"Location": f"http://sedoparking.com:{port}/park"})
    router["/park"] = Reply(200, body=html("Parking", "Advertisement"))
    assert check(web.url("/verkauf")).kind == "parked"
    assert check(web.url("/baustelle")).kind == "parked"
    assert check(web.url("/geparkt"), hosts={"sedoparking.com": "127.0.0.1"}).kind == "parked"


def test_sharply_changed_page_against_its_baseline(web, router):
    router["/angebot"] = Reply(200, body=PAGE)
    with Engine(make_policy()) as engine:
        same = engine.check(web.url("/angebot"), baseline_title="Schuldnerberatung Lichtblick",
                            baseline_text=engine.check(web.url("/angebot")).page.excerpt)
        assert same.kind == "ok"
        new_title = engine.check(web.url("/angebot"), baseline_title="Pizzeria Roma – Lieferdienst")
        assert new_title.kind == "content_changed" and "Pizzeria" in new_title.detail
        new_text = engine.check(web.url("/angebot"), baseline_title="Schuldnerberatung Lichtblick",
                                baseline_text="Unsere Kurse für Yoga und Pilates finden dienstags statt. " * 10)
        assert new_text.kind == "content_changed"


def test_403_is_retried_with_a_browser_agent_and_persistent_blocks_are_reported(web, router):
    def picky(request: Request) -> Reply:
        agent = request.headers.get("user-agent", "")
        return Reply(200, body=PAGE) if agent.startswith("Mozilla") else Reply(403, body="Forbidden")

    router["/waehlerisch"] = picky
    router["/gesperrt"] = Reply(403, body="Forbidden")
    router["/challenge"] = Reply(503, headers={"cf-mitigated": "challenge"}, body=html("Just a moment...", "..."))
    assert check(web.url("/waehlerisch")).kind == "ok"
    assert len(web.requests_for("/waehlerisch")) == 2
    assert check(web.url("/gesperrt")).kind == "blocked"
    assert check(web.url("/challenge")).kind == "blocked"


def test_robots_txt_is_respected_and_read_once_per_site(web, router):
    router["/robots.txt"] = Reply(200, headers={"Content-Type": "text/plain"},
                                  body="User-agent: *\nDisallow: /intern/\n")
    router["/intern/liste"] = Reply(200, body=PAGE)
    router["/offen"] = Reply(200, body=PAGE)
    with Engine(make_policy(robots=True)) as engine:
        results = {item.url: o.kind for item, o in engine.run(
            [Item(1, web.url("/intern/liste")), Item(2, web.url("/offen")), Item(3, web.url("/offen?x=1"))])}
    assert results == {web.url("/intern/liste"): "robots", web.url("/offen"): "ok", web.url("/offen?x=1"): "ok"}
    assert web.requests_for("/intern/liste") == []
    assert len(web.requests_for("/robots.txt")) == 1
    assert check(web.url("/intern/liste"), robots=False).kind == "ok"


def test_robots_rules_for_our_agent(web, router):
    rules = "User-agent: Netzwerkatlas-Pruefdienst\nDisallow: /\n\nUser-agent: *\nAllow: /\n"
    router["/robots.txt"] = Reply(200, headers={"Content-Type": "text/plain"}, body=rules)
    router["/seite"] = Reply(200, body=PAGE)
    assert check(web.url("/seite"), robots=True).kind == "robots"


def test_retry_after_is_honoured_within_the_cap(web, router):
    router["/voll"] = [Reply(429, headers={"Retry-After": "1"}), Reply(200, body=PAGE)]
    outcome = check(web.url("/voll"), retries=1, retry_after_max=2.0)
    first, second = web.requests_for("/voll")
    assert outcome.kind == "ok"
    assert second.at - first.at >= 0.95


def test_retry_after_beyond_the_cap_is_not_waited_for(web, router):
    router["/spaeter"] = Reply(503, headers={"Retry-After": "3600"})
    started = time.monotonic()
    outcome = check(web.url("/spaeter"), retries=1, retry_after_max=2.0)
    assert (outcome.kind, outcome.retry_after) == ("http_server", 3600.0)
    assert len(web.requests_for("/spaeter")) == 1
    assert time.monotonic() - started < 30  # not the hour asked for


def test_retry_after_header_forms():
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("morgen") is None


def test_documents_are_checked_with_head_and_fall_back_to_get(web, router):
    pdf = {"Content-Type": "application/pdf"}

    def head_refused(request: Request) -> Reply:
        return Reply(405) if request.method == "HEAD" else Reply(200, headers=pdf, body=b"%PDF-1.4")

    def head_lies(request: Request) -> Reply:
        return Reply(404) if request.method == "HEAD" else Reply(200, headers=pdf, body=b"%PDF-1.4")

    router["/flyer.pdf"] = Reply(200, headers=pdf, body=b"%PDF-1.4")
    router["/antrag.pdf"] = head_refused
    router["/formular.pdf"] = head_lies
    with Engine(make_policy()) as engine:
        for path in ("/flyer.pdf", "/antrag.pdf", "/formular.pdf"):
            outcome = engine.check(web.url(path), prefer_head=True)
            assert outcome.kind == "ok", path
    assert [r.method for r in web.requests_for("/flyer.pdf")] == ["HEAD"]
    assert [r.method for r in web.requests_for("/antrag.pdf")] == ["HEAD", "GET"]
    assert [r.method for r in web.requests_for("/formular.pdf")] == ["HEAD", "GET"]


def test_range_not_satisfiable_is_asked_again_without_range(web, router):
    def no_ranges(request: Request) -> Reply:
        return Reply(416) if "range" in request.headers else Reply(200, body=PAGE)

    router["/klein"] = no_ranges
    assert check(web.url("/klein")).kind == "ok"


def test_broken_connections_never_raise(web, router):
    router["/zu"] = Reply(mode="close")
    outcome = check(web.url("/zu"), retries=1)
    assert (outcome.kind, outcome.attempts) == ("connection", 2)
    assert check("ftp://example.org/datei").kind == "invalid_url"


def test_ssrf_guard_refuses_private_targets_without_contacting_them(web, router):
    router["/geheim"] = Reply(200, body=PAGE)
    outcome = check(web.url("/geheim"), allowed_networks=[])
    assert outcome.kind == "private_address"
    assert web.requests_for("/geheim") == []


def test_ssrf_guard_applies_after_every_redirect(web, router):
    inside = web.url("/admin", index=1)  # 127.0.0.2
    router["/weiter"] = Reply(302, headers={"Location": inside})
    router["/admin"] = Reply(200, body=PAGE)
    outcome = check(web.url("/weiter"), allowed_networks=["127.0.0.1/32"])
    assert outcome.kind == "private_address"
    assert outcome.redirects == [(302, inside)]
    assert web.requests_for("/admin") == []


def test_guard_connects_to_the_address_it_vetted(web, router):
    """One lookup per connection, and the socket goes to that vetted address: no second DNS answer to rebind."""
    router["/seite"] = Reply(200, body=PAGE)
    port = web.bound[1][1]
    lookups: list[str] = []
    answers = {"rebind.test": ["127.0.0.2", "127.0.0.1"]}

    def lookup(host: str, port_: int) -> list:
        lookups.append(host)
        address = answers[host][min(len(lookups) - 1, 1)]
        return socket.getaddrinfo(address, port_, type=socket.SOCK_STREAM)

    with Engine(make_policy(allowed_networks=["127.0.0.2/32"]),
                resolver=Resolver(lookup=lookup, ttl=0)) as engine:
        outcome = engine.check(f"http://rebind.test:{port}/seite")
        assert outcome.kind == "ok"
        assert lookups == ["rebind.test"]
        assert web.requests_for("/seite")[0].ip == "127.0.0.2"
        engine.close()  # drop the pooled connection, so the next request must resolve again
        second = engine.check(f"http://rebind.test:{port}/seite?neu")  # the next answer is 127.0.0.1
        assert second.kind == "private_address"
        assert lookups == ["rebind.test", "rebind.test"]


@pytest.mark.parametrize(("address", "allowed"), [
    ("93.184.216.34", True), ("2a00:1450:4001:82a::2004", True), ("127.0.0.1", False), ("10.1.2.3", False),
    ("192.168.0.10", False), ("172.16.5.4", False), ("169.254.169.254", False), ("100.64.0.1", False),
    ("224.0.0.251", False), ("0.0.0.0", False), ("::1", False), ("fe80::1", False), ("::ffff:127.0.0.1", False),
    ("fd00::1", False)])
def test_address_policy(address, allowed):
    assert AddressPolicy().permits(address) is allowed


def test_address_policy_allow_list():
    assert AddressPolicy(["127.0.0.0/8"]).permits("127.0.0.5")
    assert not AddressPolicy(["127.0.0.1/32"]).permits("127.0.0.5")


def test_per_host_limit_and_interval(router):
    """Margins that cannot flake: the server holds each answer 0.15 s, so a third request overlapping the first two
    within 0.1 s would break the limit; pauses of 0.4 s must show as gaps of at least 0.2 s (without them: ~1 ms)."""
    router["/langsam"] = Reply(200, body=PAGE, delay=0.15)
    with FakeWeb(router) as site:
        with Engine(make_policy(concurrency=6, per_host=2)) as engine:
            list(engine.run([Item(i, site.url(f"/langsam?{i}")) for i in range(6)]))
        starts = sorted(r.at for r in site.log)
        overlapping = max(sum(1 for s in starts if s <= t < s + 0.1) for t in starts)
        assert overlapping <= 2
        site.log.clear()
        with Engine(make_policy(concurrency=4, per_host=2, host_interval=0.4)) as engine:
            list(engine.run([Item(i, site.url(f"/langsam?b{i}")) for i in range(3)]))
        assert min_gap(site.log) >= 0.2


def test_a_site_waits_for_its_robots_txt_while_other_sites_go_ahead(router):
    """Until a site's robots.txt is in, a second free worker checks another site instead of waiting on the first."""
    slow_robots = Reply(200, headers={"Content-Type": "text/plain"}, body="User-agent: *\nAllow: /\n", delay=0.4)
    router["/robots.txt"] = lambda request: slow_robots if request.ip == "127.0.0.2" else Reply(404)
    router["/seite"] = Reply(200, body=PAGE)
    with FakeWeb(router, [("127.0.0.2", 0), ("127.0.0.3", 0)]) as site:
        items = [Item(i, site.url(f"/seite?{i}", index=0)) for i in range(3)]
        items += [Item(10 + i, site.url(f"/seite?{i}", index=1)) for i in range(3)]
        with Engine(make_policy(concurrency=2, per_host=2, robots=True)) as engine:
            assert {o.kind for _, o in engine.run(items)} == {"ok"}
        robots = next(r for r in site.log if r.path == "/robots.txt" and r.ip == "127.0.0.2")
        first_pages = [r.at for r in site.log if r.path.startswith("/seite") and r.ip == "127.0.0.2"]
        other_site = [r.at for r in site.log if r.ip == "127.0.0.3"]
        assert min(first_pages) >= robots.at + 0.35  # nothing else on that site while its robots.txt loads
        assert min(other_site) < robots.at + 0.3  # the second worker went to the other site meanwhile


def min_gap(log: list[Request]) -> float:
    """The shortest time between two requests the server received."""
    starts = sorted(r.at for r in log)
    return min(b - a for a, b in zip(starts, starts[1:], strict=False))


def robots_by_host(rules: dict[str, str]):
    """A robots.txt route whose rules depend on the address asked (two hosts, one router)."""
    def answer(request: Request) -> Reply:
        body = rules.get(request.ip, "User-agent: *\nAllow: /\n")
        return Reply(200, headers={"Content-Type": "text/plain"}, body=body)
    return answer


def test_robots_txt_of_every_redirect_target_is_respected_and_cached(web, router):
    router["/robots.txt"] = robots_by_host({"127.0.0.2": "User-agent: *\nDisallow: /\n"})
    router["/weiter"] = lambda r: Reply(302, headers={"Location": web.url("/seite", index=1)})
    router["/seite"] = Reply(200, body=PAGE)
    with Engine(make_policy(robots=True)) as engine:
        outcomes = [o for _, o in engine.run([Item(i, web.url(f"/weiter?{i}")) for i in range(3)])]
    assert [o.kind for o in outcomes] == ["robots"] * 3
    assert outcomes[0].redirects == [(302, web.url("/seite", index=1))]
    assert web.requests_for("/seite") == []  # the forbidden target was never fetched
    assert sorted(r.ip for r in web.requests_for("/robots.txt")) == ["127.0.0.1", "127.0.0.2"]  # once per site


def test_host_interval_holds_for_robots_txt_and_same_host_hops(web, router):
    router["/robots.txt"] = Reply(301, headers={"Location": "/regeln.txt"})
    router["/regeln.txt"] = robots_by_host({"127.0.0.1": "User-agent: *\nDisallow: /intern/\n"})
    router["/alt"] = Reply(301, headers={"Location": "/zwischen"})
    router["/zwischen"] = Reply(302, headers={"Location": "/neu"})
    router["/neu"] = Reply(200, body=PAGE)
    outcome = check(web.url("/alt"), robots=True, host_interval=0.4, deadline=5.0)
    assert outcome.kind == "ok" and len(outcome.redirects) == 2
    assert [r.path for r in web.log] == ["/robots.txt", "/regeln.txt", "/alt", "/zwischen", "/neu"]
    assert min_gap(web.log) >= 0.2  # each request waited for the host's pause (without it: 1-11 ms)
    assert check(web.url("/intern/x"), robots=True).kind == "robots"  # the redirected robots.txt counts


def test_retry_after_on_a_redirect_is_waited_for_or_reported(web, router):
    router["/bitte-warten"] = lambda r: Reply(302, headers={"Location": web.url("/ziel", index=1),
                                                            "Retry-After": "1"})
    router["/viel-spaeter"] = Reply(302, headers={"Location": "/ziel", "Retry-After": "3600"})
    router["/ziel"] = Reply(200, body=PAGE)
    assert check(web.url("/bitte-warten"), deadline=5.0).kind == "redirect_other_domain"  # followed
    hop, target = web.log[0], web.requests_for("/ziel")[0]
    assert target.at - hop.at >= 0.5  # waited for the target host (1 s asked; generous margin)
    outcome = check(web.url("/viel-spaeter"), deadline=5.0)
    assert (outcome.kind, outcome.retry_after) == ("rate_limited", 3600.0)
    assert len(web.requests_for("/ziel")) == 1  # not followed


def test_hosts_are_checked_in_parallel(router):
    router["/langsam"] = Reply(200, body=PAGE, delay=1.0)
    with FakeWeb(router, [(f"127.0.0.{i}", 0) for i in range(2, 8)]) as site:
        started = time.monotonic()
        with Engine(make_policy(concurrency=6, per_host=1)) as engine:
            results = list(engine.run([Item(i, site.url("/langsam", index=i)) for i in range(6)]))
        assert len(results) == 6 and time.monotonic() - started < 4.0  # one after another: 6 s
