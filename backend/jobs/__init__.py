"""Work in the background: the dramatiq broker, the transactional outbox and its relay, durable
timers and periodic jobs. Actors live in each domain's tasks.py and take ids, never objects."""
