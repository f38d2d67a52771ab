CREATE TABLE widget (id serial PRIMARY KEY, name text NOT NULL);
