"""The vendor channel: tickets pushed to the responsible companies' webhooks."""
