--
-- A pg_dump of a retrieval service: pgvector columns under a UNIQUE constraint
-- (pgvector's btree operator class) and an HNSW index.
--

SET statement_timeout = 0;
SET client_encoding = 'UTF8';
SELECT pg_catalog.set_config('search_path', '', false);

CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA public;

COMMENT ON EXTENSION vector IS 'vector data type and ivfflat and hnsw access methods';

SET default_tablespace = '';

CREATE TABLE public.passages (
    id bigint NOT NULL,
    document_id bigint NOT NULL,
    chunk integer NOT NULL,
    body text NOT NULL,
    embedding public.vector(3) NOT NULL,
    sketch public.halfvec(2)
);

CREATE SEQUENCE public.passages_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.passages_id_seq OWNED BY public.passages.id;

ALTER TABLE ONLY public.passages ALTER COLUMN id SET DEFAULT nextval('public.passages_id_seq'::regclass);

ALTER TABLE ONLY public.passages
    ADD CONSTRAINT passages_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.passages
    ADD CONSTRAINT passages_document_id_chunk_embedding_key UNIQUE (document_id, chunk, embedding);

CREATE INDEX passages_embedding_hnsw ON public.passages USING hnsw (embedding public.vector_cosine_ops);
