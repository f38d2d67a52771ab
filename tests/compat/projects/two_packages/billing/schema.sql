CREATE TABLE account (id bigserial PRIMARY KEY, balance_cents bigint NOT NULL DEFAULT 0);
