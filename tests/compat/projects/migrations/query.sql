-- name: Everything :many
SELECT p.id, p.title, p.body, c.id AS comment_id, f.bar, pe.id AS person_id, r.text
FROM post p
JOIN comment c ON c.post_id = p.id
CROSS JOIN foo f
LEFT JOIN people pe ON pe.id = p.id
LEFT JOIN remark r ON r.id = p.id;
