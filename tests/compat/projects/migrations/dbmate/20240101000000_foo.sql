-- migrate:up
CREATE TABLE foo (bar int NOT NULL);

-- migrate:down
DROP TABLE foo;
