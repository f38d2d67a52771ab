CREATE TABLE authors (
  id   BIGINT PRIMARY KEY,
  name text   NOT NULL,
  bio  text
);
