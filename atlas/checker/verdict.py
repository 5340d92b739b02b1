"""From one check's finding to a link's verdict: counters, the N-failures-over-H-hours rule, overrides, cadence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .engine import Outcome
from .models import Link

# Each finding belongs to a class that decides how it moves the verdict:
#   ok       the page works (a permanent redirect still works, and comes with a suggestion)
#   changed  the page works but is not what it was: a person must look (link_changed task)
#   hard     404/410/NXDOMAIN and pages that say so: broken after fewer failures
#   fail     everything else that fails; broken after N failures spanning H hours
#   fatal    the stored value is not a usable address: broken at once
#   blocked  403 or a bot wall: manual check when it persists
#   manual   the checker may not look (robots.txt, internal address): manual check at once
KIND_CLASS = {
    "ok": "ok", "redirect_permanent": "ok",
    "redirect_home": "changed", "redirect_other_domain": "changed", "content_changed": "changed",
    "http_404": "hard", "http_410": "hard", "dns": "hard", "soft_404": "hard", "parked": "hard",
    "invalid_url": "fatal",
    "http_client": "fail", "http_server": "fail", "rate_limited": "fail", "timeout": "fail", "refused": "fail",
    "connection": "fail", "dns_temporary": "fail", "redirect_loop": "fail", "too_many_redirects": "fail",
    "tls_expired": "fail", "tls_self_signed": "fail", "tls_hostname": "fail", "tls_untrusted": "fail",
    "tls_other": "fail",
    "blocked": "blocked",
    "robots": "manual", "private_address": "manual",
}
FAILURE_CLASSES = {"hard", "fail", "fatal", "blocked"}


@dataclass
class VerdictPolicy:
    """Thresholds and re-check intervals (hours)."""

    broken_after: int = 3
    broken_hours: float = 24
    hard_after: int = 2
    hard_hours: float = 1
    manual_after: int = 2
    interval_ok: float = 72
    interval_warning: float = 6
    interval_broken: float = 24
    interval_manual: float = 168

    @classmethod
    def from_config(cls, config: Any) -> VerdictPolicy:
        """Build from the CHECK_* settings."""
        return cls(config["CHECK_BROKEN_AFTER_FAILURES"], config["CHECK_BROKEN_AFTER_HOURS"],
                   config["CHECK_HARD_BROKEN_AFTER_FAILURES"], config["CHECK_HARD_BROKEN_AFTER_HOURS"],
                   config["CHECK_MANUAL_AFTER_BLOCKS"], config["CHECK_INTERVAL_OK_HOURS"],
                   config["CHECK_INTERVAL_WARNING_HOURS"], config["CHECK_INTERVAL_BROKEN_HOURS"],
                   config["CHECK_INTERVAL_MANUAL_HOURS"])


@dataclass
class Transition:
    """What a check changed: the states before and after, and which review task the link now calls for."""

    before: str
    after: str
    task: str | None
    changed_class: bool


def kind_class(kind: str | None) -> str:
    """The class of a finding (unknown findings count as plain failures)."""
    return KIND_CLASS.get(kind or "ok", "fail")


def apply(link: Link, outcome: Outcome, now: datetime, policy: VerdictPolicy) -> Transition:
    """Record an outcome on a link and decide its new state and next check time."""
    before = link.state
    cls = kind_class(outcome.kind)
    _record(link, outcome, now)
    if cls in ("ok", "changed"):
        link.consecutive_failures, link.first_failure_at, link.last_success_at = 0, None, now
        if cls == "ok" and outcome.page is not None:
            link.title, link.content_excerpt = outcome.page.title or None, outcome.page.excerpt or None
            link.content_hash = outcome.page.digest
        computed = "ok" if cls == "ok" else "warning"
    elif cls == "manual":
        computed = "manual_check"
    else:
        if not link.consecutive_failures or link.first_failure_at is None:
            link.first_failure_at = now
        link.consecutive_failures += 1
        computed = _failure_state(link, cls, now, policy, before)
    link.state = _with_override(link, outcome.kind, computed)
    if link.state == "ok" and computed != "ok":
        # A coordinator declared this finding a false positive: it does not build up towards "broken".
        link.consecutive_failures, link.first_failure_at = 0, None
    if link.state != before:
        link.state_changed_at = now
    link.next_check_at = _next_check(link, cls, outcome, now, policy)
    task = None
    if link.state == "broken":
        task = "link_broken"
    elif link.state == "warning" and cls == "changed":
        task = "link_changed"
    return Transition(before, link.state, task, cls == "changed")


def _record(link: Link, outcome: Outcome, now: datetime) -> None:
    link.check_count = (link.check_count or 0) + 1
    link.last_check_at = now
    link.kind = None if outcome.kind == "ok" else outcome.kind
    link.detail = (outcome.detail or "")[:500] or None
    link.http_status = outcome.status
    link.final_url = (outcome.final_url or "")[:2000] or None
    link.redirect_count = len(outcome.redirects)
    link.suggested_url = outcome.suggested_url
    link.content_type = (outcome.content_type or "")[:120] or None
    link.duration_ms = outcome.duration_ms


def _failure_state(link: Link, cls: str, now: datetime, policy: VerdictPolicy, before: str) -> str:
    if cls == "fatal":
        return "broken"
    if cls == "blocked":
        return "manual_check" if link.consecutive_failures >= policy.manual_after else "warning"
    if before == "broken" or (before == "ignored" and link.override_basis == "broken"):
        return "broken"  # stays broken until it works again
    failures, hours = ((policy.hard_after, policy.hard_hours) if cls == "hard"
                       else (policy.broken_after, policy.broken_hours))
    span = now - (link.first_failure_at or now)
    if link.consecutive_failures >= failures and span >= timedelta(hours=hours):
        return "broken"
    return "warning"


def _with_override(link: Link, kind: str, computed: str) -> str:
    """Keep a coordinator's "mark ok" while the finding is the same, and "ignore" while the verdict is."""
    if link.override_state == "ok" and link.override_basis == kind and computed != "ok":
        return "ok"
    if link.override_state == "ignored" and link.override_basis == computed:
        return "ignored"
    link.override_state = link.override_basis = link.override_by = None
    return computed


def _next_check(link: Link, cls: str, outcome: Outcome, now: datetime, policy: VerdictPolicy) -> datetime:
    hours = {"ok": policy.interval_ok, "warning": policy.interval_warning, "broken": policy.interval_broken,
             "manual_check": policy.interval_manual, "ignored": policy.interval_ok}.get(link.state, policy.interval_ok)
    if link.state == "warning" and cls == "hard":
        hours = min(hours, policy.hard_hours)
    when = now + timedelta(hours=hours)
    if outcome.retry_after:
        when = max(when, now + timedelta(seconds=min(outcome.retry_after, 30 * 86400)))
    return when


def mark_ok(link: Link, who: str) -> None:
    """A coordinator says the link is fine: ok while the same finding repeats; a changed page becomes the baseline."""
    basis = link.kind or "ok"
    if basis == "content_changed":
        link.title = link.content_excerpt = link.content_hash = None
    link.override_state, link.override_basis, link.override_by = "ok", basis, who
    link.state = "ok"
    link.consecutive_failures, link.first_failure_at = 0, None


def ignore(link: Link, who: str) -> None:
    """A coordinator dismisses the link until its verdict changes."""
    link.override_state, link.override_basis, link.override_by = "ignored", link.state, who
    link.state = "ignored"
