CREATE TABLE note (id serial PRIMARY KEY, body text NOT NULL);
