/* name: CreateAuthor :one */
INSERT INTO author (name, bio) VALUES (@name, sqlc.narg(bio)) RETURNING *;

-- name: AuthorsByIDs :many
SELECT * FROM author WHERE id IN (sqlc.slice('ids')) ORDER BY id;

-- name: AuthorsExcept :many
SELECT id FROM author WHERE id NOT IN (sqlc.slice(skip)) AND name <> sqlc.arg(name) ORDER BY id;

-- name: UpdateBio :exec
UPDATE author SET bio = coalesce(sqlc.narg('bio'), bio) WHERE id = sqlc.arg('id');

-- name: BooksWithAuthors :many
SELECT sqlc.embed(book), sqlc.embed(author)
FROM book JOIN author ON author.id = book.author_id
ORDER BY book.id;

-- name: AllUnlessFlagged :many
SELECT id FROM author WHERE @flag IS NULL ORDER BY id;
