"""The recommender engine (a RecBole general recommender, BPR by default): training, export and
inference, popularity fallback.

Modules: ``compat`` (the only RecBole shims), ``train`` (``train_engine``, ``train_bpr``),
``export`` (the checkpoint the service loads), ``service`` (``Recommender``), ``popularity``,
``ranking`` (result types and checks), ``split`` (holdout views), ``swing``.
"""
