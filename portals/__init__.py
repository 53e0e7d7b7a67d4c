"""The web pages of Merkato: the staff app, the supplier and customer portals, and the public site."""
