"""reconciler: plan/apply for Salesforce integration users and their access."""

__version__ = "0.1.0"
