"""The WeChat Official Account channel: `webhook` (inbound) and `sender` (outbound)."""
