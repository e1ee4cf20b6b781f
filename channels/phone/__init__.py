"""The phone channel: hotline call logs and the call centre's call-detail records."""
