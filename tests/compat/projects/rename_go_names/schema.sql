CREATE TABLE links (
    id bigserial PRIMARY KEY,
    uuid uuid NOT NULL,
    url text NOT NULL,
    type text NOT NULL,
    list text
);
