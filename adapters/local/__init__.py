"""Local backend: DuckDB warehouse and feature store, MLflow tracker and registry."""
