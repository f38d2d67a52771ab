-- The delivery queue lives in pgmq (Supabase Queues).
create extension if not exists pgmq;

select pgmq.create('deliveries');

create table public.delivery (
  id bigint generated always as identity primary key,
  msg_id bigint,
  recipient text not null,
  created_at timestamptz not null default now()
);

alter table public.delivery enable row level security;
