"""Backend adapters, installed as ``mlops_kit.adapters``: ``local`` (DuckDB + MLflow) and
``snowflake`` (snowflake-ml-python + Snowpark)."""
