"""Retrieval scores on galleries whose answers can be worked out by hand (book_utils.retrieval, Chapter 7)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from book_utils import retrieval as r


def test_cosine_matrix_ignores_length():
    a = np.array([[1.0, 0.0], [3.0, 3.0], [0.0, -2.0]])
    sim = r.cosine_matrix(a)
    assert sim.shape == (3, 3) and np.allclose(np.diag(sim), 1)
    assert sim[0, 1] == pytest.approx(np.sqrt(0.5)) and sim[0, 2] == pytest.approx(0.0)
    assert r.cosine_matrix(torch.tensor(a), a[:1]).shape == (3, 1)


def test_perfect_and_hand_worked_rankings():
    labels = [0, 0, 1, 1]
    perfect = np.array([[1, .9, .1, .2], [.9, 1, .3, .1], [.1, .3, 1, .8], [.2, .1, .8, 1]])
    assert r.recall_at_k(perfect, labels, 1) == 1.0
    assert r.mean_average_precision(perfect, labels) == 1.0
    assert r.precision_at_k(perfect, labels, 2) == 0.5  # one relevant item in each top 2
    # query 0 finds its partner second: AP 1/2; the others find theirs first
    worse = perfect.copy()
    worse[0, 2] = worse[2, 0] = 0.95
    assert r.recall_at_k(worse, labels, 1) == 0.5  # queries 0 and 2 both find each other first
    assert r.mean_average_precision(worse, labels) == pytest.approx((0.5 + 1 + 0.5 + 1) / 4)


def test_a_query_never_finds_itself_and_singletons_are_skipped_by_map():
    labels = [0, 1, 1]
    sim = np.eye(3)
    assert r.recall_at_k(sim, labels, 1) in (0.0, 1 / 3, 2 / 3)
    assert np.isfinite(r.mean_average_precision(sim, labels))
    with pytest.raises(ValueError, match="square"):
        r.recall_at_k(np.ones((3, 2)), labels)


def test_random_features_score_near_chance_and_clusters_score_high():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(20), 10)
    noise = rng.normal(size=(200, 32))
    chance = r.retrieval_scores(noise, labels)
    centres = rng.normal(size=(20, 32)) * 3
    clustered = r.retrieval_scores(centres[labels] + noise, labels)
    assert chance["mAP"] < 0.15 and clustered["mAP"] > 0.9 and clustered["recall@1"] > 0.95
    assert set(chance) == {"recall@1", "precision@9", "mAP"}


def test_embed_runs_in_eval_mode_and_restores_training():
    model = nn.Sequential(nn.Linear(4, 3), nn.Dropout(0.9))
    model.train()
    ds = TensorDataset(torch.ones(5, 4), torch.zeros(5))
    a, b = r.embed(model, ds, batch_size=2), r.embed(model, ds)
    assert a.shape == (5, 3) and torch.equal(a, b) and model.training
