"""What a trained RecBole engine becomes for the inference service: its whole user x item score
matrix (RecBole's own ``full_sort_predict``), its item vectors when it has embeddings, its user
vectors when its scores ARE user · item (a factorised engine: BPR, LightGCN), the id maps and the
interactions — plain tensors, loadable with ``torch.load(weights_only=True)``."""

from __future__ import annotations

from typing import Any

import torch

from recagents.recommender import compat

_SCORE_BATCH = 256  # users per full_sort_predict call while exporting the score matrix


def _score_matrix(model: Any, dataset: Any) -> torch.Tensor:
    """users x items scores of the trained model (RecBole's ``full_sort_predict``, the same
    call its full-ranking evaluation makes), row and column 0 (padding) included."""
    rb = compat.import_recbole()
    n_users, n_items = int(dataset.user_num), int(dataset.item_num)
    scores = torch.full((n_users, n_items), float("-inf"))
    model.eval()
    with torch.no_grad():
        for start in range(1, n_users, _SCORE_BATCH):
            users = torch.arange(start, min(start + _SCORE_BATCH, n_users), dtype=torch.long)
            batch = rb.Interaction({dataset.uid_field: users}).to(model.device)
            rows = model.full_sort_predict(batch).detach().float().cpu().view(len(users), -1)
            scores[users] = rows[:, :n_items]
    scores[:, 0] = float("-inf")
    return scores


# A factorised engine's exported scores equal user · item up to float rounding: this tolerance
# (relative to the largest score) decides whether the user vectors are exported with the items.
FACTORISED_RTOL = 1e-4


def _vectors(model: Any) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """(user, item) representations the model scores with, when it has them (fold-in uses the
    items): LightGCN-like models' propagated embeddings, else the embedding tables."""
    table = getattr(model, "item_embedding", None)
    if not isinstance(table, torch.nn.Embedding):
        return None, None
    users = getattr(model, "user_embedding", None)
    users = users.weight if isinstance(users, torch.nn.Embedding) else None
    if hasattr(model, "get_ego_embeddings"):  # graph models: forward() propagates
        with torch.no_grad():
            out = model.forward()
        if isinstance(out, tuple) and len(out) == 2 and out[1].shape[0] == table.num_embeddings:
            return out[0].detach().float().cpu().clone(), out[1].detach().float().cpu().clone()
    items = table.weight.detach().float().cpu().clone()
    return (None if users is None else users.detach().float().cpu().clone()), items


def factorises(scores: torch.Tensor, users: torch.Tensor, items: torch.Tensor) -> bool:
    """Whether ``scores`` (users x items, padding row/column 0) is ``users @ items.T``."""
    if users.shape[0] != scores.shape[0] or items.shape[0] != scores.shape[1]:
        return False
    product = users[1:] @ items[1:].T
    exact = scores[1:, 1:]
    scale = float(exact.abs().max()) or 1.0
    return float((product - exact).abs().max()) <= FACTORISED_RTOL * scale


def export_state(model: Any, dataset: Any) -> dict[str, Any]:
    """The service's view of a trained engine: external ids, scores, all interactions."""

    def external_ids(field: str) -> torch.Tensor:
        tokens = dataset.field2id_token[field]
        return torch.tensor([-1] + [int(t) for t in tokens[1:]], dtype=torch.long)

    inter = dataset.inter_feat
    pairs = torch.stack(
        [inter[dataset.uid_field].long(), inter[dataset.iid_field].long()], dim=1
    ).contiguous()
    state = {
        "user_ids": external_ids(dataset.uid_field),
        "item_ids": external_ids(dataset.iid_field),
        "scores": _score_matrix(model, dataset),
        "interactions": pairs,
    }
    users, items = _vectors(model)
    if items is not None:
        state["item_vectors"] = items
        if users is not None and factorises(state["scores"], users, items):
            state["user_vectors"] = users
    return state


def external_pairs(dataset: Any, part: Any) -> Any:
    """The (user, item) pairs of one split part in external ids, as an (n, 2) int64 array."""
    import numpy as np

    users = np.asarray(dataset.field2id_token[dataset.uid_field][1:], dtype=np.int64)
    items = np.asarray(dataset.field2id_token[dataset.iid_field][1:], dtype=np.int64)
    inter = part.inter_feat
    u = inter[dataset.uid_field].numpy().astype(np.int64)
    i = inter[dataset.iid_field].numpy().astype(np.int64)
    return np.stack([users[u - 1], items[i - 1]], axis=1)
