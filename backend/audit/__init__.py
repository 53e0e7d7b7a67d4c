"""The append-only audit trail: who did what to which object, with the fields that changed."""
