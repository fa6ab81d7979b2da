"""Prefect flows: they only orchestrate; each task calls one plain function from warehouse/,
features/, models/ or segments/. flows/run.py runs them from the CLI; prefect.yaml deploys them."""
