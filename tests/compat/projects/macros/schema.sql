CREATE TABLE author (id bigserial PRIMARY KEY, name text NOT NULL, bio text);
CREATE TABLE book (id bigserial PRIMARY KEY, author_id bigint NOT NULL REFERENCES author (id), title text NOT NULL);
