"""The e-mail channel: SMTP intake, IMAP intake, parsing, and replies through a smarthost."""
