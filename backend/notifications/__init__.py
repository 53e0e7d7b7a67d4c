"""Notifications: e-mails (templated, in the recipient's language, sent by an actor over SMTP or
kept for the Outgoing mail page) and in-app notifications (the bell)."""
