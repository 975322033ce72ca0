"""Retrieval: embeddings of a gallery, cosine similarities and how well a search ranks them (Chapter 7).

Introduced in notebook 07-2 and used through 07-5 and Chapter 8. The scores are leave-one-out: every gallery
item is a query once, searched among all the *other* items, and an item counts as relevant when it shows
the same person (label).

* :func:`embed`: features of a dataset from a model (eval mode, no gradients, batched).
* :func:`cosine_matrix`: all pairwise cosine similarities.
* :func:`recall_at_k`: fraction of queries with at least one relevant item in the top k.
* :func:`precision_at_k`: mean fraction of relevant items in the top k (the book shows a top-9 grid).
* :func:`mean_average_precision`: mean over queries of the average precision of the full ranking.
* :func:`retrieval_scores`: all three at once, as one dict.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


def _array(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def embed(model: torch.nn.Module, dataset: Any, batch_size: int = 256, device: Any = None) -> torch.Tensor:
    """Stacked ``model(x)`` outputs for every ``(x, y)`` item of ``dataset``, in order, on the CPU."""
    from torch.utils.data import DataLoader

    device = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = []
    try:
        with torch.no_grad():
            for x, _ in DataLoader(dataset, batch_size=batch_size):
                out.append(model(x.to(device)).float().cpu())
    finally:
        model.train(was_training)
    return torch.cat(out)


def cosine_matrix(a: Any, b: Any = None) -> np.ndarray:
    """Cosine similarity of every row of ``a`` with every row of ``b`` (default ``a``): normalise, then multiply."""
    a = _array(a).astype(np.float64).reshape(len(a), -1)
    b = a if b is None else _array(b).astype(np.float64).reshape(len(b), -1)
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return a @ b.T


def _ranked_relevance(similarity: Any, labels: Any) -> np.ndarray:
    """For each query (row), the relevance (bool) of the other items sorted by decreasing similarity."""
    sim = _array(similarity).astype(np.float64)
    labels = _array(labels).reshape(-1)
    n = len(labels)
    if sim.shape != (n, n):
        raise ValueError(f"similarity must be a square ({n}, {n}) gallery matrix, got {sim.shape}")
    if n < 2:
        raise ValueError("a leave-one-out search needs at least two items")
    sim = sim.copy()
    np.fill_diagonal(sim, -np.inf)  # a query never finds itself
    order = np.argsort(-sim, axis=1, kind="stable")[:, : n - 1]
    return labels[order] == labels[:, None]


def recall_at_k(similarity: Any, labels: Any, k: int = 1) -> float:
    """Fraction of queries whose top ``k`` holds at least one item with the query's label."""
    rel = _ranked_relevance(similarity, labels)
    return float(rel[:, :k].any(axis=1).mean())


def precision_at_k(similarity: Any, labels: Any, k: int = 9) -> float:
    """Mean fraction of the top ``k`` that has the query's label."""
    rel = _ranked_relevance(similarity, labels)
    return float(rel[:, :k].mean())


def mean_average_precision(similarity: Any, labels: Any) -> float:
    """Mean average precision over queries that have at least one other item with their label.

    A query's average precision is the mean, over its relevant items, of the precision at each one's rank:
    1.0 when all of them come first, about (relevant / gallery size) for a random order.
    """
    rel = _ranked_relevance(similarity, labels)
    hits = np.cumsum(rel, axis=1)
    ranks = np.arange(1, rel.shape[1] + 1)
    total = rel.sum(axis=1)
    ok = total > 0
    ap = (np.where(rel, hits / ranks, 0.0).sum(axis=1)[ok] / total[ok])
    return float(ap.mean()) if ok.any() else float("nan")


def retrieval_scores(features: Any, labels: Any, k_recall: int = 1, k_precision: int = 9) -> dict[str, float]:
    """``{"recall@1", "precision@9", "mAP"}`` (with the ``k`` values given) of a cosine search in ``features``."""
    sim = cosine_matrix(features)
    return {f"recall@{k_recall}": recall_at_k(sim, labels, k_recall),
            f"precision@{k_precision}": precision_at_k(sim, labels, k_precision),
            "mAP": mean_average_precision(sim, labels)}
