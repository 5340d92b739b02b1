"""Review tasks: open one per problem (idempotent by source), resolve them, list what is open for an entry."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Organization, ReviewTask, Service, User, utcnow


def open_task(session: Session, kind: str, entry: Organization | Service, title: str, detail: str | None = None,
              source_ref: str | None = None, due_date: date | None = None) -> ReviewTask:
    """Open a task for an entry's owner, or return the open task with the same source; the caller commits."""
    field = ReviewTask.service_id if isinstance(entry, Service) else ReviewTask.organization_id
    if source_ref is not None:
        existing = session.scalar(select(ReviewTask).where(field == entry.id, ReviewTask.source_ref == source_ref,
                                                           ReviewTask.resolved_at.is_(None)))
        if existing is not None:
            existing.detail = detail
            return existing
    owner = entry.effective_owner if isinstance(entry, Service) else entry.owner
    task = ReviewTask(kind=kind, title=title, detail=detail, source_ref=source_ref, due_date=due_date,
                      assignee=owner, **({"service": entry} if isinstance(entry, Service) else {"organization": entry}))
    session.add(task)
    return task


def resolve_task(task: ReviewTask, user: User | None, note: str | None = None) -> None:
    """Mark a task done with an optional note."""
    task.resolved_at = utcnow()
    task.resolved_by = user
    task.resolution_note = note


def resolve_by_source(session: Session, source_ref: str, user: User | None = None, note: str | None = None) -> int:
    """Resolve every open task with this source (e.g. when a broken link works again); returns how many."""
    tasks = session.scalars(select(ReviewTask).where(ReviewTask.source_ref == source_ref,
                                                     ReviewTask.resolved_at.is_(None))).all()
    for task in tasks:
        resolve_task(task, user, note)
    return len(tasks)


def open_tasks_for(session: Session, entry: Organization | Service) -> list[ReviewTask]:
    """Open tasks of an entry (for an offer: its own and its organisation's), oldest first."""
    if isinstance(entry, Service):
        cond = (ReviewTask.service_id == entry.id) | (ReviewTask.organization_id == entry.organization_id)
    else:
        cond = ReviewTask.organization_id == entry.id
    return list(session.scalars(select(ReviewTask).where(cond, ReviewTask.resolved_at.is_(None))
                                .order_by(ReviewTask.created_at, ReviewTask.id)))
