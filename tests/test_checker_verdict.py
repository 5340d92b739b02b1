"""Verdict rules as pure functions with an injected clock."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from atlas.checker.content import parse_html
from atlas.checker.engine import Outcome
from atlas.checker.models import Link
from atlas.checker.verdict import KIND_CLASS, VerdictPolicy, apply, ignore, mark_ok

T0 = datetime(2026, 3, 2, 8, 0)
POLICY = VerdictPolicy()


def fresh() -> Link:
    return Link(url="https://beratung.example/", url_key="k", host="beratung.example", state="new", check_count=0,
                consecutive_failures=0, redirect_count=0)


def feed(link: Link, kinds_and_hours: list[tuple[str, float]]) -> list[str]:
    states = []
    for kind, hours in kinds_and_hours:
        apply(link, Outcome(link.url, kind), T0 + timedelta(hours=hours), POLICY)
        states.append(link.state)
    return states


def test_every_engine_finding_has_a_class_and_advice():
    from atlas.checker.advice import KIND_ADVICE, KIND_LABELS
    assert set(KIND_CLASS) == set(KIND_LABELS) == set(KIND_ADVICE)


def test_temporary_failures_need_n_failures_spanning_h_hours():
    link = fresh()
    assert feed(link, [("timeout", 0), ("http_server", 1), ("timeout", 2)]) == ["warning"] * 3  # 3, but only 2 h
    assert feed(link, [("timeout", 24)]) == ["broken"]
    assert (link.consecutive_failures, link.first_failure_at) == (4, T0)
    other = fresh()
    assert feed(other, [("timeout", 0), ("timeout", 30)]) == ["warning", "warning"]  # 30 h, but only 2 failures


def test_not_found_and_unknown_domain_count_faster():
    assert feed(fresh(), [("http_404", 0), ("http_404", 1)]) == ["warning", "broken"]
    assert feed(fresh(), [("dns", 0), ("dns", 0.5), ("dns", 1)]) == ["warning", "warning", "broken"]
    assert feed(fresh(), [("invalid_url", 0)]) == ["broken"]


def test_success_resets_the_counters():
    link = fresh()
    feed(link, [("timeout", 0), ("timeout", 10)])
    assert feed(link, [("ok", 12)]) == ["ok"]
    assert (link.consecutive_failures, link.first_failure_at) == (0, None)
    assert link.last_success_at == T0 + timedelta(hours=12)
    assert feed(link, [("timeout", 13), ("timeout", 20), ("timeout", 30)]) == ["warning"] * 3  # a new streak


def test_broken_stays_broken_while_failures_continue():
    link = fresh()
    feed(link, [("http_404", 0), ("http_404", 1)])
    assert feed(link, [("timeout", 2)]) == ["broken"]


def test_bot_blocks_become_manual_checks_and_robots_at_once():
    assert feed(fresh(), [("blocked", 0), ("blocked", 6)]) == ["warning", "manual_check"]
    assert feed(fresh(), [("robots", 0)]) == ["manual_check"]
    assert feed(fresh(), [("private_address", 0)]) == ["manual_check"]


def test_changed_target_is_a_warning_that_asks_for_a_task():
    link = fresh()
    transition = apply(link, Outcome(link.url, "redirect_home"), T0, POLICY)
    assert (transition.after, transition.task) == ("warning", "link_changed")
    assert link.last_success_at == T0 and link.consecutive_failures == 0


def test_only_good_checks_update_the_content_baseline():
    link = fresh()
    page = parse_html("<title>Beratung</title><main>Wir helfen bei Schulden und Miete.</main>")
    apply(link, Outcome(link.url, "ok", page=page), T0, POLICY)
    assert (link.title, link.content_excerpt) == ("Beratung", "Wir helfen bei Schulden und Miete.")
    other = parse_html("<title>Pizzeria</title><main>Pizza</main>")
    apply(link, Outcome(link.url, "content_changed", page=other), T0, POLICY)
    assert link.title == "Beratung"


def test_next_check_follows_the_state():
    link = fresh()
    apply(link, Outcome(link.url, "ok"), T0, POLICY)
    assert link.next_check_at == T0 + timedelta(hours=72)
    apply(link, Outcome(link.url, "timeout"), T0, POLICY)
    assert link.next_check_at == T0 + timedelta(hours=6)
    apply(link, Outcome(link.url, "http_404"), T0, POLICY)
    assert link.next_check_at == T0 + timedelta(hours=1)
    apply(link, Outcome(link.url, "rate_limited", retry_after=86400 * 2), T0, POLICY)
    assert link.next_check_at == T0 + timedelta(days=2)


def test_mark_ok_holds_for_the_same_finding_only():
    link = fresh()
    feed(link, [("blocked", 0), ("blocked", 6)])
    mark_ok(link, "kim@atlas.example")
    assert feed(link, [("blocked", 12), ("blocked", 200)]) == ["ok", "ok"]
    assert feed(link, [("http_404", 300), ("http_404", 302)]) == ["warning", "broken"]
    assert link.override_state is None


def test_mark_ok_on_a_changed_page_makes_the_new_page_the_baseline():
    link = fresh()
    link.title, link.content_excerpt = "Alt", "alter Text"
    link.kind, link.state = "content_changed", "warning"
    mark_ok(link, "kim@atlas.example")
    assert (link.title, link.content_excerpt, link.state) == (None, None, "ok")


@pytest.mark.parametrize(("then", "expected"), [("timeout", "ignored"), ("ok", "ok")])
def test_ignore_lasts_until_the_verdict_changes(then, expected):
    link = fresh()
    feed(link, [("timeout", 0)])
    ignore(link, "kim@atlas.example")
    assert feed(link, [(then, 1)]) == [expected]


def test_ignored_broken_link_stays_ignored_while_broken():
    link = fresh()
    feed(link, [("http_404", 0), ("http_404", 1)])
    ignore(link, "kim@atlas.example")
    assert feed(link, [("http_404", 30), ("timeout", 60)]) == ["ignored", "ignored"]
