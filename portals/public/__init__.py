"""Pages anyone may open: the apex site (landing, login, workspace chooser) and tenant login."""
