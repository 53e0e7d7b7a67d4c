"""Suppliers and customers: the parties whose users log in to the supplier and customer portals."""
