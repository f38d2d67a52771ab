-- +goose Up
CREATE TABLE comment (id int NOT NULL, post_id int NOT NULL);

-- +goose Down
DROP TABLE comment;
