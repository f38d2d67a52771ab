-- name: AddReviews :copyfrom
INSERT INTO reviews (book_id, stars, body) VALUES ($1, $2, $3);

-- name: ReviewsForBooks :batchmany
SELECT * FROM reviews WHERE book_id = $1 ORDER BY review_id;

-- name: AverageStars :batchone
SELECT avg(stars)::float8 AS average FROM reviews WHERE book_id = $1;

-- name: DeleteReviews :execresult
DELETE FROM reviews WHERE book_id = sqlc.arg(book_id) AND stars <= sqlc.arg(max_stars);

-- name: AllReviews :many
SELECT r.review_id, r.stars, b.title
FROM reviews r JOIN books b USING (book_id)
ORDER BY r.review_id;
