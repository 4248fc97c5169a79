"""Training services: job lifecycle (jobs), retraining (retrain), pool scoring (scoring), evaluation and
promotion (evaluation), what is trained on (datasets, pixels), the registry (registry)."""
