"""Snowflake backend: snowflake-ml-python FeatureStore, ExperimentTracking and Registry."""
