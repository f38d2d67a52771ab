-- an editor's scratch file: sqlc skips hidden files
SELECT nope FROM nowhere;
