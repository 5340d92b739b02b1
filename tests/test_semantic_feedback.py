"""Feedback from a search's own best hits (issue 17): the meaning is asked again, moved toward what words and
meaning agree on. Needs no model: the vectors here are written by hand."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from atlas.search.ranking import Pin, Ranker, Semantic
from atlas.search.semantic import VectorStore


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def test_the_store_moves_the_query_toward_the_mean_of_the_given_documents(tmp_path):
    store = VectorStore(tmp_path)
    # Store rows in another order than the snapshot's documents; sid 40 has no vector at all.
    store.save(np.array([30, 10, 20]), np.vstack([unit(0, 0, 1), unit(1, 0, 0), unit(0, 1, 0)]), {})
    snap_sids = np.array([10, 20, 30, 40])
    query = unit(1, 0, 0)

    moved = store.feedback(snap_sids, query, np.array([1, 2]), share=0.4)  # documents of sids 20 and 30

    wanted = 0.4 * query + 0.6 * (unit(0, 1, 0) + unit(0, 0, 1)) / 2
    wanted /= np.linalg.norm(wanted)
    assert moved[:3] == pytest.approx([wanted[0], wanted[1], wanted[2]], abs=1e-6)
    assert moved[3] == -1.0  # no vector: never found by meaning
    assert store.feedback(snap_sids, query, np.array([3]), share=0.4) is None  # no vector among the hits


def ranker(size: int) -> Ranker:
    snap = SimpleNamespace(size=size, live_count=size, sid=np.arange(100, 100 + size))
    return Ranker(snap, internal=True)


def test_the_fused_order_s_best_offers_steer_a_second_fusion():
    # Words find documents 0 and 1; the query's vector alone prefers 3, then 2, over them.
    score = np.array([2.0, 1.0, 0.0, 0.0])
    matched = np.array([True, True, False, False])
    mask = np.ones(4, dtype=bool)
    asked: list[list[int]] = []

    def refine(docs: np.ndarray) -> np.ndarray:
        asked.append(sorted(docs.tolist()))
        return np.array([0.9, 0.8, 0.85, 0.1], dtype=np.float32)  # moved toward 0 and 1: 3 is far now

    first = Semantic(np.array([0.70, 0.60, 0.80, 0.90], dtype=np.float32), weight=1.0, top=2, margin=1.0)
    plain, _ = ranker(4).fuse(score, matched, mask, first)
    assert int(np.argmax(plain)) == 0 and plain[3] > plain[1]  # without feedback the vague neighbour 3 beats 1

    fed = Semantic(first.cosine, weight=1.0, top=2, margin=1.0, refine=refine, feedback=2)
    fused, found = ranker(4).fuse(score, matched, mask, fed)

    assert asked == [[0, 3]]  # the first fused order's best two
    assert fused[3] == 0.0 and not found[3]  # no longer among the meaning's best
    assert found[2] and fused[2] > 0  # document 2, close to what words found, joins in its place
    assert list(np.argsort(-fused, kind="stable")[:3]) == [0, 1, 2]


def test_without_feedback_or_without_vectors_among_the_hits_the_first_fusion_stands():
    score = np.array([2.0, 1.0, 0.0])
    matched = np.array([True, True, False])
    mask = np.ones(3, dtype=bool)
    cosine = np.array([0.7, 0.6, 0.9], dtype=np.float32)
    plain, _ = ranker(3).fuse(score, matched, mask, Semantic(cosine, top=2, margin=1.0))
    off, _ = ranker(3).fuse(score, matched, mask, Semantic(cosine, top=2, margin=1.0,
                                                           refine=lambda docs: pytest.fail("asked"), feedback=0))
    empty, _ = ranker(3).fuse(score, matched, mask, Semantic(cosine, top=2, margin=1.0,
                                                             refine=lambda docs: None, feedback=3))
    assert list(off) == list(plain) == list(empty)


def test_crisis_help_is_ordered_without_feedback():
    # With a danger signalled, the pinned crisis offers are ordered by the danger's words and the first fusion:
    # the search's best hits do not move the meaning then.
    score = np.array([2.0, 1.0, 0.0])
    matched = np.array([True, True, False])
    mask = np.ones(3, dtype=bool)
    semantic = Semantic(np.array([0.7, 0.6, 0.9], dtype=np.float32), top=2, margin=1.0,
                        refine=lambda docs: pytest.fail("feedback asked during a crisis"), feedback=2)
    crisis = ranker(3)
    crisis.pin = Pin(("krisenhilfe",), ())
    plain, _ = ranker(3).fuse(score, matched, mask, replace(semantic, refine=None))
    fused, _ = crisis.fuse(score, matched, mask, semantic)
    assert list(fused) == list(plain)


def test_offers_the_words_score_the_same_are_ordered_by_the_refined_meaning():
    # Documents 0, 1 and 2 tie on the words (a need's offers at its floor); the refined meaning prefers 2.
    score = np.array([1.0, 1.0, 1.0, 0.0])
    matched = np.array([True, True, True, False])
    mask = np.ones(4, dtype=bool)
    refined = np.array([0.5, 0.6, 0.9, 0.2], dtype=np.float32)
    semantic = Semantic(np.array([0.9, 0.1, 0.1, 0.1], dtype=np.float32), top=1, margin=1.0,
                        refine=lambda docs: refined, feedback=1)
    fused, _ = ranker(4).fuse(score, matched, mask, semantic)
    assert list(np.argsort(-fused, kind="stable")[:3]) == [2, 1, 0]
    # The first fusion keeps the index's order among ties: only the meaning's own best (0) moves up there.
    first, _ = ranker(4).fuse(score, matched, mask, replace(semantic, refine=None))
    assert list(np.argsort(-first, kind="stable")[:3]) == [0, 1, 2]
