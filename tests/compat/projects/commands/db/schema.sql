CREATE TABLE job (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    done boolean NOT NULL DEFAULT false
);
