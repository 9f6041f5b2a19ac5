"""BPR (RecBole) training and inference, popularity fallback.

Modules: ``compat`` (the only RecBole shims), ``train`` (``train_bpr``), ``service``
(``Recommender``), ``popularity``, ``ranking`` (result types and checks).
"""
