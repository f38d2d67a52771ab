-- name: UsersWithPosts :many
-- Every user with their posts, in one round trip.
SELECT u.id, u.name, u.email, u.created_at,
       (SELECT json_agg(p ORDER BY p.id) FROM posts p WHERE p.user_id = u.id) AS posts
FROM users u ORDER BY u.id;

-- name: ListUsers :many
SELECT * FROM users ORDER BY id;

-- name: PostsOfUsers :many
SELECT * FROM posts WHERE user_id = ANY(@user_ids::bigint[]) ORDER BY user_id, id;

-- name: ListPosts :many
SELECT * FROM posts ORDER BY id;

-- name: UsersWithPostsGrouped :many
-- The same read as one join grouped by user (what many write instead of a subquery).
SELECT u.id, u.name, u.email, u.created_at, json_agg(p ORDER BY p.id) AS posts
FROM users u JOIN posts p ON p.user_id = u.id
GROUP BY u.id ORDER BY u.id;

-- name: UsersWithPostsLateral :many
-- The same read with the aggregate in a LATERAL subquery.
SELECT u.id, u.name, u.email, u.created_at, lp.posts
FROM users u LEFT JOIN LATERAL (
    SELECT json_agg(p ORDER BY p.id) AS posts FROM posts p WHERE p.user_id = u.id
) lp ON true
ORDER BY u.id;
