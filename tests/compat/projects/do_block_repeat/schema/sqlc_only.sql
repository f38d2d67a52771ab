-- Read by sqlc only: it cannot see what the DO block above adds.
ALTER TABLE team ADD COLUMN slug text NOT NULL;
