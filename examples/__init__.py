"""The churn lab (shared/LAB.md), installed as ``mlops_kit.examples``."""
