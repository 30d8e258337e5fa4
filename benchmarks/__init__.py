"""Benchmarks of mlops_kit against the code a user would write without it.

    python -m benchmarks                 # every benchmark, full sizes (about 10 minutes on 2 cores)
    python -m benchmarks --quick         # small sizes, a CI smoke run (well under 2 minutes)
    python -m benchmarks --only 3,5      # some of them
    python -m benchmarks --markdown PATH # where the results table goes (default benchmarks/RESULTS.md)

Each benchmark measures the kit and its baseline in the same run, on the same data (the kit's own
generator, seed 42), checks that both produced the same result (same rows, same predictions) and
only then reports their ratio. Timings are medians of several runs after a warm-up (fewer for the
heavy ones; the table says how many); memory is the peak RSS of the child process that did the work.
Every measured thing runs in a fresh subprocess with its own temporary ``MLOPS_KIT_HOME``.

| # | module | what |
|---|---|---|
| 1 | ``lab_vs_plain`` | the whole local lab vs a plain pandas/DuckDB/sklearn script |
| 2 | ``lab_vs_mlflow`` | the whole local lab vs the same lab on MLflow's defaults |
| 3 | ``pit_join`` | point-in-time training set vs a hand-written DuckDB ASOF JOIN |
| 4 | ``features_1m`` | labels, feature views v1/v2, training set for 1M customers vs pandas |
| 5 | ``batch_scoring`` | 1M rows through the registry and through SQL vs raw XGBoost |
| 6 | ``startup`` | ``mlops-kit --help``, ``import mlops_kit`` and the read commands on a lab store vs the bare interpreter |
| 7 | ``metric_logging`` | 10,000 metric points through the Tracker vs MLflow ``log_batch`` |
| 8 | ``concurrent_labs`` | 4 labs started together on one fresh home (and plain MLflow, 4 processes) |
"""
