CREATE TABLE reviews (
    review_id bigserial PRIMARY KEY,
    book_id integer NOT NULL REFERENCES books (book_id),
    stars smallint NOT NULL CHECK (stars BETWEEN 1 AND 5),
    body text
);
