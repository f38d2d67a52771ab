CREATE TABLE invoice (
    id bigserial PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customer (id),
    total_cents bigint NOT NULL CHECK (total_cents >= 0),
    paid_at timestamptz
);
