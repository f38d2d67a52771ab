-- name: AddPassage :one
INSERT INTO passages (document_id, chunk, body, embedding, sketch)
VALUES (@document_id, @chunk, @body, sqlc.arg('embedding')::vector, sqlc.narg('sketch')::halfvec)
ON CONFLICT (document_id, chunk, embedding) DO UPDATE SET body = EXCLUDED.body
RETURNING id;

-- name: DistinctEmbeddings :many
SELECT DISTINCT embedding
FROM passages
WHERE document_id = @document_id
ORDER BY embedding;

-- name: Nearest :many
SELECT id, body, (embedding <=> sqlc.arg('probe')::vector)::float8 AS distance
FROM passages
ORDER BY embedding <=> sqlc.arg('probe')::vector, id
LIMIT sqlc.arg('k')::int;

-- name: DocumentCentroid :one
SELECT avg(embedding) AS centroid, sum(sketch) AS sketch_sum
FROM passages
WHERE document_id = @document_id;
