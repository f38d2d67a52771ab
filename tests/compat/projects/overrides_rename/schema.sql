CREATE TABLE products (
    id serial PRIMARY KEY,
    sku text NOT NULL,
    price numeric(10, 2) NOT NULL,
    discount numeric(10, 2),
    spotify_url text,
    listed_at timestamptz
);
