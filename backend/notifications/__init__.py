"""Notifications: e-mails (templated, in the recipient's language, their one-time secrets masked in
what is stored and sealed for the actor that sends them over SMTP, or hands them to the server's
operator when no SMTP server is configured) and in-app notifications (the bell)."""
