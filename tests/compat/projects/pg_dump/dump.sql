--
-- PostgreSQL database dump
--

\restrict jFSHx7EhArQSDWsvsA8LZdteMbmDkpg9f9Z5hlfYcjTYHXZ5KpkgWbUUMQ2r49F

-- Dumped from database version 15
-- Dumped by pg_dump version 15

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: app; Type: SCHEMA; Schema: -; Owner: postgres
--

CREATE SCHEMA app;


ALTER SCHEMA app OWNER TO postgres;

--
-- Name: status; Type: TYPE; Schema: app; Owner: postgres
--

CREATE TYPE app.status AS ENUM (
    'open',
    'closed'
);


ALTER TYPE app.status OWNER TO postgres;

--
-- Name: ticket_count(); Type: FUNCTION; Schema: public; Owner: postgres
--

CREATE FUNCTION public.ticket_count() RETURNS bigint
    LANGUAGE sql STABLE
    AS $$ SELECT count(*) FROM app.ticket $$;


ALTER FUNCTION public.ticket_count() OWNER TO postgres;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: ticket; Type: TABLE; Schema: app; Owner: app_owner
--

CREATE TABLE app.ticket (
    id bigint NOT NULL,
    title text NOT NULL,
    status app.status DEFAULT 'open'::app.status NOT NULL,
    opened_at timestamp with time zone DEFAULT now() NOT NULL,
    note text
);


ALTER TABLE app.ticket OWNER TO app_owner;

--
-- Name: ticket_id_seq; Type: SEQUENCE; Schema: app; Owner: app_owner
--

CREATE SEQUENCE app.ticket_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE app.ticket_id_seq OWNER TO app_owner;

--
-- Name: ticket_id_seq; Type: SEQUENCE OWNED BY; Schema: app; Owner: app_owner
--

ALTER SEQUENCE app.ticket_id_seq OWNED BY app.ticket.id;


--
-- Name: open_tickets; Type: VIEW; Schema: public; Owner: postgres
--

CREATE VIEW public.open_tickets AS
 SELECT ticket.id,
    ticket.title
   FROM app.ticket
  WHERE (ticket.status = 'open'::app.status);


ALTER TABLE public.open_tickets OWNER TO postgres;

--
-- Name: tag; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.tag (
    id integer NOT NULL,
    name character varying(40) NOT NULL
);


ALTER TABLE public.tag OWNER TO postgres;

--
-- Name: TABLE tag; Type: COMMENT; Schema: public; Owner: postgres
--

COMMENT ON TABLE public.tag IS 'tags; with a semicolon';


--
-- Name: tag_id_seq; Type: SEQUENCE; Schema: public; Owner: postgres
--

CREATE SEQUENCE public.tag_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE public.tag_id_seq OWNER TO postgres;

--
-- Name: tag_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: postgres
--

ALTER SEQUENCE public.tag_id_seq OWNED BY public.tag.id;


--
-- Name: ticket_tag; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.ticket_tag (
    ticket_id bigint NOT NULL,
    tag_id integer NOT NULL
);


ALTER TABLE public.ticket_tag OWNER TO postgres;

--
-- Name: ticket id; Type: DEFAULT; Schema: app; Owner: app_owner
--

ALTER TABLE ONLY app.ticket ALTER COLUMN id SET DEFAULT nextval('app.ticket_id_seq'::regclass);


--
-- Name: tag id; Type: DEFAULT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.tag ALTER COLUMN id SET DEFAULT nextval('public.tag_id_seq'::regclass);


--
-- Name: ticket ticket_pkey; Type: CONSTRAINT; Schema: app; Owner: app_owner
--

ALTER TABLE ONLY app.ticket
    ADD CONSTRAINT ticket_pkey PRIMARY KEY (id);


--
-- Name: tag tag_name_key; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.tag
    ADD CONSTRAINT tag_name_key UNIQUE (name);


--
-- Name: tag tag_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.tag
    ADD CONSTRAINT tag_pkey PRIMARY KEY (id);


--
-- Name: ticket_tag ticket_tag_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.ticket_tag
    ADD CONSTRAINT ticket_tag_pkey PRIMARY KEY (ticket_id, tag_id);


--
-- Name: ticket_tag ticket_tag_tag_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.ticket_tag
    ADD CONSTRAINT ticket_tag_tag_id_fkey FOREIGN KEY (tag_id) REFERENCES public.tag(id);


--
-- Name: ticket_tag ticket_tag_ticket_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.ticket_tag
    ADD CONSTRAINT ticket_tag_ticket_id_fkey FOREIGN KEY (ticket_id) REFERENCES app.ticket(id);


--
-- Name: TABLE tag; Type: ACL; Schema: public; Owner: postgres
--

GRANT SELECT ON TABLE public.tag TO app_owner;


--
-- PostgreSQL database dump complete
--

\unrestrict jFSHx7EhArQSDWsvsA8LZdteMbmDkpg9f9Z5hlfYcjTYHXZ5KpkgWbUUMQ2r49F

