CREATE TABLE "class" (
    id serial PRIMARY KEY,
    "from" text NOT NULL,
    "2fa" boolean NOT NULL DEFAULT false,
    "__dunder__" int,
    "list" int
);
