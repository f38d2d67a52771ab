CREATE TABLE authors (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    bio text,
    spotify_url text,
    rating numeric(3, 1) NOT NULL DEFAULT 0
);
