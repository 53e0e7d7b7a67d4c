"""Generated documents (PDFs): requested by a page, rendered only by workers, kept in a storage
outside the web root and handed out only through routes that check tenant, party and role."""
